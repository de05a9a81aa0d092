"""`obs build` reuses the last build when none of its inputs changed, and only then."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from obs.compile import cache
from obs.compile.pipeline import build

from helpers import copy_project, edit, run_obs

OBS = Path(sys.executable).with_name("obs")


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OBS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "builds"


def test_a_rebuild_with_the_same_inputs_imports_no_content(tmp_path, cache_dir):
    root = copy_project(tmp_path / "p")
    env = {**os.environ, "OBS_CACHE_DIR": str(tmp_path / "cache")}
    first = subprocess.run([sys.executable, "-X", "importtime", "-m", "obs", "build"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=120)
    second = subprocess.run([sys.executable, "-X", "importtime", "-m", "obs", "build"], cwd=root, env=env,
                            capture_output=True, text=True, timeout=120)
    assert first.returncode == second.returncode == 0
    # Content is imported through importlib (not logged by -X importtime); grafanalib only with it.
    assert "grafanalib.core" in first.stderr and "obs.compile.pipeline" in first.stderr
    assert "grafanalib" not in second.stderr and "obs.compile.pipeline" not in second.stderr
    assert second.stdout == first.stdout == f"{len(build(root))} files built, 0 changed\n"


def test_the_cached_result_is_the_result_of_a_build(tmp_path, cache_dir):
    root = copy_project(tmp_path / "p")
    assert run_obs("build", "--root", str(root)).exit_code == 0  # fills the cache
    [entry] = list(cache_dir.glob("*.json"))
    assert cache.load(entry.stem) == build(root)


def test_any_input_changes_the_key(tmp_path, monkeypatch):
    root = copy_project(tmp_path / "p")
    keys = {cache.inputs_key(root)}
    edit(root, "alerts/_common.py", "RUNBOOKS =", "RUNBOOKS  =")  # a private module is an input too
    keys.add(cache.inputs_key(root))
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text() + "\n# a comment\n")
    keys.add(cache.inputs_key(root))
    toolkit = tmp_path / "obs"
    shutil.copytree(cache.TOOLKIT, toolkit, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "TOOLKIT", toolkit)
    assert cache.inputs_key(root) in keys  # the same toolkit elsewhere is the same input
    (toolkit / "schemas" / "rules.schema.json").write_text("{}")
    keys.add(cache.inputs_key(root))
    monkeypatch.setattr(cache, "LIBRARIES", (*cache.LIBRARIES, "click"))
    keys.add(cache.inputs_key(root))
    assert len(keys) == 5


def test_an_edit_is_built_not_served_from_the_cache(tmp_path, cache_dir):
    root = copy_project(tmp_path / "p")
    assert run_obs("build", "--root", str(root)).exit_code == 0
    edit(root, "catalog/thresholds.py", "Threshold(value=0.80", "Threshold(value=0.85")
    result = run_obs("build", "--root", str(root))
    assert "updated monitoring/prometheus/rules/evaluations.yml" in result.stdout
    assert "< 0.85" in (root / "monitoring/prometheus/rules/evaluations.yml").read_text()


def test_a_failed_build_is_not_cached(tmp_path, cache_dir):
    root = copy_project(tmp_path / "p")
    edit(root, "catalog/thresholds.py", "Threshold(value=0.80", 'Threshold(value="0.80"')
    assert run_obs("build", "--root", str(root)).exit_code == 1
    assert run_obs("build", "--root", str(root)).exit_code == 1
    assert not list(cache_dir.glob("*.json")) if cache_dir.exists() else True


def test_a_damaged_entry_is_ignored(tmp_path, cache_dir):
    root = copy_project(tmp_path / "p")
    assert run_obs("build", "--root", str(root)).exit_code == 0
    [entry] = list(cache_dir.glob("*.json"))
    digest, _, payload = entry.read_bytes().partition(b"\n")
    entry.write_bytes(digest + b"\n" + payload.replace(b"0.8", b"0.9", 1))
    assert cache.load(entry.stem) is None
    result = run_obs("build", "--check", "--root", str(root))
    assert result.exit_code == 0 and result.stdout == f"{len(build(root))} files up to date\n"


def test_no_cache_builds_anyway(tmp_path, cache_dir, monkeypatch):
    root = copy_project(tmp_path / "p")
    assert run_obs("build", "--root", str(root)).exit_code == 0
    monkeypatch.setattr(cache, "load", lambda key: pytest.fail("--no-cache read the cache"))
    assert run_obs("build", "--no-cache", "--root", str(root)).exit_code == 0
