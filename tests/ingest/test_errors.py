"""`obs import`'s refusals: one line each, a non-zero exit, and nothing written at all (every input is read,
migrated, generated and proven before the first file is written)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from helpers import run_obs, tree_digest
from ingest.helpers_ingest import DATA


def snapshot(project: Path) -> dict[str, str]:
    exclusions = project / "lint-exclusions.yml"
    return {**tree_digest(project, "dashboards"), "exclusions": exclusions.read_text() if exclusions.exists() else ""}


def refused(project: Path, *args: str) -> list[str]:
    """The import fails, says nothing was written, and wrote nothing; its error lines."""
    before = snapshot(project)
    result = run_obs("import", "--root", str(project), *args)
    assert result.exit_code == 1, result.output
    assert snapshot(project) == before, "a refused import must write nothing"
    assert result.stderr.rstrip().endswith("nothing written")
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def write(project: Path, name: str, document: object) -> str:
    path = project / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


def test_a_file_that_is_not_a_dashboard(project):
    [line] = refused(project, write(project, "settings.json", {"apiKey": "x", "theme": "dark"}))
    assert line == ("error: settings.json: $: not a Grafana dashboard: expected a dashboard (a title and panels or "
                    "rows), an /api/dashboards/uid answer ({dashboard, meta}) or a dashboard.grafana.app resource; "
                    "found keys apiKey, theme")


def test_a_file_that_is_not_json_and_one_that_is_a_list(project):
    lines = refused(project, write(project, "broken.json", '{"title": "x",'), write(project, "list.json", [1]))
    assert lines[0].startswith("error: broken.json: not JSON: Expecting property name enclosed in double quotes")
    assert lines[1].startswith("error: list.json: $: not a Grafana dashboard") and lines[1].endswith("got a JSON array")


def test_another_kind_of_resource(project):
    resource = {"apiVersion": "folder.grafana.app/v1beta1", "kind": "Folder", "metadata": {"name": "f"}, "spec": {}}
    [line] = refused(project, write(project, "folder.json", resource))
    assert line.startswith("error: folder.json: $.apiVersion: not a Grafana dashboard") and "folder.grafana.app" in line


def test_one_bad_file_stops_the_good_ones_too(project):
    good = str(DATA / "gateway-grafana7.json")
    [line] = refused(project, good, write(project, "bad.json", {"nothing": True}))
    assert "bad.json" in line
    assert not (project / "dashboards" / "api_gateway_ops.py").exists()


def test_a_module_that_exists_is_not_overwritten_without_force(project):
    compiled = project / "monitoring/grafana/dashboards/obs-system-overview.json"
    [line] = refused(project, str(compiled))
    assert line == ("error: dashboards/system_overview.py: already exists (it defines dashboard "
                    "'obs-system-overview'): pass --force to overwrite it with "
                    "monitoring/grafana/dashboards/obs-system-overview.json")
    result = run_obs("import", "--root", str(project), "--force", str(compiled))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("overwrote dashboards/system_overview.py <- ")


def test_a_module_of_another_dashboard_with_the_same_name(project):
    """A foreign dashboard titled like an existing module's: the module is another dashboard's, so --force is
    needed, and the message says whose it is."""
    document = json.loads((DATA / "gateway-grafana7.json").read_text())
    document["title"] = "Container Overview"
    [line] = refused(project, write(project, "other.json", document))
    assert line.startswith("error: dashboards/container_overview.py: already exists (it defines dashboard "
                           "'obs-container-overview'): pass --force")


def test_a_panel_type_with_no_builder_is_a_warned_pass_through(project):
    shutil.copy(DATA / "evaluation-quality-grafana11.json", project / "quality.json")
    result = run_obs("import", "--root", str(project), str(project / "quality.json"))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: quality.json: panel 'Success rate' (id 2): pass-through (a gauge panel, which no builder of "
        "obs.author.panels writes)",
        "warning: quality.json: panel 'Tokens by model' (id 4): pass-through (a piechart panel, which no builder of "
        "obs.author.panels writes)",
        "warning: quality.json: panel 'P95 processing time by model' (id 5): pass-through (a bargauge panel, which no "
        "builder of obs.author.panels writes)",
    ]
    source = (project / "dashboards/evaluation_quality.py").read_text()
    assert re.search(r'# Pass-through: a gauge panel, which no builder of obs\.author\.panels writes\.\n(# .*\n)*'
                     r'success_rate = raw_panel\(\n    "gauge",', source)


def test_a_datasource_the_project_cannot_stand_in_for(project):
    document = json.loads((DATA / "gateway-grafana7.json").read_text())
    document["panels"][1]["datasource"] = {"type": "loki", "uid": "logs-prod"}
    document["panels"][1]["targets"][0]["datasource"] = {"type": "loki", "uid": "logs-prod"}
    lines = refused(project, write(project, "logs.json", document))
    assert lines[0] == ("error: logs.json: dashboard 'gateway-ops': $.panels[1].datasource: datasource 'logs-prod' "
                        "(a loki datasource) is not provisioned by datasources/ and datasources/ provisions none of "
                        "its type to use instead")
    assert len(lines) == 2 and "$.panels[1].targets[0].datasource" in lines[1]


def test_two_files_of_one_dashboard(project):
    first = str(DATA / "gateway-grafana7.json")
    second = write(project, "copy.json", json.loads((DATA / "gateway-grafana7.json").read_text()))
    [line] = refused(project, first, second)
    assert line.startswith("error: copy.json: dashboard 'gateway-ops': $.uid: also imported from ")


def test_what_the_pinned_model_cannot_hold_is_refused(project):
    """Grafana 13's model has no field for Grafana 11's table footer: switched off the import drops it, shown
    it cannot, and says so."""
    document = json.loads((DATA / "evaluation-quality-grafana11.json").read_text())
    document["panels"][5]["options"]["footer"] = {"show": True, "reducer": ["sum"], "fields": ""}
    [line] = refused(project, write(project, "footer.json", document))
    assert line == ("error: footer.json: dashboard 'eval-quality': $.panels[5].options.footer: panel 6: footer "
                    "{'show': True, 'reducer': ['sum'], 'fields': ''} is not in Grafana 13's dashboard model, and obs "
                    "build would refuse it")


def test_nothing_to_import_is_a_usage_error(project):
    result = run_obs("import", "--root", str(project))
    assert result.exit_code == 2
    assert "nothing to import: give dashboard files, or --uid / --folder with --grafana-url" in result.stderr


@pytest.mark.parametrize("option", ["--uid", "--folder"])
def test_live_options_need_a_grafana(project, option):
    result = run_obs("import", "--root", str(project), option, "x",
                     env={"GRAFANA_URL": None, "GRAFANA_TOKEN": None, "GRAFANA_USER": None, "GRAFANA_PASSWORD": None})
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: no Grafana URL: pass --grafana-url or set GRAFANA_URL"


def test_a_v2_project_refuses_a_dashboard_without_a_v2_form(project):
    """A project that deploys schema v2 builds each dashboard's v2 form too: the import asks the same first."""
    marker = project / "pyproject.toml"
    marker.write_text(marker.read_text().replace("[tool.obs]\n", '[tool.obs]\ndashboard-schema = "v2"\n'))
    lines = refused(project, str(DATA / "host-metrics-grafana5.json"))
    assert lines[0].startswith("error: ") and "host-metrics-grafana5.json -> monitoring/grafana/dashboards/" \
        "host-metrics.json: dashboard 'host-metrics' panel 'Uptime' (id 2): $.panels[0].links: no " \
        "dashboard.grafana.app/v2 form: " in lines[0]
    shutil.copy(DATA / "worker-queues-grafana13.v2.json", project / "queues.json")
    result = run_obs("import", "--root", str(project), str(project / "queues.json"))
    assert result.exit_code == 0, result.output
    assert run_obs("build", "--root", str(project)).exit_code == 0
    # A v2 sort order past numericalDesc has a v1 number but no v2 name on the way back (Grafana's
    # transformVariableSortToEnum maps 0-4), so a v2 project cannot take it.
    resource = json.loads((DATA / "worker-queues-grafana13.v2.json").read_text())
    resource["spec"]["variables"][1]["spec"]["sort"] = "alphabeticalCaseInsensitiveAsc"
    [line] = refused(project, "--force", write(project, "sorted.json", resource))
    assert line.endswith("dashboard 'worker-queues' variable 'model': $.templating.list[1].sort: no "
                         "dashboard.grafana.app/v2 form: the v2 form would read back as 0, not 5")


def test_exclusions_are_added_to_the_file_as_it_is(project):
    (project / "lint-exclusions.yml").write_text(
        "# Reviewed exceptions.\nexclusions:\n  - rule: panel-units\n    dashboard: obs-system-overview\n"
        "    panel: Firing alerts\n    reason: a table of alert labels has no unit\n")
    result = run_obs("import", "--root", str(project), str(DATA / "gateway-grafana7.json"))
    assert result.exit_code == 0, result.output
    text = (project / "lint-exclusions.yml").read_text()
    assert text.startswith("# Reviewed exceptions.\nexclusions:\n  - rule: panel-units\n")
    assert text.endswith('  - rule: "panel-description"\n    dashboard: "gateway-ops"\n    panel: "About failures"\n'
                         '    reason: "imported by obs import from '
                         f'{DATA / "gateway-grafana7.json"}, where it had none: give it one and remove this '
                         'exclusion"\n')
    assert run_obs("lint", "--root", str(project), "--list-rules").exit_code == 0
    assert run_obs("build", "--root", str(project)).exit_code == 0


def test_an_exclusions_file_it_cannot_add_to_stops_the_import(project):
    (project / "lint-exclusions.yml").write_text("exclusions:\n  - rule: panel-units\n    reason: x\n"
                                                 "notes: kept at the end\n")
    [line] = refused(project, str(DATA / "gateway-grafana7.json"))
    assert line == ("error: lint-exclusions.yml: cannot add the exclusions the import needs: its `exclusions` list "
                    "is not the last part of the file")


def test_without_ruff_the_module_is_written_unformatted_and_still_builds_back(project, monkeypatch):
    from obs.ingest import code

    monkeypatch.setattr(code, "find_ruff", lambda: None)
    result = run_obs("import", "--root", str(project), "--force",
                     str(project / "monitoring/grafana/dashboards/obs-container-overview.json"))
    assert result.exit_code == 0, result.output
    assert "warning: ruff is not installed: the modules are written unformatted (pip install ruff)" in result.stderr
    before = (project / "monitoring/grafana/dashboards/obs-container-overview.json").read_bytes()
    assert run_obs("build", "--root", str(project), "--no-cache").exit_code == 0
    assert (project / "monitoring/grafana/dashboards/obs-container-overview.json").read_bytes() == before
