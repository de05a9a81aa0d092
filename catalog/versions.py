"""Every version the project pins, in one place: the compose images run exactly these, the compiled configs are
written for them, and the tests run the same releases (Debian's packages or builds of the Go modules).

Plain constants only: scripts read this file without importing the project.
"""

# Grafana: the dashboard JSON is compiled for, and validated against, this Grafana's dashboard model.
GRAFANA_VERSION = "13.2.3"
# Built from the Go module github.com/prometheus/prometheus, whose version v0.3XX.Y is release 3.XX.Y.
PROMETHEUS_VERSION = "3.16.0"
ALERTMANAGER_VERSION = "0.35.0"
NODE_EXPORTER_VERSION = "1.8.2"
CADVISOR_VERSION = "0.49.1"
# 2.x layout: compactor.compaction.block_retention (3.0 moved it to backend_worker).
TEMPO_VERSION = "2.6.1"
# OTLP receivers default to localhost since 0.104: endpoints are always explicit. The collector's 1.x modules
# (component, confmap, ...) come with each 0.x release; scripts/build_tools.py reads theirs from otelcol's go.mod.
COLLECTOR_VERSION = "0.165.0"
# The contrib modules (prometheusexporter) had a patch release, 0.165.1, built against the same core
# 0.165.0 / 1.71.0; contrib's 0.165.0 is older within the same release line, so take the patch.
COLLECTOR_CONTRIB_VERSION = "0.165.1"
