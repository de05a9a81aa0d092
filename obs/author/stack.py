"""The monitoring stack as content: the compose file (stack/compose.py) and the configs of the two services
that have no toolkit of their own, the OpenTelemetry Collector and Tempo (stack/otel_collector.py,
stack/tempo.py). Each module defines `config`; the build compiles it with `document()`.

The container paths below are where the compose file mounts each compiled file, and where the compiled
files expect each other (prometheus.yml finds its rules relative to itself): the compose content, the build
and the stack's cross-reference check all read them here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from obs.core.paths import ALERTMANAGER_FILE as ALERTMANAGER_FILE
from obs.core.paths import COLLECTOR_FILE as COLLECTOR_FILE
from obs.core.paths import COMPOSE_FILE as COMPOSE_FILE
from obs.core.paths import DASHBOARD_DIR as DASHBOARD_DIR
from obs.core.paths import PROMETHEUS_FILE as PROMETHEUS_FILE
from obs.core.paths import PROVISIONING_DIR as PROVISIONING_DIR
from obs.core.paths import RULES_DIR as RULES_DIR
from obs.core.paths import TEMPO_FILE as TEMPO_FILE

# The compiled files above (obs.core.paths) are re-exported for stack/compose.py, which mounts each where its
# service reads it.

# --- Where each container finds its files ----------------------------------------------------------------------

# In the Prometheus container the configuration is /etc/prometheus/prometheus.yml and the rules are mounted at
# /etc/prometheus/rules. Prometheus resolves rule_files against the configuration file's directory, so the
# relative glob finds the rules there, and finds them in a copy laid out the same way (what promtool checks).
PROMETHEUS_CONFIG_MOUNT = "/etc/prometheus/prometheus.yml"
RULES_MOUNT = "/etc/prometheus/rules"
RULE_FILES = "rules/*.yml"
ALERTMANAGER_CONFIG_PATH = "/etc/alertmanager/alertmanager.yml"
ALERTMANAGER_SECRETS_PATH = "/etc/alertmanager/secrets"
GRAFANA_PROVISIONING_PATH = "/etc/grafana/provisioning"  # Grafana's default (GF_PATHS_PROVISIONING)
# Where the compose file mounts monitoring/grafana/dashboards inside the Grafana container.
DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards"
TEMPO_CONFIG_PATH = "/etc/tempo/tempo.yaml"
TEMPO_DATA_PATH = "/var/tempo"
COLLECTOR_CONFIG_PATH = "/etc/otelcol-contrib/config.yaml"  # the contrib image's default --config


# --- Compose ---------------------------------------------------------------------------------------------------

MountKind = Literal["repo", "host", "volume", "env"]


@dataclass(frozen=True)
class Mount:
    kind: MountKind
    source: str  # repo-relative path, absolute host path, volume name, or ${VARIABLE:?hint}
    target: str
    read_only: bool = True
    propagation: str | None = None

    def to_compose(self) -> dict[str, Any]:
        source = f"./{self.source}" if self.kind == "repo" else self.source
        out: dict[str, Any] = {"type": "volume" if self.kind == "volume" else "bind", "source": source,
                               "target": self.target}
        if self.read_only:
            out["read_only"] = True
        if self.propagation:
            out["bind"] = {"propagation": self.propagation}
        return out


def repo_path(path: str, target: str) -> Mount:
    """A file or folder of this repository, read-only."""
    return Mount("repo", path.strip("/"), target)


def host_path(path: str, target: str, *, propagation: str | None = None) -> Mount:
    """A path of the host system (for the exporters that report on the host), read-only."""
    return Mount("host", path, target, propagation=propagation)


def volume(name: str, target: str) -> Mount:
    """A named volume: the service's data, kept across container re-creation."""
    return Mount("volume", name, target, read_only=False)


def env_path(variable: str, target: str, hint: str) -> Mount:
    """A folder outside the repository, named by an environment variable (compose refuses to start without it)."""
    return Mount("env", f"${{{variable}:?{hint}}}", target)


@dataclass(frozen=True)
class Publish:
    port: int
    host_ip: str | None = "127.0.0.1"  # None: every interface of the host

    def to_compose(self) -> str:
        return f"{self.host_ip}:{self.port}:{self.port}" if self.host_ip else f"{self.port}:{self.port}"


def local(port: int) -> Publish:
    """Published on the host's loopback only: reachable from the host, not from the network."""
    return Publish(port)


def public(port: int) -> Publish:
    """Published on every host interface (host.docker.internal, the bridge gateway, needs this)."""
    return Publish(port, None)


def env(variable: str, hint: str) -> str:
    """A value compose takes from the environment, refusing to start when it is unset."""
    return f"${{{variable}:?{hint}}}"


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    command: Sequence[str] = ()
    entrypoint: Sequence[str] = ()
    user: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    publish: Sequence[Publish] = ()  # reachable from the host
    expose: Sequence[int] = ()  # reachable only inside the compose network
    mounts: Sequence[Mount] = ()
    extra_hosts: Mapping[str, str] = field(default_factory=dict)
    depends_on: Mapping[str, str] = field(default_factory=dict)  # service -> condition
    pid: str | None = None
    # "host": the container shares the host's network namespace (no ports to publish: it listens on the host).
    network_mode: str | None = None
    privileged: bool = False
    devices: Sequence[str] = ()
    restart: str = "unless-stopped"

    def to_compose(self) -> dict[str, Any]:
        out: dict[str, Any] = {"image": self.image}
        if self.entrypoint:
            out["entrypoint"] = list(self.entrypoint)
        if self.command:
            out["command"] = list(self.command)
        if self.user is not None:
            out["user"] = self.user
        if self.environment:
            out["environment"] = dict(self.environment)
        if self.publish:
            out["ports"] = [p.to_compose() for p in self.publish]
        if self.expose:
            out["expose"] = [str(port) for port in self.expose]
        if self.mounts:
            out["volumes"] = [m.to_compose() for m in self.mounts]
        if self.extra_hosts:
            out["extra_hosts"] = [f"{host}:{address}" for host, address in self.extra_hosts.items()]
        if self.depends_on:
            out["depends_on"] = {name: {"condition": condition} for name, condition in self.depends_on.items()}
        if self.network_mode:
            out["network_mode"] = self.network_mode
        if self.pid:
            out["pid"] = self.pid
        if self.privileged:
            out["privileged"] = True
        if self.devices:
            out["devices"] = list(self.devices)
        out["restart"] = self.restart
        return out


@dataclass(frozen=True)
class Compose:
    name: str
    services: Sequence[Service]
    path = COMPOSE_FILE
    what = "compose project"

    def document(self) -> dict[str, Any]:
        names = [s.name for s in self.services]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate service name(s): {', '.join(duplicates)}")
        volumes = {m.source for s in self.services for m in s.mounts if m.kind == "volume"}
        out: dict[str, Any] = {"name": self.name, "services": {s.name: s.to_compose() for s in self.services}}
        if volumes:
            out["volumes"] = {name: {} for name in sorted(volumes)}
        return out


# --- OpenTelemetry Collector -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    id: str  # `type` or `type/name`
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.id.split("/", 1)[0]


@dataclass(frozen=True)
class Pipeline:
    name: str  # traces | metrics | logs, optionally `/name`
    receivers: Sequence[Component]
    exporters: Sequence[Component]
    processors: Sequence[Component] = ()


@dataclass(frozen=True)
class Collector:
    """The collector config, written from its pipelines: a component is defined by being used."""

    pipelines: Sequence[Pipeline]
    extensions: Sequence[Component] = ()
    telemetry: Mapping[str, Any] = field(default_factory=dict)
    version: str | None = None  # the Collector release it is written for; None: the one catalog/versions.py pins
    path = COLLECTOR_FILE
    what = "collector"

    def document(self) -> dict[str, Any]:
        from catalog.versions import COLLECTOR_VERSION

        if self.version not in (None, COLLECTOR_VERSION):
            raise ValueError(f"written for collector {self.version}, but catalog/versions.py pins {COLLECTOR_VERSION} "
                             "(the compose image and the Collector that checks it follow the pin)")
        sections: dict[str, dict[str, Any]] = {"receivers": {}, "processors": {}, "exporters": {}}
        seen: dict[str, Component] = {}
        for pipeline in self.pipelines:
            for section in sections:
                for component in getattr(pipeline, section):
                    other = seen.get(f"{section}:{component.id}")
                    if other is not None and other != component:
                        raise ValueError(f"two different {section} named {component.id!r}")
                    seen[f"{section}:{component.id}"] = component
                    sections[section][component.id] = dict(component.config)
        out: dict[str, Any] = {key: value for key, value in sections.items() if value}
        if self.extensions:
            out["extensions"] = {e.id: dict(e.config) for e in self.extensions}
        service: dict[str, Any] = {}
        if self.extensions:
            service["extensions"] = [e.id for e in self.extensions]
        service["pipelines"] = {
            p.name: {
                "receivers": [c.id for c in p.receivers],
                **({"processors": [c.id for c in p.processors]} if p.processors else {}),
                "exporters": [c.id for c in p.exporters],
            }
            for p in self.pipelines
        }
        if self.telemetry:
            service["telemetry"] = dict(self.telemetry)
        out["service"] = service
        return out


# --- Tempo -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tempo:
    """Single-binary Tempo on local disk, with the metrics-generator remote-writing to Prometheus."""

    http_port: int
    otlp_grpc: str  # listen address, host:port
    otlp_http: str | None
    retention: str  # a Go duration: 168h, not 7d
    wal_path: str
    blocks_path: str
    generator_wal_path: str
    remote_write: Sequence[str]  # URLs
    generator_processors: Sequence[str] = ("service-graphs", "span-metrics")
    external_labels: Mapping[str, str] = field(default_factory=dict)
    max_block_duration: str = "5m"
    log_level: str = "info"
    stream_over_http: bool = True  # Grafana streams TraceQL results over HTTP
    usage_report: bool = False  # Tempo phones home to stats.grafana.org unless told not to
    version: str | None = None  # the Tempo release it is written for; None: the one catalog/versions.py pins
    path = TEMPO_FILE
    what = "tempo"

    def document(self) -> dict[str, Any]:
        from catalog.versions import TEMPO_VERSION

        if self.version not in (None, TEMPO_VERSION):
            raise ValueError(f"written for Tempo {self.version}, but catalog/versions.py pins {TEMPO_VERSION} "
                             "(the schema and the compose image follow the pin)")
        protocols: dict[str, Any] = {"grpc": {"endpoint": self.otlp_grpc}}
        if self.otlp_http:
            protocols["http"] = {"endpoint": self.otlp_http}
        generator: dict[str, Any] = {}
        if self.external_labels:
            generator["registry"] = {"external_labels": dict(self.external_labels)}
        generator["storage"] = {
            "path": self.generator_wal_path,
            "remote_write": [{"url": url, "send_exemplars": True} for url in self.remote_write],
        }
        return {
            "stream_over_http_enabled": self.stream_over_http,
            "server": {"http_listen_port": self.http_port, "log_level": self.log_level},
            "distributor": {"receivers": {"otlp": {"protocols": protocols}}},
            "ingester": {"max_block_duration": self.max_block_duration},
            # Tempo 2.x: retention belongs to the compactor (3.x: backend_worker.compaction.block_retention).
            "compactor": {"compaction": {"block_retention": self.retention}},
            "metrics_generator": generator,
            "storage": {"trace": {"backend": "local", "wal": {"path": self.wal_path},
                                  "local": {"path": self.blocks_path}}},
            "overrides": {"defaults": {"metrics_generator": {"processors": list(self.generator_processors)}}},
            "usage_report": {"reporting_enabled": self.usage_report},
        }
