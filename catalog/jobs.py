"""Scrape jobs: the `job` label values, where Prometheus finds each target, and how dashboards name them.

prometheus.yml, the service-health panels and the target-down alerts are all built from this list; which job
exports which metric is in catalog/metrics.py (`Metric.exported_by`).
"""

from __future__ import annotations

from typing import Literal

from catalog import network
from catalog._records import fail, record
from catalog.network import Endpoint

# Prometheus's global scrape interval; the app jobs scrape faster (spec: every 10 s).
GLOBAL_SCRAPE_INTERVAL = "15s"
DURATION = r"^([0-9]+(ms|s|m|h|d|w|y))+$"
# platform: the evaluation platform itself; exporter: reports on the host, the containers or the trace pipeline;
# monitoring: the monitoring stack watching itself.
Kind = Literal["platform", "exporter", "monitoring"]


@record("scrape job")
class ScrapeJob:
    name: str  # the `job` label
    title: str  # how a dashboard names the service
    endpoint: Endpoint  # where Prometheus (in the compose network) reaches it
    kind: Kind
    scrape_interval: str | None = None  # None: the global interval
    metrics_path: str = "/metrics"
    # False: store samples at scrape time, ignoring the timestamps the target writes (see CADVISOR).
    honor_timestamps: bool = True

    def check(self) -> None:
        import re

        if self.scrape_interval is not None and not re.match(DURATION, self.scrape_interval):
            raise fail("scrape_interval", f"must be a Prometheus duration such as 10s, got {self.scrape_interval!r}")
        if not self.metrics_path.startswith("/"):
            raise fail("metrics_path", f"must start with /, got {self.metrics_path!r}")

    @property
    def address(self) -> str:
        return str(self.endpoint)

    @property
    def host(self) -> str:
        return self.endpoint.host

    @property
    def port(self) -> int:
        return self.endpoint.port


API_GATEWAY = ScrapeJob("api-gateway", "API Gateway", network.API_GATEWAY, "platform", scrape_interval="10s")
CELERY_WORKER = ScrapeJob("celery-worker", "Celery Worker", network.CELERY_WORKER, "platform", scrape_interval="10s")
NODE_EXPORTER = ScrapeJob("node-exporter", "Node Exporter", network.NODE_EXPORTER, "exporter")
# cAdvisor stamps every stats sample with its own collection time (metrics/prometheus.go, collectContainersInfo:
# prometheus.NewMetricWithTimestamp). Prometheus does not mark a series with explicit timestamps stale when it
# disappears, so after a restart the old container's series would be summed with the new one's for the 5-minute
# lookback (memory counted twice). Scrape-time timestamps give every vanished series a staleness marker at once.
CADVISOR = ScrapeJob("cadvisor", "cAdvisor", network.CADVISOR_ON_HOST, "exporter", honor_timestamps=False)
# The Collector's Prometheus exporter: what the apps send over OTLP, each series with the app's `job` renamed
# `exported_job` (the scrape's job wins, honor_labels: false).
OTEL_COLLECTOR = ScrapeJob("otel-collector", "OTel Collector", network.COLLECTOR_METRICS, "exporter")

# The monitoring stack watching itself: if one of these is down, the dashboards or the alerts are blind.
PROMETHEUS = ScrapeJob("prometheus", "Prometheus", network.PROMETHEUS_SELF, "monitoring")
ALERTMANAGER = ScrapeJob("alertmanager", "Alertmanager", network.ALERTMANAGER, "monitoring")
GRAFANA = ScrapeJob("grafana", "Grafana", network.GRAFANA, "monitoring")  # /metrics needs no auth by default
TEMPO = ScrapeJob("tempo", "Tempo", network.TEMPO_HTTP, "monitoring")
OTEL_COLLECTOR_TELEMETRY = ScrapeJob("otel-collector-telemetry", "Collector telemetry", network.COLLECTOR_TELEMETRY,
                                     "monitoring")

# The order here is the order of the service-health tiles on the System Overview dashboard.
SCRAPE_JOBS: tuple[ScrapeJob, ...] = (API_GATEWAY, CELERY_WORKER, NODE_EXPORTER, CADVISOR, OTEL_COLLECTOR,
                                      PROMETHEUS, ALERTMANAGER, GRAFANA, TEMPO, OTEL_COLLECTOR_TELEMETRY)

# Jobs of the platform's own services.
APP_JOBS: tuple[ScrapeJob, ...] = tuple(job for job in SCRAPE_JOBS if job.kind == "platform")
EXPORTER_JOBS: tuple[ScrapeJob, ...] = tuple(job for job in SCRAPE_JOBS if job.kind == "exporter")
MONITORING_JOBS: tuple[ScrapeJob, ...] = tuple(job for job in SCRAPE_JOBS if job.kind == "monitoring")


def by_name(name: str) -> ScrapeJob | None:
    return next((job for job in SCRAPE_JOBS if job.name == name), None)
