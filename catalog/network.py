"""The network plan: which service listens where, as the other containers of the compose stack reach it.

The compose file, the configs of Prometheus, Grafana's datasources, the Collector and Tempo all name these
endpoints, so an address lives in one place.
"""

from __future__ import annotations

from catalog._records import fail, record

# The host as containers see it (docker's host-gateway): the apps and cAdvisor publish their ports there, and
# node-exporter, on the host's network, listens there.
HOST_GATEWAY = "host.docker.internal"


@record("endpoint")
class Endpoint:
    host: str  # the compose service name, or HOST_GATEWAY
    port: int

    def check(self) -> None:
        if not 0 < self.port < 65536:
            raise fail("port", f"must be 1-65535, got {self.port}")

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, path: str = "", scheme: str = "http") -> str:
        return f"{scheme}://{self}{path}"

    @property
    def listen(self) -> str:
        """The address the service binds: every interface, or other containers cannot reach it."""
        return f"0.0.0.0:{self.port}"


GRAFANA = Endpoint("grafana", 3000)
PROMETHEUS = Endpoint("prometheus", 9090)
# Prometheus scrapes its own /metrics inside its container.
PROMETHEUS_SELF = Endpoint("localhost", PROMETHEUS.port)
ALERTMANAGER = Endpoint("alertmanager", 9093)
TEMPO_HTTP = Endpoint("tempo", 3200)
TEMPO_OTLP_GRPC = Endpoint("tempo", 4317)
COLLECTOR_OTLP_GRPC = Endpoint("otel-collector", 4317)
COLLECTOR_OTLP_HTTP = Endpoint("otel-collector", 4318)
# The Collector's Prometheus exporter (spec: port 8889): what the apps send over OTLP, as metrics.
COLLECTOR_METRICS = Endpoint("otel-collector", 8889)
# The Collector's own telemetry (otelcol_*: export failures, queues). Its default reader binds localhost:8888,
# which no other container reaches; stack/otel_collector.py configures a reader on every interface.
COLLECTOR_TELEMETRY = Endpoint("otel-collector", 8888)
# node-exporter runs on the host's network (network_mode: host), so that "host network I/O" is the host's and not
# the interface of a container; Prometheus reaches it through the host, like cAdvisor and the apps.
NODE_EXPORTER = Endpoint(HOST_GATEWAY, 9100)
# cAdvisor is scraped through the host (it publishes its port there): the spec's host.docker.internal:8080.
CADVISOR = Endpoint("cadvisor", 8080)
CADVISOR_ON_HOST = Endpoint(HOST_GATEWAY, CADVISOR.port)
# The platform's services run on the host (spec: API gateway on 8007, Celery worker on 8006).
API_GATEWAY = Endpoint(HOST_GATEWAY, 8007)
CELERY_WORKER = Endpoint(HOST_GATEWAY, 8006)
