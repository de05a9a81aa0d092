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

# The Collector's own telemetry (otelcol_*), for Prometheus's otel-collector-telemetry job. Without `readers` the
# Collector serves it on localhost:8888 only, out of Prometheus's reach (service/telemetry, default since 0.111);
# `address:` is gone (rejected from 0.128). With this reader (0.120 and later) counters carry _total and an
# otel_scope_name label, and the resource goes to target_info: the names catalog/metrics.py lists.
TELEMETRY = {
    "metrics": {
        "level": "normal",
        "readers": [{"pull": {"exporter": {"prometheus": {"host": "0.0.0.0", "port": n.COLLECTOR_TELEMETRY.port}}}}],
    },
}

config = s.Collector(
    pipelines=[
        s.Pipeline("traces", receivers=[otlp], processors=[memory_limiter, batch], exporters=[tempo]),
        s.Pipeline("metrics", receivers=[otlp], processors=[memory_limiter, batch], exporters=[prometheus]),
    ],
    telemetry=TELEMETRY,
)
