"""The round trip of `obs import`: a dashboard imported, then `obs build`, gives a dashboard whose semantic diff
with the one imported is empty. For the project's own dashboards (the compiled files: byte for byte), and for
dashboards the project did not write (Grafana 5, 7.5 and 11 exports, migrated as Grafana 13 migrates them).
Each generated module passes ruff, and passes `obs lint` or lists each finding as a comment."""

from __future__ import annotations

import json
import shutil

import pytest

from obs.core.paths import dashboard_file

from helpers import REPO, copy_project, run_obs
from ingest.helpers_ingest import (
    DATA,
    FOREIGN,
    compiled,
    expected_document,
    finding_listed,
    lint_lines,
    ruff_clean,
    semantic_changes,
)

OWN = {
    "obs-system-overview": "dashboards/system_overview.py",
    "obs-evaluation-analytics": "dashboards/evaluation_analytics.py",
    "obs-container-overview": "dashboards/container_overview.py",
}


@pytest.fixture(scope="module")
def own_import(tmp_path_factory):
    """A copy of the project whose dashboard modules were replaced by `obs import --force` of their compiled
    files, then built."""
    project = copy_project(tmp_path_factory.mktemp("own") / "project")
    originals = {uid: (project / dashboard_file(uid)).read_bytes() for uid in OWN}
    files = [str(project / dashboard_file(uid)) for uid in OWN]
    imported = run_obs("import", "--root", str(project), "--force", *files)
    assert imported.exit_code == 0, imported.output
    built = run_obs("build", "--root", str(project), "--no-cache")
    assert built.exit_code == 0, built.output
    return project, originals, imported


@pytest.mark.parametrize("uid", sorted(OWN))
def test_the_projects_dashboards_build_back_byte_for_byte(own_import, uid):
    project, originals, _ = own_import
    assert (project / dashboard_file(uid)).read_bytes() == originals[uid]
    import json

    assert semantic_changes(json.loads(originals[uid]), compiled(project, uid)) == []


@pytest.mark.parametrize("uid", sorted(OWN))
def test_the_projects_dashboards_come_back_as_the_project_writes_them(own_import, uid):
    """Builders, the shared frame, sections, catalog queries and thresholds: no pass-through at all."""
    project, _, imported = own_import
    source = (project / OWN[uid]).read_text()
    assert "obs.author.passthrough" not in source
    assert "platform_dashboard(" in source and "section(" in source and "gridPos" not in source
    assert f"overwrote {OWN[uid]} <- " in imported.stdout
    assert ruff_clean(project / OWN[uid]) == []


def test_catalog_queries_and_thresholds_are_found(own_import):
    project, _, _ = own_import
    system = (project / OWN["obs-system-overview"]).read_text()
    assert "target(q.host_cpu_usage(INSTANCE), \"{{instance}}\")" in system
    assert "thresholds=t.HOST_CPU," in system and "thresholds=t.HOST_MEMORY," in system
    assert "INSTANCE = 'instance=~\"$instance\"'" in system
    assert "grafana.CONTAINER_OVERVIEW.path + \"?${__url_time_range}\"" in system
    analytics = (project / OWN["obs-evaluation-analytics"]).read_text()
    assert "q.latency_quantile(0.95, q.APP, JOB, MODEL)" in analytics
    assert "thresholds=t.EVALUATION_P95_SECONDS" in analytics
    assert "tempo_traces(" in analytics and "textbox(" in analytics


def test_the_projects_imported_modules_lint_clean(own_import):
    project, _, _ = own_import
    assert lint_lines(project) == []


@pytest.fixture(scope="module")
def foreign_import(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("foreign") / "project")
    for name in FOREIGN:
        shutil.copy(DATA / name, project / name)
    result = run_obs("import", "--root", str(project), *(str(project / name) for name in FOREIGN))
    assert result.exit_code == 0, result.output
    built = run_obs("build", "--root", str(project), "--no-cache")
    assert built.exit_code == 0, built.output
    return project, result


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_foreign_dashboards_build_back_to_what_grafana_would_hold(foreign_import, name):
    project, _ = foreign_import
    uid, _ = FOREIGN[name]
    expected = expected_document(project, name)
    built = compiled(project, uid)
    assert semantic_changes(expected, built) == []
    assert built == expected


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_foreign_modules_say_what_was_migrated_and_pass_ruff(foreign_import, name):
    project, result = foreign_import
    uid, version = FOREIGN[name]
    [line] = [line for line in result.stdout.splitlines() if f"dashboard {uid!r}" in line]
    module = project / line.split()[1]
    source = module.read_text()
    assert f"schemaVersion {version} -> 42 (Grafana's DashboardMigrator)" in source
    assert ruff_clean(module) == []


def test_foreign_modules_list_every_lint_finding_as_a_comment(foreign_import):
    project, result = foreign_import
    modules = {uid: project / line.split()[1] for line in result.stdout.splitlines() if line.startswith("wrote ")
               for uid, _ in FOREIGN.values() if f"dashboard {uid!r}" in line}
    findings = lint_lines(project)
    assert findings, "the foreign dashboards break the project's lint rules: each finding must be listed"
    for finding in findings:
        uid = next(u for u in modules if f"dashboards/{u}.json" in finding)
        assert finding_listed(modules[uid].read_text(), finding), finding


def test_what_grafana_had_without_a_description_is_excluded_with_a_reason(foreign_import):
    """The build refuses a panel without a description unless lint-exclusions.yml excludes it, with a reason."""
    project, result = foreign_import
    exclusions = (project / "lint-exclusions.yml").read_text()
    assert 'rule: "panel-description"\n    dashboard: "host-metrics"\n    panel: "Uptime"' in exclusions
    assert "excluded panel-description panel 'Uptime' in lint-exclusions.yml" in result.stdout
    module = next(project / line.split()[1] for line in result.stdout.splitlines() if "'host-metrics'" in line)
    assert "# excluded in lint-exclusions.yml: [panel-description] panel has no description" in module.read_text()


def test_the_repository_is_untouched():
    """The round trips ran on copies."""
    assert not (REPO / "dashboards" / "host_metrics.py").exists()


def test_panels_that_do_not_flow_like_sections_keep_their_places(project):
    """After a collapsed row Grafana puts the next row right below it; sections would leave room for the
    collapsed panels. Such a dashboard is written with each panel at its place (layout.at), rows as
    pass-through, and still builds back."""
    document = json.loads((DATA / "gateway-grafana7.json").read_text())
    document["panels"].append({"collapsed": False, "datasource": None, "gridPos": {"h": 1, "w": 24, "x": 0, "y": 15},
                               "id": 24, "panels": [], "title": "Later", "type": "row"})
    document["panels"].append({**document["panels"][3], "id": 26, "title": "Gateway up (again)",
                               "gridPos": {"h": 5, "w": 6, "x": 6, "y": 16}})
    (project / "later.json").write_text(json.dumps(document))
    result = run_obs("import", "--root", str(project), str(project / "later.json"))
    assert result.exit_code == 0, result.output
    source = (project / "dashboards/api_gateway_ops.py").read_text()
    assert "at(" in source and "section(" not in source
    assert 'raw_panel("row", "Later", panel_id=24, datasource=grafana.PROMETHEUS.ref(), extra={"collapsed": False})' \
        in source
    assert run_obs("build", "--root", str(project)).exit_code == 0
    expected = expected_document(project, project / "later.json")
    assert semantic_changes(expected, compiled(project, "gateway-ops")) == []
    assert compiled(project, "gateway-ops") == expected


def test_old_panel_links_come_back_as_the_data_links_grafana_migrates_them_to(project):
    """Before schemaVersion 19 a panel link pointed at a dashboard by name; DashboardMigrator's upgradePanelLink
    makes each a data link, {url, title, targetBlank}, the form Grafana saves a panel's links in (and the build
    checks: scripts/generate_grafana_schema.py correct_dashboard)."""
    document = json.loads((DATA / "host-metrics-grafana5.json").read_text())
    document["panels"][3]["links"] = [
        {"type": "dashboard", "dashboard": "Host Overview", "title": "Host overview"},
        {"type": "absolute", "url": "https://wiki.example/disk", "title": "Runbook", "targetBlank": True,
         "keepTime": True},
    ]
    (project / "linked.json").write_text(json.dumps(document))
    result = run_obs("import", "--root", str(project), str(project / "linked.json"))
    assert result.exit_code == 0, result.output
    built = run_obs("build", "--root", str(project))
    assert built.exit_code == 0, built.output
    panel = next(p for p in compiled(project, "host-metrics")["panels"] if p["title"] == document["panels"][3]["title"])
    assert panel["links"] == [{"title": "Host overview", "url": "dashboard/db/host-overview"},
                              {"targetBlank": True, "title": "Runbook",
                               "url": "https://wiki.example/disk?$__url_time_range"}]
    expected = expected_document(project, project / "linked.json")
    assert semantic_changes(expected, compiled(project, "host-metrics")) == []


def test_a_prometheus_annotation_and_an_automatic_interval_come_back_as_they_were(project):
    """What Grafana 13 saves that its v1 types do not describe (scripts/generate_grafana_schema.py
    correct_dashboard): a Prometheus annotation (its query in `target`, the plugin's options beside it) and an
    interval variable with its automatic option on. Imported, built, and the same dashboard."""
    document = json.loads((DATA / "evaluation-quality-grafana11.json").read_text())
    annotation = {"datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, "enable": True,
                  "iconColor": "purple", "name": "Worker restarts",
                  "target": {"expr": 'changes(process_start_time_seconds{job="celery-worker"}[5m]) > 0',
                             "interval": "60s", "refId": "Anno"},
                  "titleFormat": "worker restarted", "tagKeys": "instance", "textFormat": "",
                  "useValueForTime": False}
    window = {"auto": True, "auto_count": 20, "auto_min": "30s", "hide": 0, "label": "Window", "name": "window",
              "current": {"text": "auto", "value": "$__auto_interval_window"}, "query": "1m,5m", "refresh": 2,
              "type": "interval", "options": [{"selected": True, "text": "auto", "value": "$__auto_interval_window"},
                                              {"selected": False, "text": "1m", "value": "1m"},
                                              {"selected": False, "text": "5m", "value": "5m"}]}
    document["annotations"]["list"].append(annotation)
    document["templating"]["list"].append(window)
    (project / "annotated.json").write_text(json.dumps(document))
    result = run_obs("import", "--root", str(project), str(project / "annotated.json"))
    assert result.exit_code == 0, result.output
    built = run_obs("build", "--root", str(project))
    assert built.exit_code == 0, built.output
    dashboard = compiled(project, "eval-quality")
    assert dashboard["annotations"]["list"][-1] == {**annotation, "datasource": {"type": "prometheus",
                                                                                "uid": "obs-prometheus"}}
    [variable] = [v for v in dashboard["templating"]["list"] if v["name"] == "window"]
    assert (variable["auto"], variable["auto_count"], variable["auto_min"]) == (True, 20, "30s")
    expected = expected_document(project, project / "annotated.json")
    assert semantic_changes(expected, dashboard) == [] and dashboard == expected
