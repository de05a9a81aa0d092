"""Grafana's dashboard model as the build checks it: where the v1 types disagree with what Grafana saves, the
check follows Grafana (scripts/generate_grafana_schema.py correct_dashboard)."""

from __future__ import annotations

import copy
import json

import pytest

from obs.check.dashboard import check_promql, check_schema
from obs.core.paths import dashboard_file

from helpers import REPO

SYSTEM_OVERVIEW = "obs-system-overview"


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads((REPO / dashboard_file(SYSTEM_OVERVIEW)).read_text())


def with_panel_links(dashboard: dict, links: list) -> dict:
    document = copy.deepcopy(dashboard)
    document["panels"][1]["links"] = links
    return document


def test_a_panel_link_as_grafana_saves_it_is_valid(dashboard):
    """The panel-links editor and DashboardMigrator's upgradePanelLink write {title, url, targetBlank}."""
    links = [{"title": "Runbook", "url": "https://wiki.example/runbook", "targetBlank": True},
             {"title": "Logs", "url": "/explore?left=x"}]
    assert check_schema(with_panel_links(dashboard, links)) == []


def test_a_panel_link_without_its_url_is_refused(dashboard):
    findings = check_schema(with_panel_links(dashboard, [{"title": "Runbook"}]))
    assert findings == [(["panels", 1, "links", 0], "'url' is a required property")]


def test_a_panel_link_with_a_wrong_type_is_refused(dashboard):
    findings = check_schema(with_panel_links(dashboard, [{"title": "Runbook", "url": "/x", "targetBlank": "yes"}]))
    assert findings == [(["panels", 1, "links", 0, "targetBlank"], "'yes' is not of type 'boolean'")]


PROMETHEUS = {"type": "prometheus", "uid": "obs-prometheus"}


def with_annotation(dashboard: dict, annotation: dict) -> dict:
    document = copy.deepcopy(dashboard)
    document["annotations"]["list"].append(annotation)
    return document


def deploys(expr: str) -> dict:
    """A Prometheus annotation as Grafana 13 saves it: the query in `target`, the plugin's options beside it
    (packages/grafana-prometheus/src/annotations.ts)."""
    return {"datasource": PROMETHEUS, "enable": True, "iconColor": "purple", "name": "Deploys",
            "target": {"expr": expr, "interval": "60s", "refId": "Anno"},
            "titleFormat": "restarted", "tagKeys": "instance", "textFormat": "", "useValueForTime": False}


def test_a_prometheus_annotation_as_grafana_saves_it_is_valid(dashboard):
    document = with_annotation(dashboard, deploys('changes(process_start_time_seconds{job="celery-worker"}[5m]) > 0'))
    assert check_schema(document) == [] and check_promql(document) == []


def test_a_prometheus_annotations_query_is_parsed(dashboard):
    index = len(dashboard["annotations"]["list"])
    document = with_annotation(dashboard, deploys("changes(up[5m]) > > 0"))
    [(path, reason)] = check_promql(document)
    assert path == ["annotations", "list", index, "target", "expr"] and reason.startswith("PromQL does not parse")


def test_the_built_in_annotation_keeps_its_typed_fields(dashboard):
    built_in = copy.deepcopy(dashboard["annotations"]["list"][0])
    built_in["target"] = {"limit": "100", "matchAny": False, "tags": [], "type": "dashboard"}
    [(path, reason)] = check_schema(with_annotation(dashboard, built_in))
    assert path[-2:] == ["target", "limit"] and reason == "'100' is not of type 'number'"


def test_an_interval_variable_with_its_automatic_option_is_valid(dashboard):
    document = copy.deepcopy(dashboard)
    document["templating"]["list"].append({"auto": True, "auto_count": 30, "auto_min": "10s", "name": "window",
                                           "type": "interval", "query": "1m,5m", "refresh": 2})
    assert check_schema(document) == []
    document["templating"]["list"][-1]["auto_count"] = "30"
    assert [reason for _, reason in check_schema(document)] == ["'30' is not of type 'number'"]
