"""check_dashboard_v2: the v2 schema with precise paths, and what a schema cannot say (layout items naming
elements that exist, each element placed once, one element per panel id, refIds unique per panel)."""

from __future__ import annotations

import json

import pytest

from obs.check.dashboard_v2 import check_dashboard_v2
from obs.compile.dashboard_v2 import to_v2_spec
from obs.core.paths import DASHBOARD_DIR

from helpers import REPO

FILE = "dashboards/system_overview.py -> dashboard.grafana.app/v2 obs-system-overview"
WHO = "dashboard 'obs-system-overview'"


@pytest.fixture
def spec() -> dict:
    return to_v2_spec(json.loads((REPO / DASHBOARD_DIR / "obs-system-overview.json").read_text()))


def lines(spec: dict) -> list[str]:
    return [str(problem) for problem in check_dashboard_v2(spec, FILE, "obs-system-overview")]


def items(spec: dict, row: int) -> list[dict]:
    return spec["layout"]["spec"]["rows"][row]["spec"]["layout"]["spec"]["items"]


def where(spec: dict, element: str) -> tuple[int, int]:
    """(row, item) of the layout item placing `element`."""
    for row, _ in enumerate(spec["layout"]["spec"]["rows"]):
        for index, item in enumerate(items(spec, row)):
            if item["spec"]["element"]["name"] == element:
                return row, index
    raise AssertionError(f"{element} is not placed")


CPU, MEMORY = "panel-9787", "panel-1054"  # Host CPU usage, Host memory usage


def test_the_compiled_v2_form_has_no_problem(spec):
    assert lines(spec) == []


def test_a_dangling_element_reference(spec):
    row, index = where(spec, CPU)
    items(spec, row)[index]["spec"]["element"]["name"] = "panel-404"
    assert lines(spec) == [
        f"{FILE}: {WHO} element 'panel-404': $.layout.spec.rows[{row}].spec.layout.spec.items[{index}].spec.element"
        ".name: names element 'panel-404', which $.elements does not have",
        f"{FILE}: {WHO} element 'panel-9787' panel 'Host CPU usage' (id 9787): $.elements.panel-9787: element is "
        "not placed in the layout",
    ]


def test_an_element_placed_twice(spec):
    row, index = where(spec, CPU)
    later = items(spec, row + 1)
    later.append(json.loads(json.dumps(items(spec, row)[index])))
    assert lines(spec) == [
        f"{FILE}: {WHO} element 'panel-9787' panel 'Host CPU usage' (id 9787): "
        f"$.layout.spec.rows[{row + 1}].spec.layout.spec.items[{len(later) - 1}].spec.element.name: places element "
        f"'panel-9787' a second time (first at $.layout.spec.rows[{row}].spec.layout.spec.items[{index}])",
    ]


def test_two_elements_of_one_panel_id(spec):
    spec["elements"]["panel-1054"]["spec"]["id"] = 9787
    assert lines(spec) == [
        f"{FILE}: {WHO} element 'panel-1054' panel 'Host memory usage' (id 9787): $.elements.panel-1054.spec.id: "
        "panel id 9787 is also element 'panel-9787''s",
    ]


def test_refids_unique_per_panel(spec):
    queries = spec["elements"]["panel-9787"]["spec"]["data"]["spec"]["queries"]
    queries.append(json.loads(json.dumps(queries[0])))
    queries.append(json.loads(json.dumps(queries[0])))
    queries[2]["spec"]["refId"] = ""
    other = spec["elements"]["panel-1054"]["spec"]["data"]["spec"]["queries"]
    assert [q["spec"]["refId"] for q in other] == ["A"]  # the same refId in another panel is fine
    assert lines(spec) == [
        f"{FILE}: {WHO} element 'panel-9787' panel 'Host CPU usage' (id 9787): "
        "$.elements.panel-9787.spec.data.spec.queries[1].spec.refId: refId 'A' is also query 0's",
        f"{FILE}: {WHO} element 'panel-9787' panel 'Host CPU usage' (id 9787): "
        "$.elements.panel-9787.spec.data.spec.queries[2].spec.refId: query has no refId",
    ]


def test_schema_problems_name_the_element_variable_and_path(spec):
    spec["elements"]["panel-9787"]["spec"]["vizConfig"]["spec"]["pluginVersion"] = "13.2.3"
    memory_row, memory_index = where(spec, MEMORY)
    items(spec, memory_row)[memory_index]["spec"]["width"] = "wide"
    spec["variables"][1]["spec"]["sort"] = 1
    spec["timeSettings"]["autoRefreshIntervals"] = "30s"
    assert lines(spec) == [
        f"{FILE}: {WHO}: $.timeSettings.autoRefreshIntervals: '30s' is not of type 'array'",
        f"{FILE}: {WHO} element 'panel-9787' panel 'Host CPU usage' (id 9787): $.elements.panel-9787.spec.vizConfig"
        ".spec: Additional properties are not allowed ('pluginVersion' was unexpected)",
        f"{FILE}: {WHO} element 'panel-1054' panel 'Host memory usage' (id 1054): "
        f"$.layout.spec.rows[{memory_row}].spec.layout.spec.items[{memory_index}].spec.width: 'wide' is not of type "
        "'number'",
        f"{FILE}: {WHO} variable 'instance': $.variables[1].spec.sort: 1 is not one of ['disabled', "
        "'alphabeticalAsc', 'alphabeticalDesc', 'numericalAsc', 'numericalDesc', 'alphabeticalCaseInsensitiveAsc', "
        "'alphabeticalCaseInsensitiveDesc', 'naturalAsc', 'naturalDesc']",
        f"{FILE}: {WHO} variable 'instance': $.variables[1].spec.sort: 1 is not of type 'string'",
    ]


def test_a_union_member_of_unknown_kind(spec):
    spec["layout"]["spec"]["rows"][0]["spec"]["layout"]["kind"] = "FlexLayout"
    spec["elements"]["panel-9787"]["kind"] = "Widget"
    spec["variables"][0]["kind"] = "ListVariable"
    # Not also "element is not placed" for the panels of the layout that cannot be read.
    assert lines(spec) == [
        f"{FILE}: {WHO} element 'panel-9787' panel 'Host CPU usage' (id 9787): $.elements.panel-9787.kind: element "
        "kind must be one of Panel, LibraryPanel, got 'Widget'",
        f"{FILE}: {WHO}: $.layout.spec.rows[0].spec.layout.kind: layout kind must be one of GridLayout, "
        "RowsLayout, AutoGridLayout, TabsLayout, got 'FlexLayout'",
        f"{FILE}: {WHO} variable 'datasource': $.variables[0].kind: variable kind must be one of QueryVariable, "
        "TextVariable, ConstantVariable, DatasourceVariable, IntervalVariable, CustomVariable, GroupByVariable, "
        "AdhocVariable, SwitchVariable, got 'ListVariable'",
    ]


def test_a_spec_that_is_not_an_object():
    assert [str(p) for p in check_dashboard_v2([], FILE, "obs-x")] == [
        f"{FILE}: dashboard 'obs-x': $: spec must be a JSON object"]
