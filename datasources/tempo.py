"""Tempo: traces, with links from a span to the metrics of its service and a service graph, both in
Prometheus (Tempo's metrics-generator remote-writes the span metrics there)."""

from catalog import network
from catalog.grafana import PROMETHEUS, TEMPO
from obs.author.datasources import Datasource

SPAN = '$__tags, span_name="${__span.name}"'
ERROR = 'status_code="STATUS_CODE_ERROR"'

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
            # Per span, not per service: Tempo's span metrics carry span_name (spanmetrics/config.go), and
            # ${__span.name} is the span the link is opened from (Grafana's trace-to-metrics query variables).
            "queries": [
                {"name": "Span rate", "query": f"sum(rate(traces_spanmetrics_calls_total{{{SPAN}}}[5m]))"},
                {
                    "name": "Span error rate",
                    "query": f"sum(rate(traces_spanmetrics_calls_total{{{SPAN}, {ERROR}}}[5m]))",
                },
                {
                    "name": "Span P95 latency",
                    "query": "histogram_quantile(0.95, sum by (le) "
                    f"(rate(traces_spanmetrics_latency_bucket{{{SPAN}}}[5m])))",
                },
            ],
        },
        "serviceMap": {"datasourceUid": PROMETHEUS.uid},
        "nodeGraph": {"enabled": True},
        "search": {"hide": False},
        "traceQuery": {"timeShiftEnabled": True, "spanStartTimeShift": "-1h", "spanEndTimeShift": "1h"},
    },
)
