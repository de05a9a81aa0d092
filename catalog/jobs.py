"""Scrape jobs: the `job` label values, where Prometheus finds each target, and how dashboards name them.

prometheus.yml, the service-health panels and the TargetDown alert are all built from this list.
"""

from __future__ import annotations

from catalog import network
from catalog._records import fail, record
from catalog.network import Endpoint

# Prometheus's global scrape interval; the app jobs scrape faster (spec: every 10 s).
GLOBAL_SCRAPE_INTERVAL = "15s"
DURATION = r"^([0-9]+(ms|s|m|h|d|w|y))+$"


@record("scrape job")
class ScrapeJob:
    name: str  # the `job` label
    title: str  # how a dashboard names the service
    endpoint: Endpoint  # where Prometheus (in the compose network) reaches it
    scrape_interval: str | None = None  # None: the global interval
    metrics_path: str = "/metrics"

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


API_GATEWAY = ScrapeJob("api-gateway", "API Gateway", network.API_GATEWAY, scrape_interval="10s")
CELERY_WORKER = ScrapeJob("celery-worker", "Celery Worker", network.CELERY_WORKER, scrape_interval="10s")
NODE_EXPORTER = ScrapeJob("node-exporter", "Node Exporter", network.NODE_EXPORTER)
CADVISOR = ScrapeJob("cadvisor", "cAdvisor", network.CADVISOR_ON_HOST)
OTEL_COLLECTOR = ScrapeJob("otel-collector", "OTel Collector", network.COLLECTOR_METRICS)

# The order here is the order of the service-health tiles on the System Overview dashboard.
SCRAPE_JOBS: tuple[ScrapeJob, ...] = (API_GATEWAY, CELERY_WORKER, NODE_EXPORTER, CADVISOR, OTEL_COLLECTOR)

# Jobs that export the platform's evaluation metrics.
APP_JOBS: tuple[ScrapeJob, ...] = (API_GATEWAY, CELERY_WORKER)
