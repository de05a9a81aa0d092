"""Which program obs runs for a tool: the pinned build of scripts/build_tools.py first, then the tool's names on
PATH (Debian's packages); and what `obs validate` says when one is not there at all."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from catalog import versions as v
from obs.check import tools
from obs.core import paths

from helpers import pinned_tool, run_obs


def fake_build(cache: Path, folder: str, binary: str, stamped: bool = True) -> Path:
    """A tool folder laid out as build_tools.py leaves it: the binary, and the stamp written last."""
    where = cache / folder
    where.mkdir(parents=True, exist_ok=True)
    program = where / binary
    program.write_text("#!/bin/sh\necho fake\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    if stamped:
        (where / tools.STAMP).write_text(json.dumps({"tool": folder.split("-")[0]}))
    return program


def on_path(directory: Path, *names: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        fake_build(directory.parent, directory.name, name, stamped=False)


def test_the_pinned_build_comes_before_path(tmp_path, monkeypatch):
    cache, bin_dir = tmp_path / "cache", tmp_path / "bin"
    built = fake_build(cache, f"prometheus-{v.PROMETHEUS_VERSION}", "promtool")
    on_path(bin_dir, "promtool")
    monkeypatch.setenv("OBS_TOOLS_CACHE", str(cache))
    monkeypatch.setenv("PATH", str(bin_dir))
    found = tools.locate("promtool")
    assert (found.path, found.pinned, str(found)) == (str(built), v.PROMETHEUS_VERSION,
                                                      f"promtool {v.PROMETHEUS_VERSION}")


def test_a_folder_without_the_stamp_is_an_unfinished_build(tmp_path, monkeypatch):
    cache, bin_dir = tmp_path / "cache", tmp_path / "bin"
    fake_build(cache, f"alertmanager-{v.ALERTMANAGER_VERSION}", "amtool", stamped=False)
    on_path(bin_dir, "amtool")
    monkeypatch.setenv("OBS_TOOLS_CACHE", str(cache))
    monkeypatch.setenv("PATH", str(bin_dir))
    found = tools.locate("amtool")
    assert (found.path, found.pinned) == (str(bin_dir / "amtool"), None)
    assert str(found) == f"amtool at {bin_dir / 'amtool'} (not the pinned build)"


def test_another_release_in_the_cache_is_not_the_pinned_one(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    fake_build(cache, "otelcol-0.120.0", "otelcol")
    monkeypatch.setenv("OBS_TOOLS_CACHE", str(cache))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert tools.locate("otelcol") is None


def test_debian_names_are_the_fallback(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    on_path(bin_dir, "prometheus-alertmanager", "prometheus-node-exporter")
    monkeypatch.setenv("OBS_TOOLS_CACHE", str(tmp_path / "no-cache"))
    monkeypatch.setenv("PATH", str(bin_dir))
    assert tools.find_tool("alertmanager") == str(bin_dir / "prometheus-alertmanager")
    assert tools.find_tool("node-exporter") == str(bin_dir / "prometheus-node-exporter")


def test_the_pinned_folder_on_path_counts_as_the_pinned_build(tmp_path, monkeypatch):
    """`make test` puts the folders build_tools.py prints first on PATH."""
    cache = tmp_path / "cache"
    built = fake_build(cache, f"otelcol-{v.COLLECTOR_VERSION}", "otelcol", stamped=False)
    monkeypatch.setenv("OBS_TOOLS_CACHE", str(cache))
    monkeypatch.setenv("PATH", str(built.parent))
    assert tools.locate("otelcol").pinned == v.COLLECTOR_VERSION


def test_build_tools_and_obs_agree_on_the_folders(tmp_path, monkeypatch):
    """scripts/build_tools.py --check names the folders obs looks in, for the same OBS_TOOLS_CACHE."""
    import subprocess
    import sys

    from helpers import REPO

    monkeypatch.setenv("OBS_TOOLS_CACHE", str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, str(REPO / "scripts/build_tools.py"), "--check"], capture_output=True,
                            text=True, env=os.environ)
    assert result.returncode == 1  # nothing is built in an empty cache
    folders = {line.split()[0]: line.rsplit("(", 1)[1].rstrip(")") for line in result.stdout.splitlines()}
    for name in ("promtool", "amtool", "otelcol"):
        tool = tools.TOOLS[name]
        assert str(tools.pinned_folder(tool)[0]) == folders[tool.folder]


@pytest.mark.parametrize("tool, checked", [("promtool", paths.PROMETHEUS_FILE), ("amtool", paths.ALERTMANAGER_FILE),
                                           ("otelcol", paths.COLLECTOR_FILE)])
def test_validate_fails_naming_the_file_a_missing_tool_did_not_check(project, tmp_path, monkeypatch, tool, checked):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for other in {"promtool", "amtool", "otelcol"} - {tool}:
        (bin_dir / other).symlink_to(pinned_tool(other))
    monkeypatch.setenv("OBS_TOOLS_CACHE", str(tmp_path / "no-cache"))
    monkeypatch.setenv("PATH", str(bin_dir))
    result = run_obs("validate", "--root", str(project))
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {checked}: {tool}: not found, so this file was not checked with it: "
                      f"{tools.INSTALL_HINT if tool != 'otelcol' else tools.BUILD_HINT}"]


def test_without_the_collector_a_note_says_once_what_was_not_checked(project, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for other in ("promtool", "amtool"):
        (bin_dir / other).symlink_to(pinned_tool(other))
    monkeypatch.setenv("OBS_TOOLS_CACHE", str(tmp_path / "no-cache"))
    monkeypatch.setenv("PATH", str(bin_dir))
    result = run_obs("validate", "--root", str(project), "--missing-tools", "note")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [f"note: {paths.COLLECTOR_FILE}: otelcol: not found, so this file was not "
                                          f"checked with it: {tools.BUILD_HINT}"]
    assert result.stdout.rstrip().endswith("; not checked with otelcol")
