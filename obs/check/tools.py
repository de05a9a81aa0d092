"""`obs validate`'s checks with the real tools, on the compiled files as they are on disk: promtool (rule files,
and prometheus.yml laid out as in its container) and amtool (the Alertmanager config)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from obs.author.stack import PROMETHEUS_CONFIG_MOUNT, RULES_MOUNT
from obs.core.errors import Problem
from obs.core.paths import ALERTMANAGER_FILE, PROMETHEUS_FILE, RULES_DIR

INSTALL_HINT = "apt-get install prometheus prometheus-alertmanager"


def find_tool(name: str) -> str | None:
    """The program to run for a tool obs checks with (promtool, amtool), or None when it is not installed."""
    return shutil.which(name)


def missing_tool(name: str) -> Problem:
    return Problem(name, "", "", f"not installed, so the files were not checked with it: {INSTALL_HINT}")


def run_tool(args: Sequence[str], cwd: Path) -> tuple[int, list[str]]:
    """Exit code and the non-empty lines of the tool's output."""
    result = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    return result.returncode, [line.strip() for line in (result.stdout + "\n" + result.stderr).splitlines()
                               if line.strip()]


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
        return [missing_tool("promtool")]
    problems: list[Problem] = []
    if rule_files:
        code, lines = run_tool([promtool, "check", "rules", *rule_files], root)
        if code != 0:
            problems += tool_problems(RULES_DIR, "promtool check rules", lines)
    if config.is_file():
        with tempfile.TemporaryDirectory(prefix="obs-promtool-") as directory:
            copy = Path(directory)
            rules = copy / Path(RULES_MOUNT).relative_to(Path(PROMETHEUS_CONFIG_MOUNT).parent)
            rules.mkdir()
            shutil.copy(config, copy / Path(PROMETHEUS_CONFIG_MOUNT).name)
            for rule_file in rule_files:
                shutil.copy(root / rule_file, rules)
            code, lines = run_tool([promtool, "check", "config", Path(PROMETHEUS_CONFIG_MOUNT).name], copy)
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
        return [missing_tool("amtool")]
    code, lines = run_tool([amtool, "check-config", ALERTMANAGER_FILE], root)
    return tool_problems(ALERTMANAGER_FILE, "amtool check-config", lines) if code != 0 else []
