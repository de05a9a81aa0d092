"""`obs build`: the three dashboards and the provisioning files, compiled, valid, deterministic, and
all-or-nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from catalog import grafana, versions
from obs.check.files import check_artifact
from obs.compile.pipeline import build as build_artifacts

from helpers import run_obs, tree_digest

DASHBOARD_UIDS = {grafana.SYSTEM_OVERVIEW.uid, grafana.EVALUATION_ANALYTICS.uid, grafana.CONTAINER_OVERVIEW.uid}
DASHBOARD_FILES = {f"monitoring/grafana/dashboards/{uid}.json" for uid in DASHBOARD_UIDS}
PROVISIONING_FILES = {
    "monitoring/grafana/provisioning/datasources/datasources.yml",
    "monitoring/grafana/provisioning/dashboards/dashboards.yml",
}


def test_build_produces_the_three_dashboards_and_provisioning_files(repo):
    paths = {artifact.path for artifact in build_artifacts(repo)}
    assert paths >= DASHBOARD_FILES | PROVISIONING_FILES


def test_every_built_file_passes_validation(repo):
    for artifact in build_artifacts(repo):
        assert check_artifact(artifact.path, artifact.text, artifact.source) == [], artifact.path


def test_build_writes_files_then_check_is_clean(project):
    for path in DASHBOARD_FILES | PROVISIONING_FILES:
        (project / path).unlink()
    result = run_obs("build", "--root", str(project))
    assert result.exit_code == 0, result.stderr
    assert all((project / path).is_file() for path in DASHBOARD_FILES | PROVISIONING_FILES)
    again = run_obs("build", "--check", "--root", str(project))
    assert again.exit_code == 0, again.stderr


def test_second_build_changes_nothing(project):
    run_obs("build", "--root", str(project))
    before = {p: (project / p).stat().st_mtime_ns for p in tree_digest(project)}
    result = run_obs("build", "--root", str(project))
    assert result.exit_code == 0
    assert ", 0 changed" in result.stdout
    assert {p: (project / p).stat().st_mtime_ns for p in tree_digest(project)} == before


def test_committed_output_is_current(repo):
    result = run_obs("build", "--check", "--root", str(repo))
    assert result.exit_code == 0, result.stderr


def test_output_is_byte_identical_across_processes_and_hash_seeds(project, tmp_path):
    """Two separate interpreters with different hash seeds give the same bytes."""
    digests = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        for path in DASHBOARD_FILES:
            (project / path).unlink()
        subprocess.run([sys.executable, "-m", "obs.cli", "build", "--root", str(project)], check=True, env=env,
                       capture_output=True)
        digests.append(tree_digest(project))
    assert digests[0] == digests[1]


@pytest.mark.parametrize("change", ["modified", "missing", "stale"])
def test_check_names_each_file_that_differs(project, change):
    target = project / "monitoring/grafana/dashboards/obs-system-overview.json"
    if change == "modified":
        target.write_text(target.read_text().replace("Host CPU usage", "Host CPU"))
    elif change == "missing":
        target.unlink()
    else:
        target = project / "monitoring/grafana/dashboards/old-dashboard.json"
        target.write_text("{}")
    before = tree_digest(project)
    result = run_obs("build", "--check", "--root", str(project))
    assert result.exit_code == 1
    assert f"{target.relative_to(project).as_posix()}: {change}" in result.stderr
    assert tree_digest(project) == before, "--check must not write"


def test_build_removes_a_stale_dashboard_file(project):
    stale = project / "monitoring/grafana/dashboards/removed-dashboard.json"
    stale.write_text("{}")
    result = run_obs("build", "--root", str(project))
    assert result.exit_code == 0
    assert not stale.exists()
    assert "removed monitoring/grafana/dashboards/removed-dashboard.json" in result.stdout


def test_validate_passes_on_the_repository(repo):
    result = run_obs("validate", "--root", str(repo))
    assert result.exit_code == 0, result.stderr


def test_validate_rejects_a_hand_edited_legacy_key(project):
    path = project / "monitoring/grafana/dashboards/obs-container-overview.json"
    document = json.loads(path.read_text())
    document["style"] = "dark"
    path.write_text(json.dumps(document))
    result = run_obs("validate", "--root", str(project))
    assert result.exit_code == 1
    line = next(line for line in result.stderr.splitlines() if "style" in line)
    assert line.startswith("error: monitoring/grafana/dashboards/obs-container-overview.json: "
                           "dashboard 'obs-container-overview': $: ")


def test_validate_rejects_a_broken_provisioning_file(project):
    path = project / "monitoring/grafana/provisioning/datasources/datasources.yml"
    path.write_text(path.read_text().replace("access: proxy", "acess: proxy", 1))
    result = run_obs("validate", "--root", str(project))
    assert result.exit_code == 1
    assert "datasources.yml: datasources: $.datasources[0]: Additional properties are not allowed ('acess'" \
        in result.stderr


def test_make_dashboards_target_runs_the_build(repo):
    makefile = (repo / "Makefile").read_text()
    recipe = makefile.split("\ndashboards:", 1)[1].split("\n\n", 1)[0]
    assert "obs build" in recipe


def test_dashboard_provider_points_at_the_folder_and_mount(repo):
    import yaml

    provider = yaml.safe_load((repo / "monitoring/grafana/provisioning/dashboards/dashboards.yml").read_text())
    [entry] = provider["providers"]
    assert entry["folderUid"] == grafana.FOLDER.uid
    assert entry["options"]["path"] == "/var/lib/grafana/dashboards"


def test_datasources_are_provisioned_with_the_uids_dashboards_use(repo):
    import yaml

    document = yaml.safe_load((repo / "monitoring/grafana/provisioning/datasources/datasources.yml").read_text())
    by_uid = {d["uid"]: d for d in document["datasources"]}
    assert set(by_uid) == {grafana.PROMETHEUS.uid, grafana.TEMPO.uid, grafana.ALERTMANAGER.uid}
    assert [d["uid"] for d in document["datasources"] if d["isDefault"]] == [grafana.PROMETHEUS.uid]
    tempo = by_uid[grafana.TEMPO.uid]["jsonData"]
    assert tempo["tracesToMetrics"]["datasourceUid"] == grafana.PROMETHEUS.uid
    assert tempo["serviceMap"]["datasourceUid"] == grafana.PROMETHEUS.uid
    # Grafana expands $VAR in provisioning files: Grafana's own $__tags must be escaped as $$__tags.
    queries = [q["query"] for q in tempo["tracesToMetrics"]["queries"]]
    assert all("$$__tags" in q for q in queries)
    exemplars = by_uid[grafana.PROMETHEUS.uid]["jsonData"]["exemplarTraceIdDestinations"]
    # The apps' exemplars say trace_id, Tempo's span metrics traceID: one destination for each.
    assert exemplars == [{"name": "trace_id", "datasourceUid": grafana.TEMPO.uid},
                         {"name": "traceID", "datasourceUid": grafana.TEMPO.uid}]


def test_grafana_schema_is_pinned_to_the_documented_version(repo):
    assert (repo / f"obs/schemas/grafana-{versions.GRAFANA_VERSION}/dashboard.schema.json").is_file()
    assert f"Grafana {versions.GRAFANA_VERSION}" in (repo / "README.md").read_text()


