"""Dashboard schema v2 as a second compile target: the v2 form of each dashboard is valid and says what the
v1 file says (the semantic diff of the round trip is empty), Grafana's conversion rules hold on a small
dashboard with every layout case, the notes' worked example comes out exactly, and what v2 cannot say is
refused with a JSON path."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from obs.check.dashboard_v2 import check_dashboard_v2
from obs.compile.dashboard_json import DashboardShapeError, modernize
from obs.compile.dashboard_v2 import API_VERSION, DEFAULT_REFRESH_INTERVALS, from_v2_spec, to_v2_spec
from obs.compile.pipeline import build as build_artifacts
from obs.core import schemas
from obs.core.documents import panels_with_paths
from obs.core.paths import DASHBOARD_DIR, dashboard_file
from obs.diff import diff_documents

from helpers import REPO, edit, failing_build, run_obs, tree_digest

DATA = Path(__file__).parent / "data"
PROM = {"type": "prometheus", "uid": "${datasource}"}
TEMPO = {"type": "tempo", "uid": "obs-tempo"}


def compiled_dashboards() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((REPO / DASHBOARD_DIR).glob("*.json"))}


def schema_findings(spec: dict) -> list:
    from catalog.versions import GRAFANA_VERSION

    validator = schemas.validator(f"grafana-{GRAFANA_VERSION}/dashboard-v2.schema.json")
    assert validator is not None
    return validator.findings(spec)


def item_of(spec: dict, element: str) -> dict:
    """The layout item that places `element`."""
    for row in spec["layout"]["spec"]["rows"]:
        for item in row["spec"]["layout"]["spec"]["items"]:
            if item["spec"]["element"]["name"] == element:
                return item
    raise AssertionError(f"{element} is not placed")


def round_trip_changes(v1: dict, spec: dict) -> list[dict]:
    """What the semantic diff says between the v1 document and the v1 read back from `spec`."""
    path = dashboard_file(v1["uid"])
    report = diff_documents({path: v1}, {path: from_v2_spec(spec, v1["uid"])})
    return [change.to_dict() for section in report.sections for change in section.changes]


# --- The project's dashboards ---------------------------------------------------------------------------------

def test_the_project_has_three_dashboards():
    assert sorted(compiled_dashboards()) == ["obs-container-overview", "obs-evaluation-analytics",
                                             "obs-system-overview"]


@pytest.mark.parametrize("uid", sorted(compiled_dashboards()))
def test_each_dashboard_has_a_valid_v2_form_that_says_the_same(uid):
    v1 = compiled_dashboards()[uid]
    spec = to_v2_spec(v1)
    assert schema_findings(spec) == []
    assert check_dashboard_v2(spec, f"{uid}.v2", uid) == []
    panels = [p for p in v1["panels"] if p["type"] != "row"]
    assert sorted(spec["elements"]) == sorted(f"panel-{p['id']}" for p in panels)
    rows = spec["layout"]["spec"]["rows"]
    assert [r["spec"]["title"] for r in rows] == [p["title"] for p in v1["panels"] if p["type"] == "row"]
    assert round_trip_changes(v1, spec) == []
    # Stronger than the semantic diff: the very document comes back.
    assert from_v2_spec(spec, uid) == v1


# Where System Overview places Host CPU usage (the first of its row): the position change below moves it right.
CPU_Y = next(p["gridPos"]["y"] for p in compiled_dashboards()["obs-system-overview"]["panels"]
             if p["title"] == "Host CPU usage")


@pytest.mark.parametrize(("break_it", "expected"), [
    pytest.param(lambda s: s["elements"]["panel-9787"]["spec"]["vizConfig"]["spec"]["fieldConfig"]["defaults"]
                 .pop("unit"),
                 {"subject_kind": "panel", "subject": "Host CPU usage", "action": "changed", "field": "unit",
                  "old": "percentunit", "ref": {"old_id": 9787, "new_id": 9787}}, id="unit"),
    pytest.param(lambda s: s["elements"]["panel-9787"]["spec"]["vizConfig"]["spec"]["fieldConfig"]["defaults"]
                 ["thresholds"]["steps"][1].update(value=0.5),
                 {"subject_kind": "panel", "subject": "Host CPU usage", "action": "changed", "field": "thresholds",
                  "old": "green, 0.75 orange, 0.9 red", "new": "green, 0.5 orange, 0.9 red",
                  "ref": {"old_id": 9787, "new_id": 9787}}, id="thresholds"),
    pytest.param(lambda s: s["elements"]["panel-9787"]["spec"]["data"]["spec"]["queries"][0]["spec"]["query"]
                 ["spec"].update(legendFormat="{{job}}"),
                 {"subject_kind": "panel", "subject": "Host CPU usage", "action": "changed",
                  "field": "query A.legendFormat", "old": "{{instance}}", "new": "{{job}}",
                  "diff": ["-{{instance}}", "+{{job}}"], "ref": {"old_id": 9787, "new_id": 9787}}, id="query"),
    pytest.param(lambda s: item_of(s, "panel-9787")["spec"].update(x=4),
                 {"subject_kind": "panel", "subject": "Host CPU usage", "action": "moved", "field": "position",
                  "old": f"x=0 y={CPU_Y}", "new": f"x=4 y={CPU_Y}", "ref": {"old_id": 9787, "new_id": 9787}},
                 id="position"),
    pytest.param(lambda s: s["variables"][1]["spec"].update(refresh="onDashboardLoad"),
                 {"subject_kind": "variable", "subject": "instance", "action": "changed", "field": "refresh",
                  "old": 2, "new": 1}, id="variable"),
    pytest.param(lambda s: s["links"][0].update(keepTime=False),
                 {"subject_kind": "dashboard", "subject": "System Overview", "action": "changed",
                  "field": "links[0].keepTime", "old": True, "new": False}, id="link"),
])
def test_a_broken_conversion_gives_a_non_empty_diff(break_it, expected):
    v1 = compiled_dashboards()["obs-system-overview"]
    spec = to_v2_spec(v1)
    break_it(spec)
    assert round_trip_changes(v1, spec) == [expected]


def test_grafanas_own_reverse_row_offset_would_show_as_moved_panels():
    """v2alpha1_to_v1beta1.go extractExpandedPanels puts a panel of an expanded row at item y + row y, one unit
    higher than it was, and the next row starts where that panel ends: compared with the v1 file, the panels of
    the n-th row would move up by n units and the n-th row itself by n - 1."""
    v1 = compiled_dashboards()["obs-container-overview"]
    spec = to_v2_spec(v1)
    for row in spec["layout"]["spec"]["rows"]:
        for item in row["spec"]["layout"]["spec"]["items"]:
            item["spec"]["y"] -= 1
    expected, rows_seen = [], 0
    for panel in v1["panels"]:
        x, y = panel["gridPos"]["x"], panel["gridPos"]["y"]
        rows_seen += panel["type"] == "row"
        shift = rows_seen - 1 if panel["type"] == "row" else rows_seen
        if shift:
            expected.append((panel["title"], f"x={x} y={y}", f"x={x} y={y - shift}"))
    changes = round_trip_changes(v1, spec)
    assert [(c["subject"], c["old"], c["new"]) for c in changes] == expected
    rows = sum(panel["type"] == "row" for panel in v1["panels"])
    assert {c["action"] for c in changes} == {"moved"} and len(expected) == len(v1["panels"]) - 1 and rows > 1


# --- A small dashboard with every case --------------------------------------------------------------------------

RAW = {
    "uid": "v2-small", "title": "Small", "time": {"from": "now-1h", "to": "now"}, "refresh": "1m", "graphTooltip": 2,
    "links": [{"title": "Home", "url": "/d/home", "keepTime": True, "type": "link"},
              {"title": "Related", "type": "dashboards", "tags": ["obs"], "asDropdown": True, "includeVars": True}],
    "panels": [
        {"id": 1, "type": "text", "title": "Read me", "description": "What this dashboard shows.",
         "gridPos": {"x": 0, "y": 0, "w": 24, "h": 3}, "options": {"content": "Hello", "mode": "markdown"}},
        {"id": 2, "type": "stat", "title": "Up", "description": "Targets up.",
         "gridPos": {"x": 0, "y": 3, "w": 12, "h": 4},
         "datasource": PROM, "targets": [{"expr": "sum(up)", "refId": "A", "instant": True}],
         "fieldConfig": {"defaults": {"unit": "short", "decimals": 1,
                                      "mappings": [{"type": "value", "options": {"0": {"text": "down"}}}],
                                      "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": None},
                                                                                   {"color": "green", "value": 1}]}}}},
        {"type": "row", "title": "Hosts", "collapsed": False, "gridPos": {"x": 0, "y": 7, "w": 24, "h": 1},
         "panels": []},
        {"id": 3, "type": "timeseries", "title": "CPU", "description": "CPU busy.",
         "gridPos": {"x": 0, "y": 8, "w": 12, "h": 8},
         "repeat": "instance", "repeatDirection": "h", "maxPerRow": 4, "datasource": PROM, "interval": "1m",
         "timeFrom": "3h", "hideTimeOverride": True,
         "targets": [{"expr": "rate(node_cpu_seconds_total[5m])", "refId": "A", "legendFormat": "{{cpu}}"},
                     {"expr": "up", "refId": "B", "hide": True}],
         "fieldConfig": {"defaults": {"unit": "percentunit", "min": 0, "max": 1,
                                      "thresholds": {"mode": "percentage", "steps": [{"color": "green", "value": None},
                                                                                     {"color": "red", "value": 90}]}}}},
        {"id": 4, "type": "table", "title": "Targets", "description": "Scrape targets.",
         "gridPos": {"x": 12, "y": 8, "w": 12, "h": 8},
         "datasource": PROM, "targets": [{"expr": "up", "refId": "A", "instant": True}],
         "transformations": [{"id": "organize", "options": {"excludeByName": {"Time": True}}}],
         "fieldConfig": {"defaults": {"unit": "none"}}},
        {"type": "row", "title": "Traces", "collapsed": True, "gridPos": {"x": 0, "y": 16, "w": 24, "h": 1}, "panels": [
            {"id": 5, "type": "table", "title": "Slow traces", "description": "Slowest traces.",
             "gridPos": {"x": 0, "y": 17, "w": 24, "h": 6}, "datasource": TEMPO,
             "targets": [{"query": "{duration > 5s}", "queryType": "traceql", "refId": "A", "limit": 20}],
             "fieldConfig": {"defaults": {"unit": "ns"}}}]},
        {"type": "row", "title": "Empty", "collapsed": False, "gridPos": {"x": 0, "y": 17, "w": 24, "h": 1},
         "panels": []},
    ],
    "templating": {"list": [
        {"type": "datasource", "name": "datasource", "label": "Data source", "query": "prometheus"},
        {"type": "query", "name": "instance", "label": "Host", "query": "label_values(up, instance)",
         "datasource": PROM, "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2, "sort": 1},
        {"type": "custom", "name": "quantile", "label": "Quantile", "query": "0.5,0.9,0.99",
         "current": {"text": "0.9", "value": "0.9"}},
        {"type": "textbox", "name": "price", "label": "Price", "query": "3", "description": "USD per 1M tokens"},
        {"type": "constant", "name": "team", "query": "evals", "hide": 2},
    ]},
}


@pytest.fixture
def small() -> dict:
    """The small dashboard as obs compiles it."""
    return modernize(RAW)


def item(name: str, x: int, y: int, width: int, height: int, **extra) -> dict:
    return {"kind": "GridLayoutItem", "spec": {"x": x, "y": y, "width": width, "height": height,
                                               "element": {"kind": "ElementReference", "name": name}, **extra}}


def test_small_dashboard_layout_rows_collapsed_row_and_panels_above_the_first_row(small):
    spec = to_v2_spec(small)
    assert spec["layout"] == {"kind": "RowsLayout", "spec": {"rows": [
        # Panels above the first row: a row without header, never collapsed, its panels at their own y.
        {"kind": "RowsLayoutRow", "spec": {"collapse": False, "title": "", "hideHeader": True, "layout": {
            "kind": "GridLayout", "spec": {"items": [item("panel-1", 0, 0, 24, 3), item("panel-2", 0, 3, 12, 4)]}}}},
        # An expanded row: its panels below it, y counted from under the row header (8 - 7 - 1).
        {"kind": "RowsLayoutRow", "spec": {"collapse": False, "title": "Hosts", "layout": {
            "kind": "GridLayout", "spec": {"items": [
                item("panel-3", 0, 0, 12, 8,
                     repeat={"mode": "variable", "value": "instance", "direction": "h", "maxPerRow": 4}),
                item("panel-4", 12, 0, 12, 8)]}}}},
        # A collapsed row: the panels it holds, y counted the same way (17 - 16 - 1).
        {"kind": "RowsLayoutRow", "spec": {"collapse": True, "title": "Traces", "layout": {
            "kind": "GridLayout", "spec": {"items": [item("panel-5", 0, 0, 24, 6)]}}}},
        {"kind": "RowsLayoutRow", "spec": {"collapse": False, "title": "Empty", "layout": {
            "kind": "GridLayout", "spec": {"items": []}}}},
    ]}}
    assert sorted(spec["elements"]) == ["panel-1", "panel-2", "panel-3", "panel-4", "panel-5"]


def test_small_dashboard_panel_queries_thresholds_and_field_config(small):
    spec = to_v2_spec(small)
    stat = spec["elements"]["panel-2"]
    assert stat == {"kind": "Panel", "spec": {
        "id": 2, "title": "Up", "description": "Targets up.", "links": [],
        "data": {"kind": "QueryGroup", "spec": {
            "queries": [{"kind": "PanelQuery", "spec": {
                "query": {"kind": "DataQuery", "group": "prometheus", "version": "v0",
                          "datasource": {"name": "${datasource}"},
                          "spec": {"editorMode": "code", "exemplar": False, "expr": "sum(up)", "format": "table",
                                   "instant": True, "legendFormat": "__auto", "range": False}},
                "refId": "A", "hidden": False}}],
            "transformations": [], "queryOptions": {}}},
        "vizConfig": {"kind": "VizConfig", "group": "stat", "version": small["panels"][1]["pluginVersion"], "spec": {
            "options": small["panels"][1]["options"],
            "fieldConfig": {"defaults": {
                "color": {"mode": "thresholds"}, "decimals": 1,
                "mappings": [{"type": "value", "options": {"0": {"text": "down"}}}],
                "thresholds": {"mode": "absolute", "steps": [{"value": None, "color": "red"},
                                                             {"value": 1, "color": "green"}]},
                "unit": "short"}, "overrides": []}}},
    }}
    cpu = spec["elements"]["panel-3"]["spec"]
    assert [q["spec"]["refId"] for q in cpu["data"]["spec"]["queries"]] == ["A", "B"]
    assert [q["spec"]["hidden"] for q in cpu["data"]["spec"]["queries"]] == [False, True]
    assert cpu["data"]["spec"]["queryOptions"] == {"interval": "1m", "timeFrom": "3h", "hideTimeOverride": True}
    defaults = cpu["vizConfig"]["spec"]["fieldConfig"]["defaults"]
    assert (defaults["unit"], defaults["min"], defaults["max"]) == ("percentunit", 0, 1)
    assert defaults["thresholds"] == {"mode": "percentage", "steps": [{"value": None, "color": "green"},
                                                                      {"value": 90, "color": "red"}]}
    assert "mappings" not in defaults  # an empty list is left out (Go omitempty)
    table = spec["elements"]["panel-4"]["spec"]
    assert table["data"]["spec"]["transformations"] == [
        {"kind": "Transformation", "group": "organize", "spec": {"options": {"excludeByName": {"Time": True}}}}]
    traces = spec["elements"]["panel-5"]["spec"]["data"]["spec"]["queries"][0]["spec"]["query"]
    assert traces == {"kind": "DataQuery", "group": "tempo", "version": "v0", "datasource": {"name": "obs-tempo"},
                      "spec": {"limit": 20, "query": "{duration > 5s}", "queryType": "traceql"}}
    text = spec["elements"]["panel-1"]["spec"]
    assert text["data"]["spec"]["queries"] == [] and text["vizConfig"]["group"] == "text"


def test_small_dashboard_variables_each_kind(small):
    common = {"hide": "dontHide", "skipUrlSync": False}
    assert to_v2_spec(small)["variables"] == [
        {"kind": "DatasourceVariable", "spec": {
            "name": "datasource", "label": "Data source", **common, "pluginId": "prometheus",
            "refresh": "onDashboardLoad", "regex": "", "current": {"text": "", "value": ""}, "options": [],
            "multi": False, "includeAll": False, "allowCustomValue": True}},
        {"kind": "QueryVariable", "spec": {
            "name": "instance", "label": "Host", **common, "current": {"text": ["All"], "value": ["$__all"]},
            "refresh": "onTimeRangeChanged",
            "query": {"kind": "DataQuery", "group": "prometheus", "version": "v0",
                      "datasource": {"name": "${datasource}"},
                      "spec": {"qryType": 1, "query": "label_values(up, instance)",
                               "refId": "PrometheusVariableQueryEditor-VariableQuery"}},
            "regex": "", "sort": "alphabeticalAsc", "options": [], "multi": True, "includeAll": True,
            "allValue": ".*", "allowCustomValue": True}},
        {"kind": "CustomVariable", "spec": {
            "name": "quantile", "label": "Quantile", **common, "query": "0.5,0.9,0.99",
            "current": {"text": "0.9", "value": "0.9"},
            "options": [{"selected": False, "text": "0.5", "value": "0.5"},
                        {"selected": True, "text": "0.9", "value": "0.9"},
                        {"selected": False, "text": "0.99", "value": "0.99"}],
            "multi": False, "includeAll": False, "allowCustomValue": True}},
        {"kind": "TextVariable", "spec": {
            "name": "price", "label": "Price", **common, "description": "USD per 1M tokens", "query": "3",
            "current": {"text": "3", "value": "3"}}},
        {"kind": "ConstantVariable", "spec": {
            "name": "team", "label": "team", "hide": "hideVariable", "skipUrlSync": False, "query": "evals",
            "current": {"text": "evals", "value": "evals"}}},
    ]


def test_small_dashboard_links_time_and_dashboard_settings(small):
    spec = to_v2_spec(small)
    assert spec["links"] == [
        {"title": "Home", "type": "link", "icon": "external link", "tooltip": "", "tags": [], "asDropdown": False,
         "targetBlank": False, "includeVars": False, "keepTime": True, "url": "/d/home"},
        {"title": "Related", "type": "dashboards", "icon": "external link", "tooltip": "", "tags": ["obs"],
         "asDropdown": True, "targetBlank": False, "includeVars": True, "keepTime": False, "url": ""}]
    assert spec["timeSettings"] == {"timezone": "browser", "from": "now-1h", "to": "now", "autoRefresh": "1m",
                                    "autoRefreshIntervals": list(DEFAULT_REFRESH_INTERVALS),
                                    "hideTimepicker": False, "fiscalYearStartMonth": 0}
    assert (spec["cursorSync"], spec["editable"], spec["liveNow"], spec["preload"]) == ("Tooltip", True, False, False)
    assert spec["tags"] == ["obs-managed"] and spec["title"] == "Small"
    assert "description" not in spec and "uid" not in spec
    assert [a["spec"]["name"] for a in spec["annotations"]] == ["Annotations & Alerts"]


def test_small_dashboard_is_valid_and_comes_back_exactly(small):
    spec = to_v2_spec(small)
    assert schema_findings(spec) == []
    assert check_dashboard_v2(spec, "small.v2", "v2-small") == []
    back = from_v2_spec(spec, "v2-small")
    assert back == small
    rows = [(p["title"], p["gridPos"]["y"], p["collapsed"], len(p["panels"])) for p in back["panels"]
            if p["type"] == "row"]
    assert rows == [("Hosts", 7, False, 0), ("Traces", 16, True, 1), ("Empty", 17, False, 0)]
    assert back["panels"][5]["panels"][0]["gridPos"] == {"h": 6, "w": 24, "x": 0, "y": 17}
    assert round_trip_changes(small, spec) == []


def test_panel_links_go_to_v2_and_back(small):
    small["panels"][1]["links"] = [{"title": "Runbook", "url": "https://runbooks/up", "targetBlank": True},
                                   {"title": "Here", "url": "/d/v2-small"}]
    spec = to_v2_spec(small)
    assert spec["elements"]["panel-2"]["spec"]["links"] == small["panels"][1]["links"]
    assert from_v2_spec(spec, "v2-small") == small


def test_a_grid_without_rows_is_a_grid_layout(small):
    small["panels"] = [p for p in small["panels"][:2]]
    spec = to_v2_spec(small)
    assert spec["layout"] == {"kind": "GridLayout", "spec": {"items": [item("panel-1", 0, 0, 24, 3),
                                                                       item("panel-2", 0, 3, 12, 4)]}}
    assert from_v2_spec(spec, "v2-small") == small


def test_the_worked_example_of_the_notes():
    """grafana-v2-conversion.md section 6: the v1 document and the v2 spec derived there, rule by rule."""
    v1 = json.loads((DATA / "example-hosts.v1.json").read_text())
    expected = json.loads((DATA / "example-hosts.v2-spec.json").read_text())
    spec = to_v2_spec(v1)
    assert spec == expected
    assert schema_findings(spec) == []
    # The example's row has id 1; v2 has no row ids, so it comes back with the id obs derives from its title.
    changes = round_trip_changes(v1, spec)
    assert changes == [{"subject_kind": "row", "subject": "Hosts", "action": "changed", "field": "id", "old": 1,
                        "new": from_v2_spec(spec, "example-hosts")["panels"][0]["id"],
                        "ref": {"old_id": 1, "new_id": changes[0]["ref"]["new_id"]}}]


def test_the_conversion_leaves_its_input_alone(small):
    before = copy.deepcopy(small)
    spec = to_v2_spec(small)
    spec["elements"]["panel-2"]["spec"]["vizConfig"]["spec"]["options"]["colorMode"] = "background"
    from_v2_spec(spec, "v2-small")["panels"][1]["options"]["textMode"] = "name"
    assert small == before


# --- What the other form cannot say ----------------------------------------------------------------------------

def shape_error(function, *args) -> str:
    with pytest.raises(DashboardShapeError) as caught:
        function(*args)
    return str(caught.value)


def test_a_gap_above_a_row_has_no_v2_form(small):
    small["panels"][2]["gridPos"]["y"] = 8
    for panel in small["panels"][3:5]:
        panel["gridPos"]["y"] += 1
    assert shape_error(to_v2_spec, small) == \
        "$.panels[2].gridPos.y: the v2 form would read back as 7, not 8"


def test_what_grafanas_conversion_drops_is_refused(small):
    small["panels"][4]["transformations"][0]["disabled"] = True
    assert shape_error(to_v2_spec, small) == ("$.panels[4].transformations[0].disabled: dashboard schema v2 cannot "
                                              "say this (Grafana's v1 -> v2 conversion drops it)")


def test_a_variable_sort_grafana_does_not_map_is_refused(small):
    small["templating"]["list"][1]["sort"] = 7
    assert shape_error(to_v2_spec, small) == "$.templating.list[1].sort: the v2 form would read back as 0, not 7"


def test_a_datasource_reference_without_type_is_refused(small):
    small["panels"][1]["datasource"] = {"uid": "obs-prometheus"}
    small["panels"][1]["targets"][0]["datasource"] = {"uid": "obs-prometheus"}
    assert shape_error(to_v2_spec, small) == (
        "$.panels[1].targets[0].datasource: datasource reference has no type: Grafana's conversion would look it "
        "up in the server's datasources (write {type, uid})")


def test_two_panels_with_one_id_are_refused(small):
    small["panels"][4]["id"] = 3
    assert shape_error(to_v2_spec, small) == \
        "$.panels[4].id: panel id 3 is also used at $.panels[3]: both would be element 'panel-3'"


@pytest.mark.parametrize(("change", "expected"), [
    (lambda s: s.update(layout={"kind": "TabsLayout", "spec": {"tabs": []}}),
     "$.layout.kind: layout 'TabsLayout' has no v1 form obs compiles (GridLayout or RowsLayout)"),
    (lambda s: s["elements"].update({"panel-9": s["elements"]["panel-2"]}),
     "$.elements.panel-9: element 'panel-9' is not placed in the layout"),
    (lambda s: s["layout"]["spec"]["rows"][1]["spec"]["layout"]["spec"]["items"][0]["spec"]["element"]
     .update(name="panel-99"),
     "$.layout.spec.rows[1].spec.layout.spec.items[0].spec.element.name: element 'panel-99' is not in $.elements"),
    (lambda s: s["layout"]["spec"]["rows"][1]["spec"]["layout"]["spec"]["items"][1]["spec"]["element"]
     .update(name="panel-1"),
     "$.layout.spec.rows[1].spec.layout.spec.items[1].spec.element.name: element 'panel-1' is already placed at "
     "$.layout.spec.rows[0].spec.layout.spec.items[0]"),
    (lambda s: s["layout"]["spec"]["rows"][2]["spec"].update(hideHeader=True),
     "$.layout.spec.rows[2].spec.hideHeader: only the first row can have no header in v1 (it holds the panels "
     "above the first row)"),
    (lambda s: s["elements"]["panel-2"]["spec"].update(subtitle="more"),
     "$.elements.panel-2.spec.subtitle: has no v1 form obs compiles"),
    (lambda s: s["variables"].append({"kind": "AdhocVariable", "spec": {"name": "filters"}}),
     "$.variables[5].kind: variable kind 'AdhocVariable' is not one obs compiles (DatasourceVariable, "
     "QueryVariable, CustomVariable, TextVariable, ConstantVariable)"),
])
def test_v2_that_obs_v1_cannot_say_is_refused(small, change, expected):
    spec = to_v2_spec(small)
    change(spec)
    assert shape_error(from_v2_spec, spec, "v2-small") == expected


def test_a_library_panel_element_is_refused(small):
    spec = to_v2_spec(small)
    spec["elements"]["panel-2"] = {"kind": "LibraryPanel", "spec": {"id": 2, "title": "Up",
                                                                    "libraryPanel": {"uid": "u", "name": "n"}}}
    assert shape_error(from_v2_spec, spec, "v2-small") == \
        "$.elements.panel-2.kind: element kind 'LibraryPanel' is not one obs compiles (Panel)"


# --- The project setting and the build ------------------------------------------------------------------------

def set_schema(project: Path, value: str) -> None:
    edit(project, "pyproject.toml", "[tool.obs]\n", f'[tool.obs]\ndashboard-schema = "{value}"\n')


def test_with_v2_the_build_checks_the_v2_forms_and_writes_the_same_v1_files(project):
    set_schema(project, "v2")
    before = tree_digest(project)
    result = run_obs("build", "--check", "--root", str(project))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{len(build_artifacts(project))} files up to date\n"
    assert tree_digest(project) == before


def test_with_v2_a_dashboard_v2_cannot_say_fails_the_build(project):
    edit(project, "dashboards/container_overview.py", '{"id": "organize", ', '{"id": "organize", "disabled": True, ')
    assert run_obs("build", "--root", str(project)).exit_code == 0  # v1 (the default) can say it
    document = json.loads((project / DASHBOARD_DIR / "obs-container-overview.json").read_text())
    [index] = [i for i, panel in enumerate(document["panels"]) if panel["title"] == "Restarts by container"]
    set_schema(project, "v2")
    assert failing_build(project) == [
        "error: dashboards/container_overview.py -> monitoring/grafana/dashboards/obs-container-overview.json: "
        "dashboard 'obs-container-overview' panel 'Restarts by container' (id 3877): "
        f"$.panels[{index}].transformations[0].disabled: no {API_VERSION} form: dashboard schema v2 cannot say this "
        "(Grafana's v1 -> v2 conversion drops it)"]


def test_with_v2_an_invalid_v2_form_fails_the_build_one_line_per_problem(project, monkeypatch):
    """A conversion that wrote an invalid spec (here: a panel without its vizConfig version) is caught by the
    v2 checks of the build, each problem on its own line. (The pipeline itself: a patched function is not an
    input a build cache could know about.)"""
    import obs.compile.dashboard_v2 as stage
    from obs.compile.pipeline import build
    from obs.core.errors import BuildError

    def broken(document):
        spec = to_v2_spec(document)
        for element in spec["elements"].values():
            del element["spec"]["vizConfig"]["version"]
        return spec

    monkeypatch.setattr(stage, "to_v2_spec", broken)
    set_schema(project, "v2")
    with pytest.raises(BuildError) as caught:
        build(project)
    lines = [str(problem) for problem in caught.value.problems]
    panels = [p for d in compiled_dashboards().values() for p, _ in panels_with_paths(d) if p["type"] != "row"]
    assert len(lines) == len(panels) > 40  # one line per panel of the three dashboards
    assert (
        "dashboards/container_overview.py -> dashboard.grafana.app/v2 obs-container-overview: dashboard "
        "'obs-container-overview' element 'panel-3877' panel 'Restarts by container' (id 3877): "
        "$.elements.panel-3877.spec.vizConfig: 'version' is a required property") in lines



def test_what_a_resource_keeps_in_its_metadata_is_not_refused(small):
    """uid is metadata.name and version the generation of a v2 resource; Grafana's conversion leaves both (and
    the database id) out of the spec, so a v1 document carrying them still converts."""
    expected = to_v2_spec(small)
    small.update(id=12, version=3)
    assert to_v2_spec(small) == expected
    del small["uid"]
    assert to_v2_spec(small) == expected
