"""Prometheus queries of older dashboards in the form Grafana 13's editor saves them, only where Grafana runs and
names the same query (obs.ingest.queries; pkg/promlib/models/query.go and querydata/response.go of Grafana)."""

from __future__ import annotations

import pytest

from obs.ingest.queries import editor_form, labelless

# getName (promlib querydata/response.go) names a series by its labels ("" legend) or by the labels that differ
# ("__auto"); a series without labels is named by the expression under both. Which expressions return such series:
WITHOUT_LABELS = [
    'sum(rate(evaluations_total{job=~"$job"}[$__rate_interval]))',
    "sum(rate(a[$window])) / (sum(rate(b[$window])) + sum(rate(a[$window])))",
    'min(up{job="api-gateway"})',
    "sum by () (x)",
    '100 - avg(irate(node_cpu_seconds_total{mode="idle"}[5m])) * 100',
    "histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))",
    "histogram_quantile(0.95, sum(rate(x_bucket[5m])) by (le))",
    "abs(sum(x))",
    "clamp_min(sum(x), 0)",
    "1e-3 * sum(x)",
    "vector(1)",
    "quantile(0.9, x)",
    'sum(x{a="b)"})',
]
WITH_LABELS_OR_UNSURE = [
    "sum by (error_type) (increase(x[$__range]))",
    "sum(x) by (job)",
    'time() - node_boot_time{instance=~"$instance"}',
    "histogram_quantile(0.95, sum by (model, le) (rate(x_bucket[5m])))",
    "rate(x[5m])",
    "up",
    "abs(x)",
    "topk(3, sum(x))",
    'count_values("v", x)',
    "sum(a) > 0",  # a comparison: unsure, so no
    "sum(a) / on() sum(b)",
    "sum(x) offset 5m",
    "-sum(x)",
    "",
]


@pytest.mark.parametrize("expr", WITHOUT_LABELS)
def test_results_without_labels(expr):
    assert labelless(expr)


@pytest.mark.parametrize("expr", WITH_LABELS_OR_UNSURE)
def test_results_with_labels_or_not_known(expr):
    assert not labelless(expr)


def test_a_grafana7_query_in_the_editors_form():
    target = {"exemplar": True, "expr": "sum(rate(x[$__rate_interval]))", "interval": "", "legendFormat": "",
              "refId": "A", "datasource": {"type": "prometheus", "uid": "${datasource}"}}
    changed = editor_form(target)
    assert target == {"exemplar": True, "expr": "sum(rate(x[$__rate_interval]))", "legendFormat": "__auto",
                      "refId": "A", "datasource": {"type": "prometheus", "uid": "${datasource}"},
                      "editorMode": "code", "range": True, "instant": False}
    assert changed == ["editorMode set", "range set", "instant set", "interval '' dropped",
                       "legendFormat '' written '__auto' (a result without labels)"]


def test_what_changes_what_grafana_runs_stays():
    """An instant query keeps its format (table is not time series for it); a legend on a grouped query, a
    minimum step, an interval factor of 2 and a hidden query stay as they are."""
    target = {"expr": "sum by (job) (up)", "instant": True, "format": "time_series", "interval": "1m",
              "intervalFactor": 2, "hide": True, "legendFormat": "", "editorMode": "builder", "refId": "A"}
    before = dict(target)
    assert editor_form(target) == ["range set", "exemplar set"]
    assert target == {**before, "range": False, "exemplar": False}


def test_a_grafana5_query():
    target = {"expr": "avg(x)", "format": "time_series", "intervalFactor": 1, "refId": "A"}
    editor_form(target)
    assert target == {"expr": "avg(x)", "refId": "A", "editorMode": "code", "range": True, "instant": False,
                      "exemplar": False, "legendFormat": "__auto"}


def test_a_target_without_an_expression_is_left_alone():
    target = {"refId": "A", "queryType": "traceql", "query": "{}"}
    assert editor_form(target) == [] and target == {"refId": "A", "queryType": "traceql", "query": "{}"}
