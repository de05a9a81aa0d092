"""Prometheus: the metrics every dashboard queries, with exemplars linked to their traces in Tempo."""

from catalog import jobs, network, versions
from catalog.grafana import PROMETHEUS, TEMPO
from obs.author.datasources import Datasource

datasource = Datasource(
    name=PROMETHEUS.name,
    type=PROMETHEUS.type,
    uid=PROMETHEUS.uid,
    url=network.PROMETHEUS.url(),
    is_default=True,
    json_data={
        "httpMethod": "POST",
        "prometheusType": "Prometheus",
        "prometheusVersion": versions.PROMETHEUS_VERSION,
        # $__rate_interval is at least four times this: it must be the largest scrape interval in use.
        "timeInterval": jobs.GLOBAL_SCRAPE_INTERVAL,
        # The exemplar label holding the trace id, one entry per spelling in use, matched exactly: the apps'
        # client_python and OTel SDK exemplars say trace_id; Tempo's span metrics (remote-written by its
        # metrics-generator, modules/generator/registry/histogram.go) say traceID.
        "exemplarTraceIdDestinations": [
            {"name": "trace_id", "datasourceUid": TEMPO.uid},
            {"name": "traceID", "datasourceUid": TEMPO.uid},
        ],
    },
)
