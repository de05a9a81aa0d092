"""Every version the project pins, in one place: the compose images run exactly these, the compiled configs are
written for them, and the tests run the same releases (Debian's packages or builds of the Go modules).

Plain constants only: scripts read this file without importing the project.
"""

# Grafana: the dashboard JSON is compiled for, and validated against, this Grafana's dashboard model.
GRAFANA_VERSION = "13.2.3"
PROMETHEUS_VERSION = "2.42.0"
ALERTMANAGER_VERSION = "0.25.0"
NODE_EXPORTER_VERSION = "1.8.2"
CADVISOR_VERSION = "0.49.1"
# 2.x layout: compactor.compaction.block_retention (3.0 moved it to backend_worker).
TEMPO_VERSION = "2.6.1"
# OTLP receivers default to localhost since 0.104: endpoints are always explicit.
COLLECTOR_VERSION = "0.120.0"
