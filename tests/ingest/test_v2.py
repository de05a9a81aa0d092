"""`obs import` of a dashboard Grafana 13 stores in schema v2, read as `GET /apis/dashboard.grafana.app/v2/namespaces/
default/dashboards/<uid>` returns it. The resource in tests/ingest/data was written by hand (not by obs's own
to_v2_spec): the server's metadata, and a spec of the v2 schema committed under obs/schemas with what obs never
writes itself (rows, one collapsed, panels in a row that do not flow like sections, transformations, a datasource
variable the queries go through, dashboard and data links, a hidden query, query options, the editor's
`preferences`). Every expected value below is read off the resource by hand, not from obs's output."""

from __future__ import annotations

import copy
import json
import re

import jsonschema
import pytest

from obs.compile.dashboard_json import DashboardShapeError
from obs.compile.dashboard_v2 import to_v2_spec
from obs.ingest.read import read_document

from helpers import REPO, copy_project, run_obs
from ingest.helpers_ingest import (
    DATA,
    comment_above,
    compiled,
    expected_document,
    finding_listed,
    lint_lines,
    load,
    ruff_clean,
    semantic_changes,
)

V2 = "worker-queues-grafana13.v2.json"
UID = "worker-queues"
MODULE = "dashboards/worker_queues.py"
SCHEMA = REPO / "obs/schemas/grafana-13.2.3/dashboard-v2.schema.json"
VARIABLE = {"type": "prometheus", "uid": "${datasource}"}


@pytest.fixture(scope="module")
def resource():
    return load(V2)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("v2") / "project")
    (project / V2).write_text((DATA / V2).read_text())
    result = run_obs("import", "--root", str(project), str(project / V2))
    assert result.exit_code == 0, result.output
    built = run_obs("build", "--root", str(project))
    assert built.exit_code == 0, built.output
    return project, result, (project / MODULE).read_text()


def test_the_resource_is_what_grafana_13_serves(resource):
    assert (resource["apiVersion"], resource["kind"], resource["status"]) == ("dashboard.grafana.app/v2", "Dashboard",
                                                                              {})
    metadata = resource["metadata"]
    assert metadata["name"] == UID and metadata["namespace"] == "default"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", metadata["uid"])
    assert metadata["resourceVersion"].isdigit() and isinstance(metadata["generation"], int)
    assert set(metadata["annotations"]) == {"grafana.app/createdBy", "grafana.app/folder", "grafana.app/saved-from-ui",
                                            "grafana.app/updatedBy", "grafana.app/updatedTimestamp"}
    assert set(metadata["labels"]) == {"grafana.app/deprecatedInternalID"}


def test_the_spec_follows_the_committed_v2_schema(resource):
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(resource["spec"])] == []
    # The check can fail: a query group without its queryOptions, a row item that is no GridLayoutItem.
    broken = copy.deepcopy(resource["spec"])
    del broken["elements"]["panel-4"]["spec"]["data"]["spec"]["queryOptions"]
    broken["layout"]["spec"]["rows"][2]["spec"]["layout"]["spec"]["items"][0]["kind"] = "GridItem"
    assert len(list(validator.iter_errors(broken))) >= 2


def test_obs_would_not_have_written_it(resource, imported):
    """What obs's own v1 -> v2 conversion makes of the imported dashboard is another spec: the resource is not
    obs's output read back."""
    project, _, _ = imported
    spec = resource["spec"]
    try:
        by_obs: object = to_v2_spec(compiled(project, UID))
    except DashboardShapeError as error:  # a sort order Grafana's v1 -> v2 conversion has no name for
        by_obs = str(error)
    assert by_obs != spec
    assert "preferences" in spec and [r["spec"]["collapse"] for r in spec["layout"]["spec"]["rows"]] == [False, False,
                                                                                                        True]
    assert [v["kind"] for v in spec["variables"]] == ["DatasourceVariable", "QueryVariable"]
    assert spec["elements"]["panel-4"]["spec"]["data"]["spec"]["transformations"]


def test_it_imports_and_builds_back(imported):
    project, result, source = imported
    assert result.stdout.startswith(f"wrote {MODULE} <- {V2}: dashboard 'worker-queues' 'Worker queues', 8 panels")
    assert result.stdout.splitlines()[0].endswith("read from schema v2")
    expected = expected_document(project, project / V2)
    document = compiled(project, UID)
    assert semantic_changes(expected, document) == [] and document == expected
    assert f"imported by `obs import` from {V2} (dashboard.grafana.app/v2" in source
    assert ruff_clean(project / MODULE) == []


def test_what_the_resource_says_is_in_the_dashboard(resource, imported):
    project, _, source = imported
    document = compiled(project, UID)
    rows = [p for p in document["panels"] if p["type"] == "row"]
    # Three rows stacked: a header is one unit high, the Queue row's tallest panel 8, the Latency row's 8.
    assert [(r["title"], r["collapsed"], r["gridPos"]["y"]) for r in rows] == [("Queue", False, 0), ("Latency", False,
                                                                                                     9),
                                                                              ("Failures", True, 18)]
    # The collapsed row holds its two panels (ids 7 and 8), one unit below its header.
    assert [(p["id"], p["gridPos"]["y"]) for p in rows[2]["panels"]] == [(7, 19), (8, 19)]
    panels = {p["id"]: p for top in document["panels"] for p in (top, *(top.get("panels") or []))
              if p["type"] != "row"}
    assert sorted(panels) == list(range(1, 9))
    # Queries through the datasource variable stay on it; the text panel has none.
    assert {json.dumps(t["datasource"]) for p in panels.values() for t in p.get("targets", [])} == {
        json.dumps(VARIABLE)}
    assert "targets" not in panels[6] and panels[6]["options"]["mode"] == "markdown"
    assert [t["id"] for t in panels[4]["transformations"]] == ["organize", "sortBy"]
    assert panels[4]["transformations"][0]["options"]["renameByName"] == {"Value": "P95", "model": "Model"}
    assert [t.get("hide", False) for t in panels[5]["targets"]] == [False, True]
    assert (panels[3]["interval"], panels[3]["maxDataPoints"]) == ("30s", 500)
    assert panels[3]["fieldConfig"]["defaults"]["links"][0]["title"] == "Traces of ${__field.labels.model}"
    assert panels[8]["type"] == "gauge" and panels[8]["fieldConfig"]["defaults"]["max"] == 1
    variable = document["templating"]["list"][0]
    assert (variable["type"], variable["name"], variable["query"], variable["current"]["value"]) == (
        "datasource", "datasource", "prometheus", "P1809F7CD0C75ACF3")
    assert document["templating"]["list"][1]["datasource"] == VARIABLE
    assert [(link["type"], link["title"]) for link in document["links"]] == [
        ("dashboards", "Evaluation dashboards"), ("link", "Worker runbook")]
    assert (document["graphTooltip"], document["refresh"], document["weekStart"], document["time"]) == (
        1, "1m", "monday", {"from": "now-24h", "to": "now"})
    assert document["timepicker"] == {"refresh_intervals": ["30s", "1m", "5m", "15m", "1h"]}
    # The layout does not flow like sections (a 4-high stat beside an 8-high graph): each panel at its place.
    assert "at(" in source and "section(" not in source


def test_the_folder_and_what_reading_dropped(resource, imported):
    _, _, source = imported
    incoming = read_document(V2, copy.deepcopy(resource))
    assert incoming.folder == "ops" and incoming.form == "dashboard.grafana.app/v2 resource"
    assert [note.split(":")[0] for note in incoming.notes] == ["spec.preferences dropped"]
    assert "- spec.preferences dropped: the layout the dashboard editor gives new rows and tabs" in source


def test_every_lint_finding_is_a_comment_above_its_panel(imported):
    """The build's lint findings for the imported dashboard, each above the panel it is about (not just anywhere in
    the module), and the count the import printed."""
    project, result, source = imported
    findings = [f for f in lint_lines(project) if f"dashboards/{UID}.json" in f]
    assert findings, "the resource breaks the project's lint rules"
    assert f"  {len(findings)} obs lint findings listed as comments in the module" in result.stdout
    names = {"In flight": "in_flight", "Slowest models (P95)": "slowest_models_p95"}
    for finding in findings:
        assert finding_listed(source, finding), finding
        title = re.search(r"panel '([^']+)'", finding).group(1)
        message = re.search(r"(\[[a-z-]+\] .*)$", finding).group(1)
        assert f"obs lint: {message}" in comment_above(source, names[title]), (title, message)
    # In flight sums counters without rate(): one finding per counter, the three the query reads.
    assert sorted(re.findall(r"counter (\w+) is used", " ".join(comment_above(source, "in_flight")))) == [
        "evaluations_failed_total", "evaluations_success_total", "evaluations_total"]
