"""Prometheus: the metrics every dashboard queries, with exemplars linked to their traces in Tempo."""

from catalog import jobs
from catalog.grafana import PROMETHEUS, TEMPO
from obs.provisioning import Datasource

datasource = Datasource(
    name=PROMETHEUS.name,
    type=PROMETHEUS.type,
    uid=PROMETHEUS.uid,
    url="http://prometheus:9090",
    is_default=True,
    json_data={
        "httpMethod": "POST",
        "prometheusType": "Prometheus",
        "prometheusVersion": "2.42.0",
        # $__rate_interval is at least four times this: it must be the largest scrape interval in use.
        "timeInterval": jobs.GLOBAL_SCRAPE_INTERVAL,
        "exemplarTraceIdDestinations": [{"name": "trace_id", "datasourceUid": TEMPO.uid}],
    },
)
