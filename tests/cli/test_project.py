"""Where obs runs: the project is found by walking up to the pyproject.toml with a [tool.obs] table; outside
any project every command that needs one says so in one line and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO, run_obs

OBS = Path(sys.executable).with_name("obs")


@pytest.mark.parametrize("command", [["build"], ["build", "--check"], ["validate"], ["lint"], ["preview"],
                                     ["diff"], ["push", "--dry-run"], ["verify", "--prometheus-url", "http://x"]])
def test_outside_a_project_one_line_and_exit_2(tmp_path, command):
    result = subprocess.run([str(OBS), *command], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "GRAFANA_URL": "", "GRAFANA_TOKEN": ""})
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"error: no obs project found in {tmp_path.resolve()} or any folder above it (a project has a "
        "pyproject.toml with a [tool.obs] table); run obs inside one or pass --root"]
    assert result.stdout == ""


def test_a_pyproject_without_the_table_is_not_a_project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    result = run_obs("validate", "--root", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (f"error: {tmp_path.resolve()} is not an obs project: it has no pyproject.toml with a "
                             "[tool.obs] table\n")


def test_found_from_a_subfolder(tmp_path):
    result = subprocess.run([str(OBS), "build", "--check"], cwd=REPO / "dashboards", capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("files up to date")


def test_a_project_with_nothing_compiled_says_so(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.obs]\n")
    validate = run_obs("validate", "--root", str(tmp_path))
    lint = run_obs("lint", "--root", str(tmp_path))
    for result in (validate, lint):
        assert result.exit_code == 1
        assert "has no compiled files" in result.stderr and "run `obs build` first" in result.stderr
