"""`obs import` from a running Grafana (the project's emulator of Grafana's HTTP API): by folder, by uid, the
instance's own datasources resolving an old dashboard's names; what a missing uid or folder, a rejected token and
an unreachable Grafana do. The round trip holds live too: what obs pushed, imported back, builds to the same
files."""

from __future__ import annotations

import json

import pytest

from obs.core.paths import dashboard_file
from obs.deploy import client

from grafana_emulator import GrafanaEmulator
from helpers import copy_project, run_obs
from ingest.helpers_ingest import DATA, compiled, semantic_changes

TOKEN = "glsa_import_SECRET_token_4242"
CLEAN_ENV = {"GRAFANA_URL": None, "GRAFANA_TOKEN": None, "GRAFANA_USER": None, "GRAFANA_PASSWORD": None}
OWN = ("obs-container-overview", "obs-evaluation-analytics", "obs-system-overview")


@pytest.fixture
def grafana():
    with GrafanaEmulator(tokens={TOKEN: "Admin"}, sub_path="/grafana") as emu:
        yield emu


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(client, "DEFAULT_BACKOFF", 0.01)


def obs_import(project, grafana, *args, token=TOKEN):
    return run_obs("import", "--root", str(project), "--grafana-url", grafana.url, "--token", token, *args,
                   env=CLEAN_ENV)


def test_what_obs_pushed_comes_back_as_the_same_dashboards(tmp_path, grafana):
    source = copy_project(tmp_path / "source")
    pushed = run_obs("push", "--root", str(source), "--grafana-url", grafana.url, "--token", TOKEN, env=CLEAN_ENV)
    assert pushed.exit_code == 0, pushed.output
    target = copy_project(tmp_path / "target")
    originals = {uid: (target / dashboard_file(uid)).read_bytes() for uid in OWN}
    result = obs_import(target, grafana, "--folder", "obs-medical-evaluation", "--force")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"reading from Grafana 13.2.3 at {grafana.url} (token auth)"
    assert [line.split()[1] for line in result.stdout.splitlines() if line.startswith("overwrote ")] == [
        "dashboards/container_overview.py", "dashboards/evaluation_analytics.py", "dashboards/system_overview.py"]
    built = run_obs("build", "--root", str(target), "--no-cache")
    assert built.exit_code == 0, built.output
    for uid in OWN:
        assert (target / dashboard_file(uid)).read_bytes() == originals[uid], uid
        assert semantic_changes(json.loads(originals[uid]), compiled(target, uid)) == []
    assert TOKEN not in result.output


def test_an_old_dashboard_resolves_names_against_the_grafana_it_is_read_from(project, grafana):
    """The Grafana 5 dashboard names its datasource "Prometheus": there, that is another Prometheus (uid
    prod-prom); the import resolves the name there (schema 33) and points it at the provisioned one."""
    grafana.add_datasource({"name": "Prometheus", "type": "prometheus", "uid": "prod-prom", "url": "http://p:9090",
                            "access": "proxy", "isDefault": True})
    grafana.add_folder("ops", "Ops")
    grafana.add_dashboard(json.loads((DATA / "host-metrics-grafana5.json").read_text()), "ops")
    result = obs_import(project, grafana, "--uid", "host-metrics")
    assert result.exit_code == 0, result.output
    wrote = f"wrote dashboards/host_metrics.py <- {grafana.url} uid host-metrics: dashboard 'host-metrics'"
    assert wrote in result.stdout
    source = (project / "dashboards/host_metrics.py").read_text()
    assert "- datasource 'Prometheus' -> {type: prometheus, uid: prod-prom}" in source
    assert "- datasource 'prod-prom' (prometheus) -> the provisioned obs-prometheus" in source
    built = run_obs("build", "--root", str(project))
    assert built.exit_code == 0, built.output
    document = compiled(project, "host-metrics")
    assert {p["datasource"]["uid"] for p in document["panels"]} == {"obs-prometheus"}


def test_several_uids_and_a_folder_at_once(project, grafana):
    grafana.add_folder("ops", "Ops")
    grafana.add_dashboard(json.loads((DATA / "gateway-grafana7.json").read_text()), "ops")
    grafana.add_dashboard(json.loads((DATA / "evaluation-quality-grafana11.json").read_text()))
    result = obs_import(project, grafana, "--folder", "ops", "--uid", "eval-quality")
    assert result.exit_code == 0, result.output
    written = sorted(line.split()[1] for line in result.stdout.splitlines() if line.startswith("wrote "))
    assert written == ["dashboards/api_gateway_ops.py", "dashboards/evaluation_quality.py"]
    assert run_obs("build", "--root", str(project)).exit_code == 0


def test_a_uid_grafana_does_not_have(project, grafana):
    grafana.add_dashboard(json.loads((DATA / "gateway-grafana7.json").read_text()))
    result = obs_import(project, grafana, "--uid", "gateway-ops", "--uid", "nope")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: Grafana at {grafana.url}: dashboard 'nope': no such dashboard "
                      "(GET /apis/dashboard.grafana.app/v1/namespaces/default/dashboards/nope answered 404)"]
    assert result.stderr.rstrip().endswith("1 problem; nothing written")
    assert not (project / "dashboards/api_gateway_ops.py").exists()


def test_a_folder_grafana_does_not_have(project, grafana):
    result = obs_import(project, grafana, "--folder", "missing")
    assert result.exit_code == 1
    assert (f"error: Grafana at {grafana.url}: folder 'missing': no such folder (GET /apis/folder.grafana.app/v1/"
            "namespaces/default/folders/missing answered 404)") in result.stderr


def test_a_rejected_token_and_an_unreachable_grafana_stop_at_once(project, grafana):
    rejected = obs_import(project, grafana, "--uid", "x", token="glsa_wrong_SECRET")
    assert rejected.exit_code == 4
    assert rejected.stderr.strip() == (f"error: Grafana at {grafana.url} rejected the token (401 Invalid API key)")
    assert "glsa_wrong_SECRET" not in rejected.output
    unreachable = run_obs("import", "--root", str(project), "--grafana-url", "http://127.0.0.1:9", "--token", TOKEN,
                          "--uid", "x", "--retries", "0", env=CLEAN_ENV)
    assert unreachable.exit_code == 4
    assert unreachable.stderr.startswith("error: cannot reach Grafana at 127.0.0.1:9")
