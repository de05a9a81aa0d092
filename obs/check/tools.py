"""`obs validate`'s checks with the real tools, on the compiled files as they are on disk: promtool (rule files,
and prometheus.yml laid out as in its container), amtool (the Alertmanager config) and the Collector itself
(`otelcol validate` on its config).

Which program runs: the pinned release first, as scripts/build_tools.py builds it from its Go module into
``${OBS_TOOLS_CACHE:-~/.cache/obs-tools}/<tool>-<version>/``, then whatever is on PATH under the tool's usual
names (Debian's packages: promtool 2.42, amtool 0.25; there is no Debian Collector).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from obs.author.stack import PROMETHEUS_CONFIG_MOUNT, RULES_MOUNT
from obs.core.errors import Problem
from obs.core.paths import ALERTMANAGER_FILE, COLLECTOR_FILE, PROMETHEUS_FILE, RULES_DIR
from obs.core.serialize import load_yaml

BUILD_HINT = "python3 scripts/build_tools.py (needs Go 1.26+; `make test` runs it)"
INSTALL_HINT = f"{BUILD_HINT}, or Debian's older releases: apt-get install prometheus prometheus-alertmanager"
# build_tools.py writes this into a tool's folder only once its binaries answered --version with the pin.
STAMP = ".obs-built.json"


@dataclass(frozen=True)
class PinnedTool:
    """Where a program comes from: the folder build_tools.py builds it in, and its names on PATH."""

    folder: str | None  # build_tools.py's tool (prometheus, alertmanager, otelcol); None: never built here
    version: str | None  # the catalog/versions.py constant that pins it
    binary: str
    on_path: tuple[str, ...]


TOOLS = {
    "promtool": PinnedTool("prometheus", "PROMETHEUS_VERSION", "promtool", ("promtool",)),
    "prometheus": PinnedTool("prometheus", "PROMETHEUS_VERSION", "prometheus", ("prometheus",)),
    "amtool": PinnedTool("alertmanager", "ALERTMANAGER_VERSION", "amtool", ("amtool",)),
    "alertmanager": PinnedTool("alertmanager", "ALERTMANAGER_VERSION", "alertmanager",
                               ("alertmanager", "prometheus-alertmanager")),
    "otelcol": PinnedTool("otelcol", "COLLECTOR_VERSION", "otelcol", ("otelcol", "otelcol-contrib")),
    "node-exporter": PinnedTool(None, None, "node_exporter", ("prometheus-node-exporter", "node_exporter")),
}


@dataclass(frozen=True)
class Found:
    name: str
    path: str
    pinned: str | None  # the pinned release, when this is the build of it

    def __str__(self) -> str:
        if self.pinned:
            return f"{self.name} {self.pinned}"
        return f"{self.name} at {self.path} (not the pinned build)"


def tools_cache() -> Path:
    """The folder scripts/build_tools.py builds into (the same rule: OBS_TOOLS_CACHE, else ~/.cache/obs-tools)."""
    return Path(os.environ.get("OBS_TOOLS_CACHE") or Path.home() / ".cache" / "obs-tools").expanduser().absolute()


def pinned_folder(tool: PinnedTool) -> tuple[Path, str] | None:
    """The folder of the pinned build and the release it holds, whether or not it has been built."""
    if tool.folder is None or tool.version is None:
        return None
    from catalog import versions

    release = getattr(versions, tool.version)
    return tools_cache() / f"{tool.folder}-{release}", release


def locate(name: str) -> Found | None:
    """The program to run for `name` (a key of TOOLS): the pinned build, else the first of its names on PATH."""
    tool = TOOLS[name]
    pinned = pinned_folder(tool)
    if pinned is not None:
        folder, release = pinned
        binary = folder / tool.binary
        if (folder / STAMP).is_file() and os.access(binary, os.X_OK):
            return Found(name, str(binary), release)
    for candidate in tool.on_path:
        path = shutil.which(candidate)
        if path is not None:
            same = pinned is not None and Path(path).resolve().parent == pinned[0].resolve()
            return Found(name, path, pinned[1] if same and pinned else None)
    return None


def find_tool(name: str) -> str | None:
    """The program to run for a tool obs uses (promtool, amtool, otelcol...), or None when there is none."""
    found = locate(name)
    return found.path if found else None


@dataclass(frozen=True, order=True)
class MissingTool(Problem):
    """A check that could not run because its program is not there."""


def missing_tool(name: str, checked: str) -> MissingTool:
    hint = INSTALL_HINT if TOOLS[name].on_path[0] in ("promtool", "amtool") else BUILD_HINT
    return MissingTool(checked, name, "", f"not found, so this file was not checked with it: {hint}")


def run_tool(args: Sequence[str], cwd: Path) -> tuple[int, str]:
    """Exit code and the tool's output (stdout, then stderr)."""
    result = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
                            stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout + "\n" + result.stderr


def output_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip()]


def tool_problems(file: str, command: str, lines: list[str]) -> list[Problem]:
    """One problem per line of the tool's complaint, its own Checking/SUCCESS chatter dropped."""
    noise = ("Checking ", "SUCCESS", "FAILED:", "Found:", "- ", "Warning: --config.file")
    kept = [line for line in lines if not line.startswith(noise)]
    return [Problem(file, command, "", line) for line in kept] or [Problem(file, command, "", "failed")]


def promtool_checks(root: Path) -> list[Problem]:
    """`promtool check rules` on every rule file, and `promtool check config` on a copy of prometheus.yml laid
    out as in the container (rules/ next to it), so that it loads the very rule files Prometheus will."""
    rule_files = sorted(p.relative_to(root).as_posix() for p in (root / RULES_DIR).glob("*.yml"))
    config = root / PROMETHEUS_FILE
    if not rule_files and not config.is_file():
        return []
    promtool = find_tool("promtool")
    if promtool is None:
        return [missing_tool("promtool", PROMETHEUS_FILE)]
    problems: list[Problem] = []
    if rule_files:
        code, output = run_tool([promtool, "check", "rules", *rule_files], root)
        if code != 0:
            problems += tool_problems(RULES_DIR, "promtool check rules", output_lines(output))
    if config.is_file():
        with tempfile.TemporaryDirectory(prefix="obs-promtool-") as directory:
            copy = Path(directory)
            rules = copy / Path(RULES_MOUNT).relative_to(Path(PROMETHEUS_CONFIG_MOUNT).parent)
            rules.mkdir()
            shutil.copy(config, copy / Path(PROMETHEUS_CONFIG_MOUNT).name)
            for rule_file in rule_files:
                shutil.copy(root / rule_file, rules)
            code, output = run_tool([promtool, "check", "config", Path(PROMETHEUS_CONFIG_MOUNT).name], copy)
        lines = output_lines(output)
        if code != 0:
            problems += tool_problems(PROMETHEUS_FILE, "promtool check config", lines)
        elif f"SUCCESS: {len(rule_files)} rule files found" not in lines:
            problems.append(Problem(PROMETHEUS_FILE, "promtool check config", "$.rule_files",
                                    f"does not load the {len(rule_files)} files of {RULES_DIR} when they are "
                                    f"mounted at {RULES_MOUNT}"))
    return problems


def amtool_check(root: Path) -> list[Problem]:
    if not (root / ALERTMANAGER_FILE).is_file():
        return []
    amtool = find_tool("amtool")
    if amtool is None:
        return [missing_tool("amtool", ALERTMANAGER_FILE)]
    code, output = run_tool([amtool, "check-config", ALERTMANAGER_FILE], root)
    return tool_problems(ALERTMANAGER_FILE, "amtool check-config", output_lines(output)) if code != 0 else []


def otelcol_check(root: Path) -> list[Problem]:
    """`otelcol validate` on the compiled Collector config: the pinned Collector decodes every component's
    settings with its own config structs and runs their Validate, without starting anything. Each complaint
    becomes one line naming the file and the key (obs/check/collector.py)."""
    from obs.check.collector import validate_output_problems

    config = root / COLLECTOR_FILE
    if not config.is_file():
        return []
    otelcol = find_tool("otelcol")
    if otelcol is None:
        return [missing_tool("otelcol", COLLECTOR_FILE)]
    code, output = run_tool([otelcol, "validate", f"--config={config.absolute()}"], root)
    if code == 0:
        return []
    try:
        document = load_yaml(config.read_text(encoding="utf-8"))
    except Exception:  # the per-file check has said the file does not parse
        document = None
    return validate_output_problems(output, document, COLLECTOR_FILE)
