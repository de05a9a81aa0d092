"""The pinned dashboard schema v2 (`dashboard.grafana.app/v2` spec): a usable, strict draft-07 schema."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from catalog import versions

SCHEMA_FILE = f"obs/schemas/grafana-{versions.GRAFANA_VERSION}/dashboard-v2.schema.json"

# The smallest spec Grafana's v1 -> v2 conversion writes for a dashboard with one Prometheus timeseries panel.
SPEC = {
    "annotations": [],
    "cursorSync": "Off",
    "editable": True,
    "elements": {
        "panel-1": {
            "kind": "Panel",
            "spec": {
                "id": 1,
                "title": "Up",
                "description": "",
                "links": [],
                "data": {"kind": "QueryGroup", "spec": {
                    "queries": [{"kind": "PanelQuery", "spec": {
                        "query": {"kind": "DataQuery", "group": "prometheus", "version": "v0",
                                  "datasource": {"name": "${datasource}"}, "spec": {"expr": "up"}},
                        "refId": "A",
                        "hidden": False,
                    }}],
                    "transformations": [],
                    "queryOptions": {},
                }},
                "vizConfig": {"kind": "VizConfig", "group": "timeseries", "version": versions.GRAFANA_VERSION,
                              "spec": {"options": {}, "fieldConfig": {"defaults": {}, "overrides": []}}},
            },
        }
    },
    "layout": {"kind": "GridLayout", "spec": {"items": [{"kind": "GridLayoutItem", "spec": {
        "x": 0, "y": 0, "width": 12, "height": 8, "element": {"kind": "ElementReference", "name": "panel-1"}}}]}},
    "links": [],
    "liveNow": False,
    "preload": False,
    "tags": [],
    "timeSettings": {"timezone": "browser", "from": "now-6h", "to": "now", "autoRefresh": "",
                     "autoRefreshIntervals": ["5s", "10s", "30s", "1m", "5m", "15m", "30m", "1h", "2h", "1d"],
                     "hideTimepicker": False, "fiscalYearStartMonth": 0},
    "title": "t",
    "variables": [],
}


@pytest.fixture
def schema(repo):
    return json.loads((repo / SCHEMA_FILE).read_text())


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_v2_schema_is_draft_07_and_every_ref_resolves(schema):
    jsonschema.Draft7Validator.check_schema(schema)
    refs = set(_refs(schema))
    assert refs, "the schema should be built from definitions"
    for ref in refs:
        assert ref.startswith("#/definitions/"), ref
        assert ref.removeprefix("#/definitions/") in schema["definitions"], ref


def test_v2_schema_accepts_what_the_conversion_writes(schema):
    assert list(jsonschema.Draft7Validator(schema).iter_errors(SPEC)) == []


@pytest.mark.parametrize("break_it", [
    pytest.param(lambda s: s.update(panels=[]), id="v1 panels key"),
    pytest.param(lambda s: s["elements"]["panel-1"]["spec"].update(pluginVersion="13.2.3"), id="unknown panel key"),
    pytest.param(lambda s: s["elements"]["panel-1"]["spec"]["data"]["spec"].update(
        transformations=[{"kind": "organize", "spec": {"id": "organize", "options": {}}}]),
        id="v2beta1 transformation"),
    pytest.param(lambda s: s.update(cursorSync=1), id="graphTooltip number"),
    pytest.param(lambda s: s.pop("timeSettings"), id="no timeSettings"),
])
def test_v2_schema_is_strict(schema, break_it):
    spec = copy.deepcopy(SPEC)
    break_it(spec)
    assert list(jsonschema.Draft7Validator(schema).iter_errors(spec)) != []
