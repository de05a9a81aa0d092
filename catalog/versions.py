"""Every version the project pins, in one place: the compose images run exactly these, the compiled configs are
written for them, and the tests run the same Prometheus, Alertmanager and Collector, built from their Go modules
by scripts/build_tools.py (node-exporter is Debian's package; Grafana, Tempo and cAdvisor do not run here).

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
# The OpenTelemetry Collector the compiled config is written for. scripts/build_tools.py builds it from the core
# modules at this release (their 1.x siblings, component, confmap..., at the version otelcol's go.mod names).
COLLECTOR_VERSION = "0.165.0"
# The contrib modules (prometheusexporter) had a patch release, 0.165.1, built on the same core 0.165.0 / 1.71.0.
# The compose image otel/opentelemetry-collector-contrib is tagged with the contrib release it ships: the
# distributions are released per contrib release, patch releases included (opentelemetry-collector-releases'
# CHANGELOG: v0.120.1, v0.123.1, v0.124.1), so its 0.165.1 runs exactly the modules the tests build.
COLLECTOR_CONTRIB_VERSION = "0.165.1"
