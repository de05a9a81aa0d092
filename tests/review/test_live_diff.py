"""`obs diff --grafana-url` (obs.review.live) against the Grafana emulator (13.2.3, the /apis path; the 12.x
legacy path where a test says so): what a push would change, per dashboard and per panel, with the exit code
telling whether anything differs; it never writes."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog.grafana import FOLDER, MANAGED_TAG, SYSTEM_OVERVIEW
from obs.cli import main
from obs.deploy import client, desired
from obs.deploy.desired import Desired
from obs.deploy.sync import Options, run_sync
from obs.deploy.target import make_target

from grafana_emulator import GrafanaEmulator
from helpers import REPO

TOKEN = "glsa_live_diff_SECRET_token_0987"
CLEAN_ENV = {"GRAFANA_URL": None, "GRAFANA_TOKEN": None, "GRAFANA_USER": None, "GRAFANA_PASSWORD": None}


@pytest.fixture(scope="module")
def compiled() -> Desired:
    return desired.desired_state(REPO)


@pytest.fixture
def grafana():
    with GrafanaEmulator(tokens={TOKEN: "Admin", "viewer": "Viewer"}) as emu:
        yield emu


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(client, "DEFAULT_BACKOFF", 0.01)


@dataclass
class Output:
    text: str
    errors: str


def diff(emu: GrafanaEmulator, wanted: Desired, token: str = TOKEN, *, url: str | None = None,
         output_format: str = "text", retries: int = 4, monkeypatch: pytest.MonkeyPatch | None = None
         ) -> tuple[int, Output]:
    """`obs diff --grafana-url` through the command line, comparing with `wanted` (no build per call)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(desired, "desired_state", lambda root: copy.deepcopy(wanted))
        argv = ["diff", "--root", str(REPO), "--grafana-url", url if url is not None else emu.url,
                "--token", token, "--format", output_format, "--retries", str(retries)]
        result = CliRunner().invoke(main, argv, env=CLEAN_ENV, catch_exceptions=False)
    return result.exit_code, Output(result.stdout, result.stderr)


def pushed(emu: GrafanaEmulator, wanted: Desired, tmp_path: Path) -> None:
    target = make_target(emu.url, TOKEN, None, None)
    report = run_sync(target, copy.deepcopy(wanted), Options(backup_dir=tmp_path))
    assert not report.failed
    emu.clear_log()


def test_empty_grafana_everything_would_be_created(grafana, compiled):
    code, output = diff(grafana, compiled)
    assert code == 1
    assert 'dashboard obs-system-overview "System Overview": added' in output.text
    assert 'datasource "Prometheus": added: prometheus' in output.text
    assert "a push would create it" in output.text  # the folder
    assert "3 dashboards added, 3 datasources added" in output.text
    assert grafana.writes == []


def test_no_difference_after_a_push(grafana, compiled, tmp_path):
    pushed(grafana, compiled, tmp_path)
    code, output = diff(grafana, compiled)
    assert code == 0, output.text
    assert output.text.splitlines()[-1] == "no changes"
    assert grafana.writes == []


def test_per_panel_changes_a_push_would_make(grafana, compiled, tmp_path):
    pushed(grafana, compiled, tmp_path)

    def edit(document):
        panel = document["panels"][1]
        panel["title"] = "Renamed in the UI"
        panel["targets"][0]["expr"] = panel["targets"][0]["expr"].replace("api-gateway", "gateway")
        panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] = 2
        panel["fieldConfig"]["defaults"]["unit"] = "percent"
        panel["gridPos"]["w"] = 6
        document["panels"][2]["gridPos"]["y"] = 40
        document["title"] = "System Overview (edited)"

    grafana.ui_edit(SYSTEM_OVERVIEW.uid, edit, user="alice", message="tuning")
    grafana.clear_log()
    code, output = diff(grafana, compiled)
    assert code == 1
    text = output.text
    assert 'dashboard obs-system-overview "System Overview": changed' in text
    assert 'title: "Renamed in the UI" -> "API Gateway"' in text
    assert '-min(up{job="gateway"})' in text and '+min(up{job="api-gateway"})' in text  # the query
    assert "thresholds: red, 2 green -> red, 1 green" in text
    assert 'unit: "percent" -> "none"' in text
    assert "resized: w=6 h=4 -> w=4 h=4" in text and "moved: x=4 y=40" in text  # layout
    assert 'title: "System Overview (edited)" -> "System Overview"' in text
    assert "edited in Grafana since the last obs push" in text and "alice" in text and "'tuning'" in text
    assert "1 dashboard changed" in text
    assert grafana.writes == []


def test_datasource_and_folder_differences(grafana, compiled, tmp_path):
    pushed(grafana, compiled, tmp_path)
    grafana.edit_datasource("obs-prometheus", url="http://old-prometheus:9090")
    grafana.rename_folder(FOLDER.uid, "Renamed folder")
    code, output = diff(grafana, compiled)
    assert code == 1
    assert 'datasource "Prometheus": url: "http://old-prometheus:9090" -> "http://prometheus:9090"' in output.text
    assert "a push would update it (title: 'Renamed folder' -> 'Medical Evaluation Platform')" in output.text


def test_dashboard_in_another_folder_differs(grafana, compiled, tmp_path):
    pushed(grafana, compiled, tmp_path)
    grafana.move_dashboard(SYSTEM_OVERVIEW.uid, "")
    code, output = diff(grafana, compiled)
    assert code == 1
    assert "dashboard obs-system-overview is in folder 'General': a push moves it" in output.text


def test_orphans_are_reported_but_do_not_count(grafana, compiled, tmp_path):
    pushed(grafana, compiled, tmp_path)
    grafana.add_dashboard({"uid": "obs-retired", "title": "Retired", "tags": [MANAGED_TAG]}, FOLDER.uid)
    code, output = diff(grafana, compiled)
    assert code == 0  # a push without --prune would change nothing
    note = "obs-retired 'Retired' is obs's (in the obs folder, managed by obs or with the obs-managed tag)"
    assert note in output.text
    assert "--prune" in output.text


def test_provisioned_dashboard_that_differs_counts(grafana, compiled):
    grafana.add_folder(FOLDER.uid, FOLDER.title)
    for uid, document in compiled.dashboards.items():
        changed = dict(document, description="older file") if uid == SYSTEM_OVERVIEW.uid else document
        grafana.add_dashboard(copy.deepcopy(changed), FOLDER.uid, provisioned=True)
    for body in compiled.datasources:
        grafana.add_datasource(body, read_only=True)
    code, output = diff(grafana, compiled)
    assert code == 1
    assert "provisioned in Grafana from a file (read-only)" in output.text
    # The dashboard's description is long: the change is shown as a line diff.
    assert "description" in output.text and "-older file" in output.text


@pytest.mark.parametrize("output_format", ["json", "markdown"])
def test_other_formats(grafana, compiled, tmp_path, output_format):
    pushed(grafana, compiled, tmp_path)
    grafana.ui_edit(SYSTEM_OVERVIEW.uid, {"refresh": "5s"})
    code, output = diff(grafana, compiled, output_format=output_format)
    assert code == 1
    if output_format == "json":
        data = json.loads(output.text)
        assert data["changed"] is True and data["sections"][0]["key"] == SYSTEM_OVERVIEW.uid
        assert any("edited in Grafana" in note for note in data["notes"])
    else:
        assert output.text.startswith("## Monitoring changes")
        assert "### Dashboard `obs-system-overview`" in output.text


def test_errors_exit_2_in_one_line_without_the_token(grafana, compiled):
    cases = [
        diff(grafana, compiled, token="glsa_WRONG_secret_555"),
        diff(grafana, compiled, url=grafana.url.replace("http://", "https://")),
        diff(grafana, compiled, url="http://127.0.0.1:9", retries=0),
        diff(grafana, compiled, url="not a url"),
    ]
    for code, output in cases:
        assert code == 2
        lines = [line for line in output.errors.splitlines() if line]
        assert len(lines) == 1 and lines[0].startswith("error: "), output.errors
        assert "glsa_WRONG_secret_555" not in output.errors + output.text and TOKEN not in output.errors
    assert "rejected the token (401" in cases[0][1].errors
    assert "TLS failure" in cases[1][1].errors
    assert "cannot reach Grafana" in cases[2][1].errors
    assert grafana.writes == []


def test_invalid_content_exits_2(grafana, project):
    module = project / "dashboards" / "system_overview.py"
    module.write_text(module.read_text() + "\nraise ValueError('broken')\n")
    result = CliRunner().invoke(main, ["diff", "--root", str(project), "--grafana-url", grafana.url, "--token", TOKEN],
                                env=CLEAN_ENV, catch_exceptions=False)
    assert result.exit_code == 2
    assert "nothing compared" in result.stderr and grafana.requests == []


def test_obs_diff_command_with_grafana_url(grafana, compiled, tmp_path):
    runner = CliRunner()
    env = {"GRAFANA_TOKEN": TOKEN, "GRAFANA_USER": None, "GRAFANA_PASSWORD": None}
    before = runner.invoke(main, ["diff", "--root", str(REPO), "--grafana-url", grafana.url], env=env)
    assert before.exit_code == 1, before.output
    assert "3 dashboards added" in before.stdout
    pushed(grafana, compiled, tmp_path)
    after = runner.invoke(main, ["diff", "--root", str(REPO), "--grafana-url", grafana.url], env=env)
    assert after.exit_code == 0, after.output
    assert TOKEN not in after.output and grafana.writes == []


def test_grafana_url_in_the_environment_does_not_turn_a_review_diff_live(grafana, project):
    """GRAFANA_URL is set for `obs push`; `obs diff` still compares with git unless --grafana(-url) is given."""
    env = {**CLEAN_ENV, "GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": TOKEN}
    review = CliRunner().invoke(main, ["diff", "--root", str(project)], env=env, catch_exceptions=False)
    assert "not in a git repository" in review.stderr and grafana.requests == []
    live = CliRunner().invoke(main, ["diff", "--grafana", "--root", str(REPO)], env=env, catch_exceptions=False)
    assert live.exit_code == 1 and "3 dashboards added" in live.stdout and grafana.requests
