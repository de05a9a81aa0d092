"""The monitoring stack as content: the compose file (compose.py) and the configs of the OpenTelemetry
Collector (otel_collector.py) and Tempo (tempo.py). Each module defines `config`; `obs build` compiles it."""
