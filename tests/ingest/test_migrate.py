"""Old dashboards migrated as Grafana 13 migrates them: each expected value is worked out by hand from the
Grafana source the step follows (named in each test), not read back from obs's own output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obs.ingest.datasources import DatasourceIndex, DatasourceInfo
from obs.ingest.migrate import migrate, without_nulls

from helpers import REPO
from ingest.helpers_ingest import expected_document, load

PROMETHEUS = DatasourceInfo("Prometheus", "obs-prometheus", "prometheus", is_default=True)
LOKI = DatasourceInfo("Logs", "logs-uid", "loki")
INDEX = DatasourceIndex((PROMETHEUS, LOKI))
PROM_REF = {"type": "prometheus", "uid": "obs-prometheus"}


def panel(document: dict, panel_id: int) -> dict:
    found = [p for top in document["panels"] for p in (top, *(top.get("panels") or [])) if p.get("id") == panel_id]
    assert len(found) == 1, panel_id
    return found[0]


@pytest.fixture(scope="module")
def grafana5() -> dict:
    return expected_document(REPO, "host-metrics-grafana5.json")


@pytest.fixture(scope="module")
def grafana7() -> dict:
    return expected_document(REPO, "gateway-grafana7.json")


@pytest.fixture(scope="module")
def grafana11() -> dict:
    return expected_document(REPO, "evaluation-quality-grafana11.json")


# ---------------------------------------------------------------- graph -> timeseries (timeseries/migrations.ts)


def test_graph_legend_tooltip_fill_and_stacking(grafana5):
    cpu = panel(grafana5, 8)
    assert cpu["type"] == "timeseries"
    # legend {alignAsTable, avg, current, max, values}: a table; calcs from the true keys in their order
    assert cpu["options"]["legend"] == {"calcs": ["mean", "lastNotNull", "max"], "displayMode": "table",
                                        "placement": "bottom", "showLegend": True}
    # tooltip {shared: true, sort: 2}
    assert cpu["options"]["tooltip"] == {"hideZeros": False, "mode": "multi", "sort": "desc"}
    custom = cpu["fieldConfig"]["defaults"]["custom"]
    assert (custom["fillOpacity"], custom["stacking"], custom["showPoints"], custom["lineWidth"]) == (
        40, {"group": "A", "mode": "normal"}, "never", 1)  # fill 4, stack, points off, linewidth 1
    assert cpu["fieldConfig"]["defaults"]["unit"] == "percentunit" and cpu["fieldConfig"]["defaults"]["min"] == 0
    # aliasColors first, then the series override {alias: idle, fill: 0, stack: false}
    assert cpu["fieldConfig"]["overrides"] == [
        {"matcher": {"id": "byName", "options": "iowait"},
         "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "#e24d42"}}]},
        {"matcher": {"id": "byName", "options": "idle"},
         "properties": [{"id": "custom.fillOpacity", "value": 0},
                        {"id": "custom.stacking", "value": {"mode": "normal", "group": False}}]},
    ]
    for legacy in ("legend", "yaxes", "xaxis", "seriesOverrides", "aliasColors", "lines", "fill", "renderer"):
        assert legacy not in cpu


def test_graph_axis_label_regex_override_and_thresholds(grafana5):
    network = panel(grafana5, 10)
    assert network["fieldConfig"]["defaults"]["custom"]["axisLabel"] == "receive (+) / transmit (-)"
    assert network["fieldConfig"]["overrides"] == [
        {"matcher": {"id": "byRegexp", "options": "/transmit/"},
         "properties": [{"id": "custom.transform", "value": "negative-Y"}]}]
    disk = panel(grafana5, 12)
    # two "gt" thresholds, filled and lined: a transparent base, then each colour; line+area
    assert disk["fieldConfig"]["defaults"]["thresholds"] == {"mode": "absolute", "steps": [
        {"color": "transparent", "value": None}, {"color": "orange", "value": 0.8}, {"color": "red", "value": 0.9}]}
    assert disk["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] == {"mode": "line+area"}
    assert (disk["fieldConfig"]["defaults"]["min"], disk["fieldConfig"]["defaults"]["max"]) == (0, 1)  # "0", "1"
    assert disk["options"]["legend"]["placement"] == "right" and disk["options"]["legend"]["calcs"] == ["lastNotNull"]


def test_graph_as_series_bars_is_kept_with_a_warning():
    dashboard = {"title": "t", "schemaVersion": 30, "panels": [
        {"type": "graph", "id": 1, "title": "Bars", "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
         "xaxis": {"mode": "series", "show": True}, "targets": [{"refId": "A", "expr": "up"}]}]}
    out = migrate(dashboard, INDEX)
    assert out.dashboard["panels"][0]["type"] == "graph"
    assert out.warnings == ["panel 'Bars' (id 1): an Angular graph panel drawn as series, which Grafana 13 migrates "
                            "to a barchart or histogram panel with a handler obs import does not have: kept as it is"]


# ---------------------------------------------------------------- singlestat -> stat (StatMigrations.ts)


def test_singlestat_thresholds_colours_and_value_maps(grafana5):
    uptime = panel(grafana5, 2)
    assert uptime["type"] == "stat"
    defaults = uptime["fieldConfig"]["defaults"]
    # thresholds "300,3600" and three colours: -Infinity, 300, 3600
    assert defaults["thresholds"]["steps"] == [{"color": "#d44a3a", "value": None},
                                               {"color": "rgba(237, 129, 40, 0.89)", "value": 300},
                                               {"color": "#299c46", "value": 3600}]
    # the value map "null" -> N/A becomes a special-value mapping (schema 30); "N/A" is no number: no colour
    assert defaults["mappings"] == [{"type": "special", "options": {"match": "null", "result": {"text": "N/A"}}}]
    assert defaults["unit"] == "s"
    assert uptime["options"]["colorMode"] == "value" and uptime["options"]["graphMode"] == "none"
    assert uptime["options"]["reduceOptions"]["calcs"] == ["lastNotNull"]  # valueName current
    assert uptime["options"]["orientation"] == "horizontal"
    for legacy in ("valueName", "colors", "thresholds", "sparkline", "gauge", "valueMaps", "prefix", "format"):
        assert legacy not in uptime


def test_singlestat_gauge_background_and_sparkline(grafana5):
    cpu = panel(grafana5, 4)
    assert (cpu["fieldConfig"]["defaults"]["min"], cpu["fieldConfig"]["defaults"]["max"]) == (0, 100)  # gauge.show
    assert cpu["fieldConfig"]["defaults"]["decimals"] == 1
    assert cpu["options"]["colorMode"] == "background"
    memory = panel(grafana5, 6)
    # no colour mode, a sparkline with a line colour: area graph in that fixed colour; valueName avg -> mean
    assert memory["options"]["colorMode"] == "none" and memory["options"]["graphMode"] == "area"
    assert memory["fieldConfig"]["defaults"]["color"] == {"mode": "fixed", "fixedColor": "rgb(31, 120, 193)"}
    assert memory["options"]["reduceOptions"]["calcs"] == ["mean"]
    assert "thresholds" not in memory["fieldConfig"]["defaults"]  # thresholds "" is none


def test_a_value_map_takes_the_colour_its_text_has_in_the_thresholds():
    dashboard = {"title": "t", "schemaVersion": 16, "panels": [{
        "type": "singlestat", "id": 1, "title": "Up", "gridPos": {"h": 4, "w": 4, "x": 0, "y": 0},
        "datasource": "Prometheus", "targets": [{"refId": "A", "expr": "up"}], "thresholds": "1",
        "colors": ["red", "green"], "valueName": "current", "mappingType": 1,
        "valueMaps": [{"op": "=", "text": "0", "value": "0"}, {"op": "=", "text": "5 up", "value": "1"}]}]}
    [stat] = migrate(dashboard, INDEX).dashboard["panels"]
    # getActiveThreshold(parseFloat(text)): "0" is below 1 (red), "5 up" parses as 5 (green)
    assert stat["fieldConfig"]["defaults"]["mappings"] == [
        {"type": "value", "options": {"0": {"text": "0", "color": "red"}, "1": {"text": "5 up", "color": "green"}}}]


# ---------------------------------------------------------------- datasources (schema 33, 36; variables)


def test_datasource_names_and_null_become_references(grafana5):
    for panel_id in (2, 4, 8):
        assert panel(grafana5, panel_id)["datasource"] == PROM_REF
    memory = panel(grafana5, 6)  # "datasource": null, the default datasource
    assert memory["datasource"] == PROM_REF and memory["targets"][0]["datasource"] == PROM_REF
    assert grafana5["templating"]["list"][0]["datasource"] == PROM_REF  # migrateVariablesDatasourceNameToRef
    assert grafana5["annotations"]["list"][0]["datasource"] == {"type": "grafana", "uid": "-- Grafana --"}


def test_a_name_nothing_has_stays_a_uid_and_a_variable_stays_a_variable():
    dashboard = {"title": "t", "schemaVersion": 20, "templating": {"list": [
        {"type": "datasource", "name": "ds", "query": "loki"}]}, "panels": [
        {"type": "timeseries", "id": 1, "title": "a", "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
         "datasource": "Gone", "targets": [{"refId": "A"}]},
        {"type": "timeseries", "id": 2, "title": "b", "gridPos": {"h": 8, "w": 12, "x": 12, "y": 0},
         "datasource": "$ds", "targets": [{"refId": "A"}]},
        {"type": "timeseries", "id": 3, "title": "c", "gridPos": {"h": 8, "w": 12, "x": 0, "y": 8},
         "datasource": "Logs", "targets": [{"refId": "A", "datasource": "Prometheus"}]}]}
    a, b, c = migrate(dashboard, INDEX).dashboard["panels"]
    assert a["datasource"] == {"uid": "Gone"} and a["targets"][0]["datasource"] == {"uid": "Gone"}
    assert b["datasource"] == {"type": "loki", "uid": "$ds"}
    assert c["datasource"] == {"type": "loki", "uid": "logs-uid"} and c["targets"][0]["datasource"] == PROM_REF


def test_schema_36_gives_rows_a_query_and_the_project_drops_it(grafana7):
    """v36.go: every top-level panel, rows too, gets query A and the default datasource; RowPanel of Grafana 13's
    model has no targets, so the adaptation drops them and says so."""
    dashboard = {"title": "t", "schemaVersion": 27, "panels": [
        {"type": "row", "id": 9, "title": "R", "collapsed": False, "panels": [],
         "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0}, "datasource": None}]}
    [row] = migrate(dashboard, INDEX).dashboard["panels"]
    assert row["targets"] == [{"refId": "A", "datasource": PROM_REF}] and row["datasource"] == PROM_REF
    traffic = panel(grafana7, 20)
    assert "targets" not in traffic and traffic["datasource"] == PROM_REF


# ---------------------------------------------------------------- other schema steps


def test_rows_of_schema_15_are_laid_out_on_the_grid():
    """upgradeToGridLayout: spans of 12 become widths of 24; a titled row becomes a row panel; row height 250px is
    7 grid units (ceil(250 / 38))."""
    dashboard = {"title": "t", "schemaVersion": 14, "rows": [
        {"title": "CPU", "showTitle": True, "height": "250px", "panels": [
            {"id": 1, "type": "text", "title": "a", "span": 6}, {"id": 2, "type": "text", "title": "b", "span": 6}]},
        {"title": "Memory", "showTitle": True, "collapse": True, "height": 250, "panels": [
            {"id": 3, "type": "text", "title": "c", "span": 12}]}]}
    out = migrate(dashboard, INDEX).dashboard
    assert "rows" not in out
    grids = [(p["type"], p.get("title"), p["gridPos"]) for p in out["panels"]]
    assert grids == [
        ("row", "CPU", {"x": 0, "y": 0, "w": 24, "h": 7}),
        ("text", "a", {"x": 0, "y": 1, "w": 12, "h": 7}),
        ("text", "b", {"x": 12, "y": 1, "w": 12, "h": 7}),
        ("row", "Memory", {"x": 0, "y": 8, "w": 24, "h": 7}),
    ]
    assert out["panels"][3]["collapsed"] is True
    assert [p["title"] for p in out["panels"][3]["panels"]] == ["c"]


def test_table_display_mode_becomes_cell_options(grafana7):
    """Schema 38 (migrateTableDisplayModeToCellOptions): color-background is a gradient background."""
    table = panel(grafana7, 10)
    custom = table["fieldConfig"]["defaults"]["custom"]
    assert custom["cellOptions"] == {"type": "color-background", "mode": "gradient"} and "displayMode" not in custom
    [override] = table["fieldConfig"]["overrides"]
    assert override["properties"] == [{"id": "custom.cellOptions", "value": {"type": "auto"}}]


def test_legend_timepicker_refresh_and_hidden_fields():
    dashboard = {"title": "t", "schemaVersion": 36, "refresh": False,
                 "timepicker": {"refresh_intervals": ["1m"], "time_options": ["5m"]},
                 "panels": [{"type": "timeseries", "id": 1, "title": "a", "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
                             "datasource": PROM_REF, "targets": [{"refId": "A", "datasource": PROM_REF}],
                             "options": {"legend": {"displayMode": "hidden", "placement": "bottom", "calcs": []}},
                             "fieldConfig": {"defaults": {}, "overrides": [{"matcher": {"id": "byName", "options": "x"},
                                             "properties": [{"id": "custom.hideFrom", "value": {"viz": True}}]}]}}]}
    out = migrate(dashboard, INDEX).dashboard
    assert out["refresh"] == ""  # v40
    assert out["timepicker"] == {"refresh_intervals": ["1m"]}  # v41
    [ts] = out["panels"]
    assert ts["options"]["legend"]["showLegend"] is False and ts["options"]["legend"]["displayMode"] == "list"  # v37
    assert ts["fieldConfig"]["overrides"][0]["properties"][0]["value"] == {"viz": True, "tooltip": True}  # v42


def test_visible_constants_become_textboxes():
    dashboard = {"title": "t", "schemaVersion": 26, "panels": [], "templating": {"list": [
        {"type": "constant", "name": "shown", "query": "a", "hide": 0},
        {"type": "constant", "name": "hidden", "query": "b", "hide": 2}]}}
    shown, hidden = migrate(dashboard, INDEX).dashboard["templating"]["list"]
    assert shown["type"] == "textbox" and shown["current"] == {"selected": True, "text": "a", "value": "a"}
    assert hidden["type"] == "constant" and hidden["options"] == [{"selected": True, "text": "b", "value": "b"}]


def test_text_panel_content_moves_into_its_options():
    dashboard = {"title": "t", "schemaVersion": 20, "panels": [
        {"type": "text", "id": 1, "title": "a", "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0}, "content": "# hi",
         "mode": "markdown", "pluginVersion": "7.0.0"}]}
    [text] = migrate(dashboard, INDEX).dashboard["panels"]
    assert text["options"] == {"content": "# hi", "mode": "markdown"}  # pluginVersion 7.0 < 7.1: moved
    assert "content" not in text and "mode" not in text


def test_an_exported_variable_without_a_current_value_selects_all(grafana11):
    [model] = grafana11["templating"]["list"]
    assert model["current"] == {"text": ["All"], "value": ["$__all"]}


def test_nulls_go_but_a_thresholds_minus_infinity_stays():
    assert without_nulls({"a": None, "b": [None, {"c": None}],
                          "thresholds": {"steps": [{"color": "g", "value": None}]}}) == {
        "b": [None, {}], "thresholds": {"steps": [{"color": "g", "value": None}]}}


def test_sharing_inputs_are_the_provisioned_datasource(grafana11):
    for panel_id in (2, 3, 4, 5, 6, 7):
        found = panel(grafana11, panel_id)
        assert found["datasource"] == PROM_REF and found["targets"][0]["datasource"] == PROM_REF
    assert not any(key.startswith("__") for key in grafana11)


@pytest.mark.parametrize("path", sorted((REPO / "monitoring/grafana/dashboards").glob("*.json")), ids=lambda p: p.stem)
def test_a_dashboard_obs_compiled_is_left_as_it_is(path: Path):
    document = json.loads(path.read_text())
    out = migrate(document, INDEX)
    assert out.dashboard == document and out.notes == [] and out.warnings == []


def test_the_test_data_is_what_its_name_says():
    assert [load(name)["schemaVersion"] for name in ("host-metrics-grafana5.json", "gateway-grafana7.json",
                                                     "evaluation-quality-grafana11.json")] == [16, 27, 39]
