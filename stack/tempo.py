"""monitoring/tempo-config.yml: trace storage on local disk for 7 days, and span metrics and service graphs
remote-written to Prometheus for Grafana's trace-to-metrics links and service map.

Written for the Tempo version catalog/versions.py pins (TEMPO_VERSION, a 2.x: retention is the compactor's).
"""

from catalog import network as n
from obs.author import stack as s

config = s.Tempo(
    http_port=n.TEMPO_HTTP.port,
    otlp_grpc=n.TEMPO_OTLP_GRPC.listen,
    otlp_http=None,  # the collector sends gRPC; nothing else sends to Tempo directly
    retention="168h",  # 7 days
    wal_path=f"{s.TEMPO_DATA_PATH}/wal",
    blocks_path=f"{s.TEMPO_DATA_PATH}/blocks",
    generator_wal_path=f"{s.TEMPO_DATA_PATH}/generator/wal",
    remote_write=[n.PROMETHEUS.url("/api/v1/write")],
    generator_processors=["service-graphs", "span-metrics"],
    external_labels={"source": "tempo"},
)
