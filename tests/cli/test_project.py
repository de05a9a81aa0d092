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


# `[tool.obs] dashboard-schema`: what `obs push` deploys.

def test_the_dashboard_schema_setting_defaults_to_v1_and_reads_v2(tmp_path):
    from obs.core.project import Project

    assert Project(tmp_path, {}).dashboard_schema == "v1"
    assert Project(tmp_path, {"dashboard-schema": "v1"}).dashboard_schema == "v1"
    assert Project(tmp_path, {"dashboard-schema": "v2"}).dashboard_schema == "v2"


@pytest.mark.parametrize("value", ['"v3"', '"V2"', "2"])
def test_an_unknown_dashboard_schema_is_one_line_and_exit_2(project, value):
    text = (project / "pyproject.toml").read_text().replace("[tool.obs]\n", f"[tool.obs]\ndashboard-schema = {value}\n")
    (project / "pyproject.toml").write_text(text)
    shown = {'"v3"': "'v3'", '"V2"': "'V2'", "2": "2"}[value]
    expected = (f'error: {project.resolve()}/pyproject.toml: tool.obs.dashboard-schema must be "v1" or "v2" '
                f'(default "v1"), got {shown}\n')
    for command in (["build"], ["validate"], ["push", "--dry-run"]):
        result = run_obs(*command, "--root", str(project), env={"GRAFANA_URL": "", "GRAFANA_TOKEN": ""})
        assert (result.exit_code, result.stderr, result.stdout) == (2, expected, ""), command


def test_an_unknown_dashboard_schema_fails_a_build_from_python_in_one_line(project):
    from obs.compile.pipeline import build
    from obs.core.errors import BuildError

    text = (project / "pyproject.toml").read_text().replace("[tool.obs]\n", '[tool.obs]\ndashboard-schema = "v3"\n')
    (project / "pyproject.toml").write_text(text)
    with pytest.raises(BuildError) as caught:
        build(project)
    assert str(caught.value) == 'pyproject.toml: tool.obs.dashboard-schema must be "v1" or "v2" (default "v1"), ' \
                                "got 'v3'"
