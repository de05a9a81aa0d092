"""scripts/build_tools.py without the network or a Go build: the Prometheus module version, the Collector's module
versions after `go mod tidy`, when a cached folder counts as built; and, on the cached binaries themselves, that
nothing AGPL is linked in."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO, tools_required


def load_build_tools():
    spec = importlib.util.spec_from_file_location("build_tools", REPO / "scripts" / "build_tools.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks the module up while the class is made
    spec.loader.exec_module(module)
    return module


bt = load_build_tools()
PINNED = bt.VERSIONS


# --- Prometheus: release 3.XX.Y is module v0.3XX.Y -----------------------------------------------------------------

def release_of(module_version: str) -> str:
    """The inverse mapping, written independently: v0.316.0 -> 3.16.0."""
    zero, minor, patch = module_version.removeprefix("v").split(".")
    assert zero == "0" and int(minor) >= 300
    return f"3.{int(minor) - 300}.{int(patch)}"


@pytest.mark.parametrize("release, module", [("3.16.0", "v0.316.0"), ("3.0.0", "v0.300.0"), ("3.5.2", "v0.305.2"),
                                             ("3.10.11", "v0.310.11"), ("3.99.0", "v0.399.0")])
def test_prometheus_release_and_module_version_map_both_ways(release, module):
    assert bt.prometheus_module_version(release) == module
    assert release_of(module) == release


@pytest.mark.parametrize("release", ["2.53.0", "4.0.0"])
def test_only_3x_releases_have_a_module_version(release):
    with pytest.raises(SystemExit, match=f"PROMETHEUS_VERSION {release}: only 3.x releases"):
        bt.prometheus_module_version(release)


def test_the_recipes_build_the_pinned_releases():
    recipes = {tool.name: tool for tool in bt.all_tools()}
    prometheus = recipes["prometheus"]
    assert prometheus.version == PINNED["PROMETHEUS_VERSION"]
    assert release_of(prometheus.recipe["module_version"]) == PINNED["PROMETHEUS_VERSION"]
    assert prometheus.recipe["module"] == "github.com/prometheus/prometheus"
    assert prometheus.binaries == ("prometheus", "promtool")
    assert recipes["alertmanager"].recipe["module_version"] == f"v{PINNED['ALERTMANAGER_VERSION']}"
    otelcol = recipes["otelcol"]
    assert (otelcol.version, otelcol.recipe["core"], otelcol.recipe["contrib"]) == (
        PINNED["COLLECTOR_VERSION"], f"v{PINNED['COLLECTOR_VERSION']}", f"v{PINNED['COLLECTOR_CONTRIB_VERSION']}")


# --- the Collector's modules after go mod tidy -----------------------------------------------------------------

CORE, CONTRIB = "go.opentelemetry.io/collector", "github.com/open-telemetry/opentelemetry-collector-contrib"
# catalog/versions.py's documented exception: contrib's patch release 0.165.1 on core 0.165.0 (1.x line 1.71.0).
LINES = {"core": "v0.165.0", "stable": "v1.71.0", "contrib": "v0.165.1"}


def tidy_go_mod(*extra: str) -> str:
    """The generated go.mod as `go mod tidy` leaves it: the direct requirements, then a block of indirect ones."""
    generated = bt.collector_sources("0.165.0", LINES, "1.26.0")["go.mod"]
    indirect = [f"{CORE}/pdata v1.71.0", f"{CORE}/consumer v1.71.0", f"{CORE}/pipeline v1.71.0",
                f"{CORE}/exporter/exporterhelper v0.165.0", f"{CONTRIB}/pkg/translator/prometheus v0.165.1",
                f"{CONTRIB}/internal/coreinternal v0.165.1", "github.com/prometheus/common v0.67.4", *extra]
    return generated + "\nrequire (\n" + "".join(f"\t{line} // indirect\n" for line in indirect) + ")\n"


def test_the_generated_go_mod_requires_each_component_at_its_release_line():
    go_mod = bt.collector_sources("0.165.0", LINES, "1.26.0")["go.mod"]
    assert "\ngo 1.26.0\n" in go_mod
    for _, module, line in bt.COLLECTOR_COMPONENTS:
        assert f"\t{module} {LINES[line]}\n" in go_mod
    assert f"\t{CONTRIB}/exporter/prometheusexporter v0.165.1\n" in go_mod
    bt.check_collector_versions(go_mod, LINES)  # accepted as generated


def test_contrib_at_its_patch_release_on_the_core_release_is_accepted():
    bt.check_collector_versions(tidy_go_mod(), LINES)  # raises nothing


@pytest.mark.parametrize("extra, named", [
    (f"{CORE}/pdata/pprofile v0.166.0", f"{CORE}/pdata/pprofile v0.166.0"),  # the next core release
    (f"{CORE}/featuregate v1.72.0", f"{CORE}/featuregate v1.72.0"),  # the next 1.x line
    (f"{CORE}/extension v0.165.1", f"{CORE}/extension v0.165.1"),  # the contrib patch number is not a core release
    (f"{CONTRIB}/pkg/pdatautil v0.165.0", f"{CONTRIB}/pkg/pdatautil v0.165.0"),  # contrib at core's, not its own
    (f"{CONTRIB}/pkg/pdatautil v0.166.0", f"{CONTRIB}/pkg/pdatautil v0.166.0"),
])
def test_a_collector_module_off_the_release_is_rejected_by_name(extra, named):
    with pytest.raises(bt.BuildError) as error:
        bt.check_collector_versions(tidy_go_mod(extra), LINES)
    assert str(error.value) == f"collector modules off the pinned release after go mod tidy: {named}"


def test_every_module_off_the_release_is_named_once_sorted():
    go_mod = tidy_go_mod().replace(f"{CORE}/otelcol v0.165.0", f"{CORE}/otelcol v0.166.0").replace(
        f"{CORE}/pdata v1.71.0", f"{CORE}/pdata v1.72.0")
    with pytest.raises(bt.BuildError) as error:
        bt.check_collector_versions(go_mod, LINES)
    assert str(error.value).endswith(f": {CORE}/otelcol v0.166.0, {CORE}/pdata v1.72.0")


def test_a_one_line_require_is_checked_too():
    go_mod = f"module obs.local/otelcol\n\ngo 1.26.0\n\nrequire {CORE}/pdata v1.72.0\n"
    with pytest.raises(bt.BuildError, match=f"{CORE}/pdata v1.72.0"):
        bt.check_collector_versions(go_mod, LINES)


def test_other_modules_are_not_the_collectors():
    # go.opentelemetry.io/contrib (OpenTelemetry Go's contrib) and otel itself have their own versions.
    bt.check_collector_versions(tidy_go_mod("go.opentelemetry.io/contrib/bridges/otelzap v0.13.0",
                                            "go.opentelemetry.io/otel v1.38.0"), LINES)


# --- the cache: when a folder counts as built -------------------------------------------------------------------

def fake_binary(path: Path, answer: str) -> None:
    path.write_text(f"#!/bin/sh\necho '{answer}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def lay_out(tool, *, answer: str | None = None, recipe: dict | None = None, binaries=None, stamp: bool = True) -> Path:
    """A folder as build() leaves it: binaries answering --version, the stamp with what the build found too."""
    where = bt.folder(tool)
    where.mkdir(parents=True)
    for binary in tool.binaries if binaries is None else binaries:
        fake_binary(where / binary, answer or f"{binary}, version {tool.version} (branch: HEAD)")
    if stamp:
        found = {"stable": "v1.71.0", "go": "1.26.0"}  # recorded while building, not part of the recipe
        (where / bt.STAMP).write_text(json.dumps({"tool": tool.name, "version": tool.version,
                                                  "binaries": list(tool.binaries),
                                                  "recipe": {**(tool.recipe if recipe is None else recipe), **found}}))
    return where


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("OBS_TOOLS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def tool_named(name: str):
    return next(tool for tool in bt.all_tools() if tool.name == name)


@pytest.mark.parametrize("name", ["prometheus", "alertmanager", "otelcol"])
def test_a_folder_whose_stamp_matches_and_whose_binaries_answer_is_reused(cache, name, capsys):
    tool = tool_named(name)
    where = lay_out(tool)
    assert where == cache / f"{name}-{tool.version}"
    assert bt.is_built(tool)
    assert bt.main(["--check", name]) == 0
    assert capsys.readouterr().out == f"{tool.label}: cached ({where})\n"


def test_check_names_what_is_missing_and_fails(cache, capsys):
    lay_out(tool_named("prometheus"))
    assert bt.main(["--check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in out] == [
        f"prometheus {PINNED['PROMETHEUS_VERSION']}: cached", f"alertmanager {PINNED['ALERTMANAGER_VERSION']}: missing",
        f"otelcol {PINNED['COLLECTOR_VERSION']}: missing"]


def test_another_recipe_revision_is_rebuilt(cache, monkeypatch):
    tool = tool_named("alertmanager")
    lay_out(tool)
    monkeypatch.setattr(bt, "RECIPE_REVISION", bt.RECIPE_REVISION + 1)
    changed = tool_named("alertmanager")
    assert changed.recipe["revision"] == tool.recipe["revision"] + 1
    assert not bt.is_built(changed)


@pytest.mark.parametrize("key, value", [("module_version", "v0.315.0"), ("module", "example.com/fork/prometheus")])
def test_a_recipe_built_from_something_else_is_rebuilt(cache, key, value):
    tool = tool_named("prometheus")
    lay_out(tool, recipe={**tool.recipe, key: value})
    assert not bt.is_built(tool)


def test_another_component_list_is_rebuilt(cache):
    tool = tool_named("otelcol")
    lay_out(tool, recipe={**tool.recipe, "components": tool.recipe["components"][:-1]})
    assert not bt.is_built(tool)


@pytest.mark.parametrize("stamp", [{"tool": "alertmanager"}, {"version": "3.15.0"}])
def test_a_stamp_for_another_tool_or_version_is_not_trusted(cache, stamp):
    tool = tool_named("prometheus")
    where = lay_out(tool)
    data = json.loads((where / bt.STAMP).read_text())
    (where / bt.STAMP).write_text(json.dumps({**data, **stamp}))
    assert not bt.is_built(tool)


def test_binaries_without_the_stamp_are_a_half_built_folder(cache):
    tool = tool_named("prometheus")
    lay_out(tool, stamp=False)
    assert not bt.is_built(tool)


def test_a_stamp_that_does_not_parse_is_not_trusted(cache):
    tool = tool_named("prometheus")
    where = lay_out(tool)
    (where / bt.STAMP).write_text('{"tool": "prometheus", "vers')  # cut off mid-write
    assert not bt.is_built(tool)


def test_a_missing_binary_is_not_built(cache):
    tool = tool_named("prometheus")
    lay_out(tool, binaries=("prometheus",))  # promtool never got there
    assert not bt.is_built(tool)


def test_a_binary_answering_another_version_is_not_built(cache):
    tool = tool_named("otelcol")
    lay_out(tool, answer="otelcol version 0.164.0")
    assert not bt.is_built(tool)
    # ... nor one whose version only starts like the pinned one
    shutil.rmtree(bt.folder(tool))
    lay_out(tool, answer=f"otelcol version {tool.version}1")
    assert not bt.is_built(tool)


def test_a_staging_folder_never_counts_as_built(cache):
    """Everything a finished build has, but still in its .build-* folder: the tool's folder does not exist."""
    tool = tool_named("alertmanager")
    staged = lay_out(tool)
    staged.rename(cache / f".build-{tool.name}-{tool.version}-{os.getpid()}")
    assert not bt.is_built(tool)


def test_leftovers_of_runs_that_are_gone_are_removed_and_live_ones_kept(cache):
    tool = tool_named("alertmanager")
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone = cache / f".build-{tool.name}-{tool.version}-{dead.pid}"
    alive = cache / f".build-{tool.name}-{tool.version}-{os.getpid()}"
    other = cache / f".build-otelcol-{PINNED['COLLECTOR_VERSION']}-{dead.pid}"
    for path in (gone, alive, other):
        (path / "work").mkdir(parents=True)
    bt.remove_leftovers(tool)
    assert (gone.exists(), alive.exists(), other.exists()) == (False, True, True)


# build() with a stand-in for the Go build: the stamp is written last, and the folder appears only when complete.

@pytest.fixture
def fake_go(tmp_path) -> dict:
    """An environment whose `go` only answers `go env GOVERSION` (build() records it in the stamp)."""
    bindir = tmp_path / "fake-go"
    bindir.mkdir()
    fake_binary(bindir / "go", "go1.26.8")
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


def building(answer: str | None = None, fail: bool = False, calls: list | None = None):
    def build(tool, work, bindir, env, log):
        if calls is not None:
            calls.append(tool.label)
        for binary in tool.binaries[:1] if fail else tool.binaries:
            fake_binary(bindir / binary, answer or f"{binary}, version {tool.version}")
        if fail:
            raise bt.BuildError("`go build` exited 1", "cmd/promtool: undefined: x")
        return {"found": "while building"}
    return build


def test_a_build_installs_the_folder_with_its_stamp(cache, fake_go):
    tool = dataclasses.replace(tool_named("prometheus"), build=building())
    bt.build(tool, fake_go)
    stamp = json.loads((bt.folder(tool) / bt.STAMP).read_text())
    assert (stamp["tool"], stamp["version"], stamp["go"]) == ("prometheus", tool.version, "go1.26.8")
    assert stamp["recipe"] == {**tool.recipe, "found": "while building"}
    assert sorted(p.name for p in cache.iterdir()) == [f"prometheus-{tool.version}", f"prometheus-{tool.version}.log"]
    assert bt.is_built(tool)


def test_a_failed_build_leaves_nothing_that_counts_as_built(cache, fake_go):
    tool = dataclasses.replace(tool_named("prometheus"), build=building(fail=True))
    with pytest.raises(bt.BuildError, match=r"`go build` exited 1 \(log: .*prometheus-3\.\d+\.\d+\.log\)"):
        bt.build(tool, fake_go)
    assert sorted(p.name for p in cache.iterdir()) == [f"prometheus-{tool.version}.log"]  # no folder, no staging
    assert not bt.is_built(tool)


def test_a_build_whose_binary_answers_another_version_is_not_installed(cache, fake_go):
    tool = dataclasses.replace(tool_named("alertmanager"), build=building(answer="alertmanager, version 0.27.0"))
    with pytest.raises(bt.BuildError, match="does not answer `alertmanager --version` with"):
        bt.build(tool, fake_go)
    assert not bt.folder(tool).exists()


def test_a_recipe_change_rebuilds_over_the_stale_folder(cache, fake_go, monkeypatch, capsys):
    old = tool_named("otelcol")
    lay_out(old)
    (bt.folder(old) / "leftover-from-the-old-build").write_text("")
    monkeypatch.setattr(bt, "RECIPE_REVISION", bt.RECIPE_REVISION + 1)
    calls: list[str] = []
    real_all_tools = bt.all_tools
    monkeypatch.setattr(bt, "all_tools", lambda: [dataclasses.replace(tool, build=building(calls=calls))
                                                  for tool in real_all_tools()])
    monkeypatch.setattr(bt.shutil, "which", lambda name: "/fake/go" if name == "go" else None)
    monkeypatch.setattr(bt, "go_env", lambda: fake_go)
    assert bt.main(["otelcol"]) == 0
    assert calls == [old.label]
    assert f"{old.label}: building ... built in" in capsys.readouterr().out
    stamp = json.loads((bt.folder(old) / bt.STAMP).read_text())
    assert stamp["recipe"]["revision"] == old.recipe["revision"] + 1
    assert sorted(p.name for p in bt.folder(old).iterdir()) == [bt.STAMP, "otelcol"]  # the stale folder replaced
    # ... and the next run reuses it without building
    assert bt.main(["otelcol"]) == 0
    assert calls == [old.label]
    assert capsys.readouterr().out.startswith(f"{old.label}: cached ({bt.folder(old)})\n")


# --- the cached binaries: no AGPL module linked in ---------------------------------------------------------------

# Grafana and Tempo are AGPL-3.0; Prometheus links github.com/grafana/regexp (BSD-3-Clause), which is fine.
AGPL_MODULES = ("github.com/grafana/grafana", "github.com/grafana/tempo")


def linked_modules(go_version_m: str) -> set[str]:
    """Module paths in `go version -m` output: the main module, each dependency and each replacement."""
    modules = set()
    for line in go_version_m.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] in ("mod", "dep", "=>"):
            modules.add(fields[1])
    return modules


def agpl(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == root or m.startswith(root + "/") for root in AGPL_MODULES))


def test_the_licence_guard_reads_go_version_m_and_flags_only_the_agpl_modules():
    output = ("prometheus: go1.26.8\n\tpath\tgithub.com/prometheus/prometheus/cmd/prometheus\n"
              "\tmod\tgithub.com/prometheus/prometheus\t(devel)\t\n"
              "\tdep\tgithub.com/grafana/regexp\tv0.0.0-20250905093917-f7b3be9d1853\th1:abc=\n"
              "\tdep\tgithub.com/grafana/grafana-plugin-sdk-go\tv0.250.0\th1:def=\n"
              "\tdep\tgithub.com/grafana/tempo\tv1.5.0\th1:ghi=\n"
              "\tdep\tgithub.com/example/fork\tv1.0.0\n\t=>\tgithub.com/grafana/grafana/pkg/apimachinery\tv0.1.0\n"
              "\tbuild\t-trimpath=true\n")
    modules = linked_modules(output)
    assert "github.com/grafana/regexp" in modules and "-trimpath=true" not in modules
    assert agpl(modules) == ["github.com/grafana/grafana/pkg/apimachinery", "github.com/grafana/tempo"]


CACHED = [(tool, binary) for tool in bt.all_tools() for binary in tool.binaries]


def go_version_m(path: Path) -> str:
    if not path.is_file():
        reason = f"{path} is not built (python3 scripts/build_tools.py, needs Go)"
        if tools_required():
            pytest.fail(reason)
        pytest.skip(reason)
    if shutil.which("go") is None:
        reason = f"`go version -m` needs Go to read the modules linked into {path}"
        if tools_required():
            pytest.fail(reason)
        pytest.skip(reason)
    result = subprocess.run(["go", "version", "-m", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("tool, binary", CACHED, ids=[binary for _, binary in CACHED])
def test_no_agpl_module_is_linked_into_the_cached_binaries(tool, binary):
    modules = linked_modules(go_version_m(bt.folder(tool) / binary))
    assert len(modules) > 20  # the dependencies were read, not an empty listing
    assert agpl(modules) == [], f"{binary} links AGPL modules"


def test_the_cached_collector_links_the_collector_modules_at_the_pinned_releases():
    """What go mod tidy resolved is what got linked: check_collector_versions on the binary's own module list."""
    tool = tool_named("otelcol")
    output = go_version_m(bt.folder(tool) / "otelcol")
    stamp = json.loads((bt.folder(tool) / bt.STAMP).read_text())
    lines = {"core": tool.recipe["core"], "stable": stamp["recipe"]["stable"], "contrib": tool.recipe["contrib"]}
    deps = [line.split()[1:3] for line in output.splitlines() if line.split()[:1] == ["dep"]]
    collector = [(module, version) for module, version in deps if module.startswith((CORE + "/", CONTRIB + "/"))]
    assert f"{CONTRIB}/exporter/prometheusexporter" in dict(collector)
    bt.check_collector_versions("require (\n" + "".join(f"\t{m} {v}\n" for m, v in collector) + ")\n", lines)
