#!/usr/bin/env python3
"""Build the pinned releases of the stack's real binaries from their Go modules, once per version.

    prometheus-<v>/{prometheus,promtool}   github.com/prometheus/prometheus   (module v0.3XX.Y is release 3.XX.Y)
    alertmanager-<v>/{alertmanager,amtool} github.com/prometheus/alertmanager
    otelcol-<v>/otelcol                    a collector of only the components the stack and its tests use

The versions come from catalog/versions.py (read with runpy, the project is not imported). Each tool goes to
``${OBS_TOOLS_CACHE:-$HOME/.cache/obs-tools}/<tool>-<version>/``; a folder whose stamp file matches this
script's recipe and whose binaries answer ``--version`` with the pinned version is reused. A build happens in a
``.build-*`` folder beside it, which is renamed into place only after the binaries were checked and the stamp
written, so an interrupted build leaves nothing that counts as built. Go's module and build caches are Go's own
(GOMODCACHE, GOCACHE from the environment, else Go's defaults), so CI can cache them. Stdlib only; needs ``go``
(1.26 or newer) on PATH.

    python3 scripts/build_tools.py                  # build what is missing, then print the folders for PATH
    python3 scripts/build_tools.py --print-path     # the same, but stdout is only the PATH fragment
    python3 scripts/build_tools.py --check          # exit 0 if every tool is built, 1 if not; builds nothing
    python3 scripts/build_tools.py otelcol          # only the named tools

    export PATH="$(python3 scripts/build_tools.py --print-path):$PATH"
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = runpy.run_path(str(ROOT / "catalog" / "versions.py"))
STAMP = ".obs-built.json"
# Bump to rebuild every cached tool when the way they are built changes.
RECIPE_REVISION = 1

PROMETHEUS_MODULE = "github.com/prometheus/prometheus"
ALERTMANAGER_MODULE = "github.com/prometheus/alertmanager"
VERSION_PACKAGE = "github.com/prometheus/common/version"  # where both read the version they print

CORE = "go.opentelemetry.io/collector"
CONTRIB = "github.com/open-telemetry/opentelemetry-collector-contrib"
# (kind, module, release line): "core" is COLLECTOR_VERSION, "stable" the 1.x modules of that release,
# "contrib" COLLECTOR_CONTRIB_VERSION. The package is the module's root and is named as its last path element.
COLLECTOR_COMPONENTS = (
    ("receiver", f"{CORE}/receiver/otlpreceiver", "core"),  # type otlp
    ("processor", f"{CORE}/processor/batchprocessor", "core"),  # type batch
    ("processor", f"{CORE}/processor/memorylimiterprocessor", "core"),  # type memory_limiter
    ("exporter", f"{CORE}/exporter/otlpexporter", "core"),  # type otlp_grpc (deprecated alias otlp)
    ("exporter", f"{CORE}/exporter/otlphttpexporter", "core"),  # type otlp_http (deprecated alias otlphttp)
    ("exporter", f"{CORE}/exporter/debugexporter", "core"),  # type debug
    ("exporter", f"{CONTRIB}/exporter/prometheusexporter", "contrib"),  # type prometheus
    ("provider", f"{CORE}/confmap/provider/envprovider", "stable"),  # ${env:X}
    ("provider", f"{CORE}/confmap/provider/fileprovider", "stable"),  # --config FILE
    ("provider", f"{CORE}/confmap/provider/yamlprovider", "stable"),  # --config yaml:...
)
COLLECTOR_KINDS = ("receiver", "processor", "exporter")


class BuildError(Exception):
    """One line saying what failed; ``log`` is the output of the command that failed, if any."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log


@dataclass(frozen=True)
class Tool:
    name: str
    version: str
    binaries: tuple[str, ...]
    # (tool, work dir, bin dir, go env, log) -> facts found while building, recorded in the stamp's recipe
    build: Callable[[Tool, Path, Path, dict, Path], dict] = field(compare=False)
    recipe: dict = field(default_factory=dict)  # what the binaries are built from: another recipe is rebuilt

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


def prometheus_module_version(release: str) -> str:
    """3.16.0 -> v0.316.0: Prometheus tags its Go module v0.(300+minor).patch for release 3.minor.patch."""
    major, minor, patch = (int(part) for part in release.split("."))
    if major != 3:
        raise SystemExit(f"build_tools: PROMETHEUS_VERSION {release}: only 3.x releases map to a module version")
    return f"v0.{300 + minor}.{patch}"


# --- running go ---------------------------------------------------------------------------------------------------


def go_env() -> dict:
    env = dict(os.environ)
    env["CGO_ENABLED"] = "0"  # static binaries: a cached folder keeps working whatever the libc
    # Prometheus's module ships a go.work naming folders its zip lacks (compliance/, internal/tools/, ...): with it,
    # `go build` in the copy fails "cannot load module compliance listed in go.work file". No go.work takes part.
    env["GOWORK"] = "off"
    return env


def go(args: list[str], cwd: Path, env: dict, log: Path) -> str:
    """Run ``go ARGS`` at low priority, appending its output to LOG; BuildError with that output if it fails."""
    proc = subprocess.run(["go", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, preexec_fn=lambda: os.nice(10))
    with log.open("a") as out:
        out.write(f"\n$ (cd {cwd} && {shlex.join(['go', *args])})\n{proc.stdout}")
    if proc.returncode != 0:
        raise BuildError(f"`go {' '.join(args[:2])}` exited {proc.returncode}", proc.stdout)
    return proc.stdout


def go_json(args: list[str], cwd: Path, env: dict) -> dict:
    proc = subprocess.run(["go", *args], cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    try:
        info = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except json.JSONDecodeError:
        info = {}
    if proc.returncode != 0 or info.get("Error"):
        why = " ".join((info.get("Error") or proc.stderr).split())  # go's message may span lines
        raise BuildError(f"`go {' '.join(args)}` failed: {why}", proc.stderr)
    return info


def download_module(module: str, version: str, env: dict, log: Path) -> dict:
    """The module's metadata from ``go mod download -json`` (Dir: its read-only source in GOMODCACHE; GoMod)."""
    with log.open("a") as out:
        out.write(f"\n$ go mod download -json {module}@{version}\n")
        try:
            return go_json(["mod", "download", "-json", f"{module}@{version}"], Path(tempfile.gettempdir()), env)
        except BuildError as error:
            out.write(f"{error}\n")
            raise


def copy_module(module: str, version: str, work: Path, env: dict, log: Path) -> Path:
    """A writable copy of the module's source, to build it as its own main module (its go.mod and go.sum)."""
    source = Path(download_module(module, version, env, log)["Dir"])
    target = work / "src"
    shutil.copytree(source, target)
    for path in (target, *target.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    return target


def version_ldflags(release: str, module_version: str) -> str:
    values = {"Version": release, "Revision": module_version, "Branch": "HEAD", "BuildUser": "obs-build_tools",
              "BuildDate": time.strftime("%Y%m%d-%H:%M:%S", time.gmtime())}
    return " ".join(["-s", "-w", *(f"-X {VERSION_PACKAGE}.{key}={value}" for key, value in values.items())])


def build_module_commands(tool: Tool, src: Path, bindir: Path, env: dict, log: Path) -> None:
    """`go build` the tool's commands (./cmd/<binary>) in the module's copy, with the version they print."""
    module_version = tool.recipe["module_version"]
    go(["build", "-trimpath", "-buildvcs=false", "-tags", "netgo",
        "-ldflags", version_ldflags(tool.version, module_version),
        "-o", f"{bindir}{os.sep}", *(f"./cmd/{binary}" for binary in tool.binaries)], src, env, log)


# --- the tools ----------------------------------------------------------------------------------------------------


def build_prometheus(tool: Tool, work: Path, bindir: Path, env: dict, log: Path) -> dict:
    # Without the builtinassets tag web/ui serves the React UI from disk (absent here, so the UI pages answer
    # "Error opening React index.html"); the HTTP API, /-/ready and /metrics are unaffected. No npm needed.
    src = copy_module(tool.recipe["module"], tool.recipe["module_version"], work, env, log)
    build_module_commands(tool, src, bindir, env, log)
    return {}


ALERTMANAGER_UI_PLACEHOLDER = (
    "<!doctype html><title>Alertmanager</title>"
    "<p>This Alertmanager was built from its Go module without the web UI; the API is under /api/v2/.</p>\n"
)


def build_alertmanager(tool: Tool, work: Path, bindir: Path, env: dict, log: Path) -> dict:
    # ui/web.go has `//go:embed app/dist`, the UI that `npm run build` makes; the module zip has no app/dist,
    # so a plain `go install .../cmd/alertmanager@v0.35.0` fails with "pattern app/dist: no matching files found".
    # A placeholder page in each of the two folders it serves (elm, mantine) is enough for the API.
    src = copy_module(tool.recipe["module"], tool.recipe["module_version"], work, env, log)
    dist = src / "ui" / "app" / "dist"
    if not dist.exists():
        for ui in ("elm", "mantine"):
            (dist / ui).mkdir(parents=True)
            (dist / ui / "index.html").write_text(ALERTMANAGER_UI_PLACEHOLDER)
    build_module_commands(tool, src, bindir, env, log)
    return {}


def collector_go_mod_facts(core: str, env: dict, log: Path) -> tuple[str, str]:
    """(go directive, 1.x version) of otelcol's own go.mod at the core release: the collector's 1.x modules
    (component, confmap, ...) are released with each 0.x release, and that go.mod names the matching one."""
    info = download_module(f"{CORE}/otelcol", core, env, log)
    text = Path(info["GoMod"]).read_text()
    stable = re.search(rf"^\s*{re.escape(CORE)}/component (v1\.\d+\.\d+)\s*$", text, re.M)
    directive = re.search(r"^go (\d+\.\d+(?:\.\d+)?)\s*$", text, re.M)
    if not stable or not directive:
        raise BuildError(f"cannot read the go directive and {CORE}/component's version from {info['GoMod']}")
    return directive.group(1), stable.group(1)


def collector_sources(version: str, versions: dict[str, str], go_directive: str) -> dict[str, str]:
    """go.mod, main.go and components.go of the collector, the way the collector's builder (ocb) writes them."""

    def alias(module: str) -> str:
        return module.rsplit("/", 1)[1]

    requires = [f"{CORE}/component {versions['stable']}", f"{CORE}/confmap {versions['stable']}",
                f"{CORE}/otelcol {versions['core']}", f"{CORE}/service {versions['core']}"]
    requires += [f"{module} {versions[line]}" for _, module, line in COLLECTOR_COMPONENTS]
    go_mod = (f"// Generated by scripts/build_tools.py.\n\nmodule obs.local/otelcol\n\ngo {go_directive}\n\n"
              "require (\n" + "".join(f"\t{line}\n" for line in requires) + ")\n")

    providers = [module for kind, module, _ in COLLECTOR_COMPONENTS if kind == "provider"]
    provider_imports = "".join(f'\t{alias(m)} "{m}"\n' for m in providers)
    provider_factories = "".join(f"\t\t\t\t\t{alias(m)}.NewFactory(),\n" for m in providers)
    main_go = f"""// Generated by scripts/build_tools.py: an OpenTelemetry Collector of only the components obs uses.
package main

import (
	"os"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
{provider_imports}	"go.opentelemetry.io/collector/otelcol"
)

func main() {{
	set := otelcol.CollectorSettings{{
		BuildInfo: component.BuildInfo{{
			Command:     "otelcol",
			Description: "OpenTelemetry Collector built by obs scripts/build_tools.py",
			Version:     "{version}",
		}},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{{
			ResolverSettings: confmap.ResolverSettings{{
				ProviderFactories: []confmap.ProviderFactory{{
{provider_factories}				}},
			}},
		}},
	}}
	if err := otelcol.NewCommand(set).Execute(); err != nil {{
		os.Exit(1) // cobra has printed the error
	}}
}}
"""

    packages = [(f"{CORE}/{kind}", "") for kind in (*COLLECTOR_KINDS, "component", "otelcol")]
    packages += [(f"{CORE}/service/telemetry/otelconftelemetry", "")]
    packages += [(m, f"{alias(m)} ") for kind, m, _ in COLLECTOR_COMPONENTS if kind in COLLECTOR_KINDS]
    imports = [f'\t{name}"{path}"' for path, name in sorted(packages)]
    blocks = ""
    for kind in COLLECTOR_KINDS:
        members = [(m, line) for k, m, line in COLLECTOR_COMPONENTS if k == kind]
        plural = kind.capitalize() + "s"
        blocks += (f"\tif factories.{plural}, err = otelcol.MakeFactoryMap[{kind}.Factory](\n"
                   + "".join(f"\t\t{alias(m)}.NewFactory(),\n" for m, _ in members)
                   + "\t); err != nil {\n\t\treturn otelcol.Factories{}, err\n\t}\n"
                   + f"\tfactories.{kind.capitalize()}Modules = withAliases(factories.{plural}, "
                   + "map[component.Type]string{\n"
                   + "".join(f'\t\t{alias(m)}.NewFactory().Type(): "{m} {versions[line]}",\n' for m, line in members)
                   + "\t})\n")
    components_go = f"""// Generated by scripts/build_tools.py.
package main

import (
{chr(10).join(imports)}
)

func components() (otelcol.Factories, error) {{
	var err error
	factories := otelcol.Factories{{Telemetry: otelconftelemetry.NewFactory()}}
{blocks}	return factories, nil
}}

// withAliases also names the module of each deprecated type alias (otlp for otlp_grpc, otlphttp for otlp_http).
func withAliases[T component.Factory](factories map[component.Type]T, modules map[component.Type]string,
) map[component.Type]string {{
	for typ, factory := range factories {{
		ap, ok := any(factory).(interface{{ DeprecatedAlias() component.Type }})
		if ok && ap.DeprecatedAlias().String() != "" {{
			modules[ap.DeprecatedAlias()] = modules[typ]
		}}
	}}
	return modules
}}
"""
    return {"go.mod": go_mod, "main.go": main_go, "components.go": components_go}


def check_collector_versions(go_mod: str, versions: dict[str, str]) -> None:
    """After `go mod tidy`: every collector module at the pinned release, none moved up by another's requirement.
    Core modules are at the core release or its 1.x line; contrib's are at the contrib release (a patch release may
    sit on the same core, catalog/versions.py). Lines in a require block and one-line requires alike."""
    allowed = {CORE: {versions["core"], versions["stable"]}, CONTRIB: {versions["contrib"]}}
    wrong = [f"{module} {version}" for module, version in re.findall(
        rf"^\s*(?:require[ \t]+)?((?:{re.escape(CORE)}|{re.escape(CONTRIB)})(?:/\S*)?)[ \t]+(v\S+)", go_mod, re.M)
        if version not in allowed[CORE if module.startswith(CORE) else CONTRIB]]
    if wrong:
        raise BuildError(f"collector modules off the pinned release after go mod tidy: {', '.join(sorted(wrong))}")


def build_otelcol(tool: Tool, work: Path, bindir: Path, env: dict, log: Path) -> dict:
    directive, stable = collector_go_mod_facts(tool.recipe["core"], env, log)
    versions = {"core": tool.recipe["core"], "stable": stable, "contrib": tool.recipe["contrib"]}
    src = work / "src"
    src.mkdir()
    for name, text in collector_sources(tool.version, versions, directive).items():
        (src / name).write_text(text)
    go(["mod", "tidy"], src, env, log)
    check_collector_versions((src / "go.mod").read_text(), versions)
    go(["build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", str(bindir / "otelcol"), "."],
       src, env, log)
    return {"stable": stable, "go": directive}


def all_tools() -> list[Tool]:
    prom, am, col = VERSIONS["PROMETHEUS_VERSION"], VERSIONS["ALERTMANAGER_VERSION"], VERSIONS["COLLECTOR_VERSION"]
    return [
        Tool("prometheus", prom, ("prometheus", "promtool"), build_prometheus,
             {"revision": RECIPE_REVISION, "module": PROMETHEUS_MODULE,
              "module_version": prometheus_module_version(prom)}),
        Tool("alertmanager", am, ("alertmanager", "amtool"), build_alertmanager,
             {"revision": RECIPE_REVISION, "module": ALERTMANAGER_MODULE, "module_version": f"v{am}"}),
        Tool("otelcol", col, ("otelcol",), build_otelcol,
             {"revision": RECIPE_REVISION, "core": f"v{col}", "contrib": f"v{VERSIONS['COLLECTOR_CONTRIB_VERSION']}",
              "components": [list(component) for component in COLLECTOR_COMPONENTS]}),
    ]


# --- the cache ----------------------------------------------------------------------------------------------------


def cache_root() -> Path:
    return Path(os.environ.get("OBS_TOOLS_CACHE") or Path.home() / ".cache" / "obs-tools").expanduser().absolute()


def folder(tool: Tool) -> Path:
    return cache_root() / f"{tool.name}-{tool.version}"


def answers_version(binary: Path, version: str) -> bool:
    try:
        proc = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and bool(re.search(rf"\bversion v?{re.escape(version)}\b", proc.stdout + proc.stderr))


def is_built(tool: Tool) -> bool:
    """A stamp for this tool, version and recipe (it may record more, found while building), and binaries that
    answer --version with the version."""
    where = folder(tool)
    try:
        stamp = json.loads((where / STAMP).read_text())
    except (OSError, ValueError):
        return False
    recipe = stamp.get("recipe", {})
    return (stamp.get("tool") == tool.name and stamp.get("version") == tool.version
            and all(recipe.get(key) == value for key, value in tool.recipe.items())
            and all(answers_version(where / binary, tool.version) for binary in tool.binaries))


def remove_leftovers(tool: Tool) -> None:
    """Build folders of runs that are gone (interrupted builds), found by the pid in their name."""
    for path in cache_root().glob(f".build-{tool.name}-{tool.version}-*"):
        try:
            os.kill(int(path.name.rsplit("-", 1)[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (ValueError, PermissionError):
            pass


def build(tool: Tool, env: dict) -> None:
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    remove_leftovers(tool)
    staging = root / f".build-{tool.name}-{tool.version}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    work, bindir = staging / "work", staging / "bin"
    work.mkdir(parents=True)
    bindir.mkdir()
    log = root / f"{tool.name}-{tool.version}.log"  # the go commands' output, kept beside the folders
    log.write_text(f"# build of {tool.label} started {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
    try:
        found = tool.build(tool, work, bindir, env, log)
        for binary in tool.binaries:
            if not answers_version(bindir / binary, tool.version):
                raise BuildError(f"the built {binary} does not answer `{binary} --version` with {tool.version}")
        go_version = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, env=env).stdout
        stamp = {"tool": tool.name, "version": tool.version, "binaries": list(tool.binaries),
                 "recipe": {**tool.recipe, **found}, "go": go_version.strip(),
                 "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (bindir / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
        install(tool, bindir, staging)
    except BuildError as error:
        error.args = (f"{error.args[0]} (log: {log})",)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install(tool: Tool, bindir: Path, staging: Path) -> None:
    """Rename the checked bin folder into place; a stale folder there is moved aside first."""
    target = folder(tool)
    for _ in range(3):
        try:
            os.rename(bindir, target)
            return
        except OSError:
            if is_built(tool):
                return  # a concurrent run finished the same build first
            aside = staging / "stale"
            shutil.rmtree(aside, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                os.rename(target, aside)
    raise BuildError(f"cannot move the build into {target}")


# --- main ---------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tools", nargs="*", metavar="TOOL", help="prometheus, alertmanager, otelcol (default: all)")
    parser.add_argument("--check", action="store_true", help="exit 0 if all are built, 1 otherwise; build nothing")
    parser.add_argument("--print-path", action="store_true", help="print only the PATH fragment on stdout")
    args = parser.parse_args(argv)

    selected = all_tools()
    unknown = set(args.tools) - {tool.name for tool in selected}
    if unknown:
        parser.error(f"unknown tool(s): {', '.join(sorted(unknown))}")
    if args.tools:
        selected = [tool for tool in selected if tool.name in args.tools]
    report = sys.stderr if args.print_path else sys.stdout  # with --print-path stdout is only the fragment
    fragment = os.pathsep.join(str(folder(tool)) for tool in selected)

    pending = [tool for tool in selected if not is_built(tool)]
    if args.check:
        for tool in selected:
            print(f"{tool.label}: {'missing' if tool in pending else 'cached'} ({folder(tool)})", file=report)
        if args.print_path and not pending:
            print(fragment)
        return 1 if pending else 0
    if pending and shutil.which("go") is None:
        print(f"build_tools: `go` is not on PATH; Go 1.26 or newer is needed to build "
              f"{', '.join(tool.label for tool in pending)}", file=sys.stderr)
        return 2

    env = go_env()
    for tool in selected:
        if tool not in pending:
            print(f"{tool.label}: cached ({folder(tool)})", file=report, flush=True)
            continue
        print(f"{tool.label}: building ... ", end="", file=report, flush=True)
        started = time.monotonic()
        try:
            build(tool, env)
        except BuildError as error:
            print("failed", file=report, flush=True)
            tail = error.log.strip().splitlines()[-20:]
            print("".join(f"    {line}\n" for line in tail), end="", file=sys.stderr)
            print(f"build_tools: building {tool.label} failed: {error}", file=sys.stderr)
            return 1
        print(f"built in {time.monotonic() - started:.0f} s ({folder(tool)})", file=report, flush=True)

    if args.print_path:
        print(fragment)
    else:
        print(f'Put on PATH: export PATH="{fragment}{os.pathsep}$PATH"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
