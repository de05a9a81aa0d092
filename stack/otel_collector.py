"""monitoring/otel-collector-config.yml: OTLP in from the apps; traces to Tempo, metrics to Prometheus.

Written for the Collector version catalog/versions.py pins (COLLECTOR_VERSION). Components are defined by the pipelines
that use them, in the order they run.
"""

from catalog import network as n
from obs.author import stack as s

otlp = s.Component("otlp", {
    "protocols": {
        # Since collector 0.104 the default is localhost, unreachable from outside the container.
        "grpc": {"endpoint": n.COLLECTOR_OTLP_GRPC.listen},
        "http": {"endpoint": n.COLLECTOR_OTLP_HTTP.listen},
    },
})

# First in every pipeline: refuse data before the others buffer it.
memory_limiter = s.Component("memory_limiter", {
    "check_interval": "1s",
    "limit_percentage": 80,
    "spike_limit_percentage": 25,
})

# Small, fast batches (10 spans or 100 ms): a trace shows up in Grafana almost at once.
batch = s.Component("batch", {"send_batch_size": 10, "timeout": "100ms"})

tempo = s.Component("otlp/tempo", {
    "endpoint": str(n.TEMPO_OTLP_GRPC),
    "tls": {"insecure": True},  # the hop stays inside the compose network
})

# Prometheus scrapes this (catalog/jobs.py OTEL_COLLECTOR, same port constant).
prometheus = s.Component("prometheus", {
    "endpoint": n.COLLECTOR_METRICS.listen,
    "resource_to_telemetry_conversion": {"enabled": True},
})

config = s.Collector(
    pipelines=[
        s.Pipeline("traces", receivers=[otlp], processors=[memory_limiter, batch], exporters=[tempo]),
        s.Pipeline("metrics", receivers=[otlp], processors=[memory_limiter, batch], exporters=[prometheus]),
    ],
)
