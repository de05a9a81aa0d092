"""The catalog found in what Grafana had (obs.ingest.match): a metric or threshold close to the catalog's but not
equal gets a comment naming the catalog's and stays as it was; an equal one becomes the catalog's name; the
comment stands above the panel it is about, builder or pass-through."""

from __future__ import annotations

import json

import pytest

from obs.ingest.code import Expr, render
from obs.ingest.match import Catalog, Matchers, match_thresholds, query_code

from helpers import copy_project, run_obs
from ingest.helpers_ingest import DATA, comment_above, compiled, expected_document, load


@pytest.fixture(scope="module")
def catalog():
    return Catalog.load()


def close(name: str, code: str, metric: str) -> str:
    return f"{name} is close to the catalog's {code} ({metric}) but not equal: kept as written"


def test_a_metric_close_to_the_catalogs_is_kept_with_a_comment(catalog):
    from catalog import metrics as m

    cases = {
        # a unit suffix missing (node-exporter 0.15's name)
        'node_memory_MemAvailable{instance=~"$instance"}':
            close("node_memory_MemAvailable", "m.NODE_MEMORY_AVAILABLE", m.NODE_MEMORY_AVAILABLE.name),
        # the _total of a counter missing, and a typo
        "sum(rate(evaluations[5m]))": close("evaluations", "m.EVALUATIONS", m.EVALUATIONS.name),
        "sum(rate(evaluations_totl[5m]))": close("evaluations_totl", "m.EVALUATIONS", m.EVALUATIONS.name),
    }
    for expr, comment in cases.items():
        query = query_code(expr, catalog, Matchers(catalog))
        assert query.comments == [comment], expr
        assert query.code == expr, "a close name is kept as written, not replaced by the catalog's"


def test_what_is_not_close_gets_no_comment(catalog):
    for expr in ("rate(my_app_requests_total[5m])",  # nothing like it in the catalog
                 "job:evaluations:rate5m",  # a recording rule's name
                 'count({__name__="node_memory_MemAvailable"})',  # a label value, not a metric
                 "node_load5 / node_load1"):  # a family of metrics, not a typo of node_load1
        assert query_code(expr, catalog, Matchers(catalog)).comments == [], expr


def test_an_equal_metric_becomes_the_catalogs(catalog):
    query = query_code("sum(rate(evaluations_total[5m]))", catalog, Matchers(catalog))
    assert query.comments == [] and isinstance(query.code, Expr)
    assert render(query.code) == 'q.sum_rate(m.EVALUATIONS, window="5m")'
    mixed = query_code("node_load1 / node_load5", catalog, Matchers(catalog))
    assert mixed.comments == [] and render(mixed.code) == 'f"{m.NODE_LOAD1} / node_load5"'


def steps(*pairs):
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in pairs]}


def test_thresholds_close_to_the_catalogs(catalog):
    from catalog import thresholds as t

    rate = t.FAILURE_RATE  # green, orange at warn, red at value: above is bad
    equal = steps(("green", None), ("orange", rate.warn), ("red", rate.value))
    assert match_thresholds(equal, catalog, "Failure ratio").code == "t.FAILURE_RATE"
    near = steps(("green", None), ("orange", rate.warn), ("red", rate.value * 1.25))
    found = match_thresholds(near, catalog, "Failure ratio")
    assert found.code is None and found.comment == (
        f"thresholds close to the catalog's t.FAILURE_RATE (green, orange at {rate.warn}, red at {rate.value}) but "
        f"not equal (green, orange at {rate.warn}, red at {rate.value * 1.25}): kept as they were")
    percent = steps(("green", None), ("orange", rate.warn * 100), ("red", rate.value * 100))
    assert "not equal (green, orange at 10.0, red at 20.0)" in match_thresholds(percent, catalog, "x").comment
    for other in (steps(("blue", None), ("orange", rate.warn), ("red", rate.value)),  # other colours
                  steps(("green", None), ("orange", rate.warn), ("red", rate.value * 2)),  # too far
                  {**equal, "mode": "percentage"}):
        assert match_thresholds(other, catalog, "x") == type(found)(None, None), other


def test_the_comments_stand_above_their_panels(tmp_path):
    """A pass-through (Grafana 5's Memory available, Grafana 7.5's Failure ratio) and a builder panel (the 7.5
    export's Evaluations per second, its metric written without _total) each carry their comment."""
    project = copy_project(tmp_path / "project")
    grafana7 = load("gateway-grafana7.json")
    panel = grafana7["panels"][1]
    assert panel["title"] == "Evaluations per second"
    panel["targets"][0]["expr"] = panel["targets"][0]["expr"].replace("evaluations_total", "evaluations")
    (project / "gateway.json").write_text(json.dumps(grafana7))
    result = run_obs("import", "--root", str(project), str(DATA / "host-metrics-grafana5.json"),
                     str(project / "gateway.json"))
    assert result.exit_code == 0, result.output
    host = (project / "dashboards/host_metrics.py").read_text()
    assert close("node_memory_MemAvailable", "m.NODE_MEMORY_AVAILABLE", "node_memory_MemAvailable_bytes") in \
        comment_above(host, "memory_available")
    gateway = (project / "dashboards/api_gateway_ops.py").read_text()
    assert any(c.startswith("thresholds close to the catalog's t.FAILURE_RATE") for c in
               comment_above(gateway, "failure_ratio"))
    above = comment_above(gateway, "evaluations_per_second")
    assert above == [close("evaluations", "m.EVALUATIONS", "evaluations_total"),
                     "obs lint: [metric-in-catalog] metric evaluations is not in the metrics catalog"]
    assert 'target("sum(rate(evaluations{job=~\\"$job\\"}[$__rate_interval]))"' in gateway \
        or "target('sum(rate(evaluations{job=~\"$job\"}[$__rate_interval]))'" in gateway
    assert run_obs("build", "--root", str(project)).exit_code == 0
    assert compiled(project, "gateway-ops") == expected_document(project, project / "gateway.json")
