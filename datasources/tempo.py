"""Tempo: traces, with links from a span to the metrics of its service and a service graph, both in
Prometheus (Tempo's metrics-generator remote-writes the span metrics there)."""

from catalog import network
from catalog.grafana import PROMETHEUS, TEMPO
from obs.author.datasources import Datasource

datasource = Datasource(
    name=TEMPO.name,
    type=TEMPO.type,
    uid=TEMPO.uid,
    url=network.TEMPO_HTTP.url(),
    json_data={
        "tracesToMetrics": {
            "datasourceUid": PROMETHEUS.uid,
            "spanStartTimeShift": "-5m",
            "spanEndTimeShift": "5m",
            "tags": [{"key": "service.name", "value": "service"}],
            "queries": [
                {"name": "Request rate", "query": "sum(rate(traces_spanmetrics_calls_total{$__tags}[5m]))"},
                {
                    "name": "Error rate",
                    "query": 'sum(rate(traces_spanmetrics_calls_total{$__tags, status_code="STATUS_CODE_ERROR"}[5m]))',
                },
                {
                    "name": "P95 latency",
                    "query": "histogram_quantile(0.95, sum by (le) "
                    "(rate(traces_spanmetrics_latency_bucket{$__tags}[5m])))",
                },
            ],
        },
        "serviceMap": {"datasourceUid": PROMETHEUS.uid},
        "nodeGraph": {"enabled": True},
        "search": {"hide": False},
        "traceQuery": {"timeShiftEnabled": True, "spanStartTimeShift": "-1h", "spanEndTimeShift": "1h"},
    },
)
