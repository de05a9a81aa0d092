"""Scrape jobs: the `job` label values, where Prometheus finds each target, and how dashboards name them.

prometheus.yml, the service-health panels and the TargetDown alert are all built from this list.
"""

from __future__ import annotations

from dataclasses import dataclass

# Prometheus's global scrape interval; the app jobs scrape faster (spec: every 10 s).
GLOBAL_SCRAPE_INTERVAL = "15s"


@dataclass(frozen=True)
class ScrapeJob:
    name: str  # the `job` label
    title: str  # how a dashboard names the service
    address: str  # host:port as Prometheus (in the compose network) reaches it
    scrape_interval: str | None = None  # None: the global interval
    metrics_path: str = "/metrics"

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])


# The OpenTelemetry Collector's Prometheus exporter: the collector listens here (stack/otel_collector.py) and
# Prometheus scrapes it here, so both take the port from this one constant.
OTEL_COLLECTOR_METRICS_PORT = 8889

API_GATEWAY = ScrapeJob("api-gateway", "API Gateway", "host.docker.internal:8007", scrape_interval="10s")
CELERY_WORKER = ScrapeJob("celery-worker", "Celery Worker", "host.docker.internal:8006", scrape_interval="10s")
NODE_EXPORTER = ScrapeJob("node-exporter", "Node Exporter", "node-exporter:9100")
CADVISOR = ScrapeJob("cadvisor", "cAdvisor", "host.docker.internal:8080")
OTEL_COLLECTOR = ScrapeJob("otel-collector", "OTel Collector", f"otel-collector:{OTEL_COLLECTOR_METRICS_PORT}")

# The order here is the order of the service-health tiles on the System Overview dashboard.
SCRAPE_JOBS: tuple[ScrapeJob, ...] = (API_GATEWAY, CELERY_WORKER, NODE_EXPORTER, CADVISOR, OTEL_COLLECTOR)

# Jobs that export the platform's evaluation metrics.
APP_JOBS: tuple[ScrapeJob, ...] = (API_GATEWAY, CELERY_WORKER)
