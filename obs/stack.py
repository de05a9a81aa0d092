"""The monitoring stack: the compose file and the configs of the two services that have no toolkit of their own
(the OpenTelemetry Collector and Tempo), compiled from the content in stack/, and the checks that hold the stack
together.

There is no Docker engine, Tempo or Collector binary to try these files with, so they are checked two ways:

- per file (`@checker`, on a fresh build and by `obs validate`): a strict JSON Schema for the version each
  config is written for (obs/schemas/stack/), plus rules a schema cannot say (pipelines name defined
  components, receivers listen on 0.0.0.0, no secret in the compose file, images pinned to those versions);
- across files (`cross_reference`, in the build and as an `obs validate` tool check): every host:port one file
  names is served by a compose service of that name that exposes, and listens on, that port; every file the
  compose file mounts exists; each service reads the file the build writes for it; rule files, secret files,
  provisioning paths and Tempo's storage resolve through the service's mounts.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import jsonschema
import yaml

from catalog import jobs
from catalog.grafana import GRAFANA_VERSION
from obs.artifacts import (
    ALERTMANAGER_FILE,
    DASHBOARD_DIR,
    DASHBOARD_PROVIDER_FILE,
    DATASOURCES_FILE,
    PROMETHEUS_FILE,
    Artifact,
    check_artifact,
    checker,
    schema_problems,
    tool_check,
    yaml_text,
)
from obs.build import BuildContext, register_stage
from obs.errors import Problem, json_path
from obs.loader import load_objects

# --- Pins: each config is written for, and its schema checks it against, exactly this version ----------------

TEMPO_VERSION = "2.6.1"  # 2.x layout: compactor.compaction.block_retention (3.0 moved it to backend_worker)
COLLECTOR_VERSION = "0.120.0"  # OTLP receivers default to localhost since 0.104: endpoints are always explicit
TEMPO_IMAGE = f"grafana/tempo:{TEMPO_VERSION}"
COLLECTOR_IMAGE = f"otel/opentelemetry-collector-contrib:{COLLECTOR_VERSION}"
GRAFANA_IMAGE = f"grafana/grafana:{GRAFANA_VERSION}"

# --- The files -------------------------------------------------------------------------------------------------

STACK_FOLDER = "stack"
COMPOSE_FILE = "docker-compose.yml"  # at the project root: `docker compose up` from a checkout
COLLECTOR_FILE = "monitoring/otel-collector-config.yml"
TEMPO_FILE = "monitoring/tempo-config.yml"
# PROMETHEUS_FILE and ALERTMANAGER_FILE are written by the alerting build; stack/compose.py mounts
# them, and the rules, where obs/alerting.py says Prometheus finds them, and the checks here read them.
PROVISIONING_DIR = posixpath.dirname(posixpath.dirname(DATASOURCES_FILE))  # monitoring/grafana/provisioning

# --- Where each container finds its files ----------------------------------------------------------------------

ALERTMANAGER_CONFIG_PATH = "/etc/alertmanager/alertmanager.yml"
ALERTMANAGER_SECRETS_PATH = "/etc/alertmanager/secrets"
GRAFANA_PROVISIONING_PATH = "/etc/grafana/provisioning"  # Grafana's default (GF_PATHS_PROVISIONING)
TEMPO_CONFIG_PATH = "/etc/tempo/tempo.yaml"
TEMPO_DATA_PATH = "/var/tempo"
COLLECTOR_CONFIG_PATH = "/etc/otelcol-contrib/config.yaml"  # the contrib image's default --config


# --- The network plan: who listens where, inside the compose network -------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    host: str  # the compose service name
    port: int

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
ALERTMANAGER = Endpoint("alertmanager", 9093)
TEMPO_HTTP = Endpoint("tempo", 3200)
TEMPO_OTLP_GRPC = Endpoint("tempo", 4317)
COLLECTOR_OTLP_GRPC = Endpoint("otel-collector", 4317)
COLLECTOR_OTLP_HTTP = Endpoint("otel-collector", 4318)
COLLECTOR_METRICS = Endpoint(jobs.OTEL_COLLECTOR.host, jobs.OTEL_COLLECTOR_METRICS_PORT)
NODE_EXPORTER = Endpoint(jobs.NODE_EXPORTER.host, jobs.NODE_EXPORTER.port)
CADVISOR = Endpoint("cadvisor", jobs.CADVISOR.port)  # scraped through the host: host.docker.internal:8080
HOST_GATEWAY = "host.docker.internal"


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
    version: str = COLLECTOR_VERSION
    path = COLLECTOR_FILE
    what = "collector"

    def document(self) -> dict[str, Any]:
        if self.version != COLLECTOR_VERSION:
            raise ValueError(f"written for collector {self.version}, but obs/stack.py pins {COLLECTOR_VERSION} "
                             "(the schema and the compose image follow the pin)")
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
    version: str = TEMPO_VERSION
    path = TEMPO_FILE
    what = "tempo"

    def document(self) -> dict[str, Any]:
        if self.version != TEMPO_VERSION:
            raise ValueError(f"written for Tempo {self.version}, but obs/stack.py pins {TEMPO_VERSION} "
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


# --- Build stage -----------------------------------------------------------------------------------------------

StackObject = Compose | Collector | Tempo


def stack_stage(ctx: BuildContext) -> None:
    """Compile stack/*.py (each defines `config`) and cross-check the stack against everything else built."""
    if not (ctx.root / STACK_FOLDER).is_dir():
        return
    loaded, problems = load_objects(ctx.root, STACK_FOLDER, "config", (Compose, Collector, Tempo),
                                    "an obs.stack Compose, Collector or Tempo")
    ctx.problems += problems
    produced: dict[str, str] = {}
    for item in loaded:
        value: StackObject = item.value
        if value.path in produced:
            ctx.problems.append(Problem(item.source, value.what, "",
                                        f"{value.path} is already produced by {produced[value.path]}"))
            continue
        produced[value.path] = item.source
        try:
            document = value.document()
        except ValueError as error:
            ctx.problems.append(Problem(item.source, value.what, "$", str(error)))
            continue
        ctx.artifacts.append(Artifact(value.path, yaml_text(document, item.source), item.source))
    # Cross-check against everything built so far; after a failed stage its output is missing, and saying so
    # again here would only bury the real problem.
    if COMPOSE_FILE in produced and not ctx.problems:
        ctx.problems += cross_reference(ProjectFiles(ctx.root, {a.path: a for a in ctx.artifacts}))


register_stage(stack_stage)


# --- Per-file checks -------------------------------------------------------------------------------------------


@cache
def stack_validator(name: str) -> jsonschema.Draft7Validator:
    resource = resources.files("obs") / "schemas" / "stack" / name
    return jsonschema.Draft7Validator(json.loads(resource.read_text(encoding="utf-8")))


SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE)
REQUIRED_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}$")
ANY_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?P<op>:?[-?+])?[^}]*\}")


def image_parts(image: str) -> tuple[str, str]:
    name, _, tag = image.partition("@")[0].rpartition(":")
    if "/" in tag or not name:  # a registry port, not a tag
        return image, ""
    return name, tag


# Which piece of the stack each image is; the checks know how each one is configured.
IMAGE_KINDS = {
    "prom/prometheus": "prometheus",
    "prom/alertmanager": "alertmanager",
    "grafana/grafana": "grafana",
    "grafana/tempo": "tempo",
    "otel/opentelemetry-collector-contrib": "collector",
    "prom/node-exporter": "node-exporter",
    "gcr.io/cadvisor/cadvisor": "cadvisor",
}
PINNED_TAGS = {"tempo": TEMPO_VERSION, "collector": COLLECTOR_VERSION, "grafana": GRAFANA_VERSION}
PIN_REASONS = {
    "tempo": f"{TEMPO_FILE} and its schema are written for Tempo {TEMPO_VERSION}",
    "collector": f"{COLLECTOR_FILE} and its schema are written for collector {COLLECTOR_VERSION}",
    "grafana": f"the dashboards are compiled for Grafana {GRAFANA_VERSION} (catalog.grafana.GRAFANA_VERSION)",
}


@checker(COMPOSE_FILE)
def check_compose(document: Any, file: str, path: str) -> list[Problem]:
    problems = schema_problems(stack_validator("compose.schema.json"), document, file, "compose file")
    if problems or not isinstance(document, dict):
        return problems
    services: dict[str, Any] = document["services"]
    declared_volumes = set(document.get("volumes") or {})
    for name, service in services.items():
        what = f"service {name!r}"
        base = ["services", name]
        kind = IMAGE_KINDS.get(image_parts(service["image"])[0])
        tag = image_parts(service["image"])[1]
        if kind in PINNED_TAGS and tag.removeprefix("v") != PINNED_TAGS[kind]:
            problems.append(Problem(file, what, json_path([*base, "image"]),
                                    f"{service['image']}: {PIN_REASONS[kind]}"))
        depends = service.get("depends_on") or []
        for other in depends:
            if other not in services:
                problems.append(Problem(file, what, json_path([*base, "depends_on"]),
                                        f"depends on {other!r}, which is not a service"))
        for index, mount in enumerate(service.get("volumes") or []):
            if mount["type"] == "volume" and mount["source"] not in declared_volumes:
                problems.append(Problem(file, what, json_path([*base, "volumes", index, "source"]),
                                        f"named volume {mount['source']!r} is not declared under top-level volumes"))
        environment = service.get("environment") or {}
        for key, value in environment.items():
            if SECRET_NAME.search(key) and not REQUIRED_REFERENCE.match(str(value)):
                problems.append(Problem(file, what, json_path([*base, "environment", key]),
                                        "a secret must come from the environment as ${VARIABLE:?message} "
                                        "(no value, no default, in the file)"))
        if kind == "grafana" and "GF_SECURITY_ADMIN_PASSWORD" not in environment:
            problems.append(Problem(file, what, json_path([*base, "environment"]),
                                    "GF_SECURITY_ADMIN_PASSWORD is not set: Grafana would start with admin/admin"))
    return problems


def pipeline_problems(document: dict[str, Any], file: str) -> Iterator[Problem]:
    """Every id a pipeline names is defined; memory_limiter comes first; extensions in use are defined."""
    pipelines = document["service"]["pipelines"]
    for name, pipeline in pipelines.items():
        what = f"pipeline {name!r}"
        for section in ("receivers", "processors", "exporters"):
            defined = document.get(section) or {}
            for index, component in enumerate(pipeline.get(section) or []):
                if component not in defined:
                    yield Problem(file, what, json_path(["service", "pipelines", name, section, index]),
                                  f"{section[:-1]} {component!r} is not defined under {section}: "
                                  f"defined are {', '.join(sorted(defined)) or 'none'}")
        processors = pipeline.get("processors") or []
        limiters = [i for i, p in enumerate(processors) if p.split("/")[0] == "memory_limiter"]
        if limiters and limiters[0] != 0:
            yield Problem(file, what, json_path(["service", "pipelines", name, "processors"]),
                          "memory_limiter must be the first processor, or it cannot refuse data before the "
                          "others have buffered it")
    extensions = document.get("extensions") or {}
    for index, extension in enumerate(document["service"].get("extensions") or []):
        if extension not in extensions:
            yield Problem(file, "service", json_path(["service", "extensions", index]),
                          f"extension {extension!r} is not defined under extensions")


def listen_addresses(document: dict[str, Any], kind: str) -> Iterator[tuple[list[str | int], str]]:
    """(path, host:port) of every address a Collector or Tempo config binds."""
    if kind == "collector":
        for rid, receiver in (document.get("receivers") or {}).items():
            for protocol, settings in ((receiver or {}).get("protocols") or {}).items():
                if isinstance(settings, dict) and "endpoint" in settings:
                    yield ["receivers", rid, "protocols", protocol, "endpoint"], settings["endpoint"]
        for eid, exporter in (document.get("exporters") or {}).items():
            if eid.split("/")[0] == "prometheus" and isinstance(exporter, dict) and "endpoint" in exporter:
                yield ["exporters", eid, "endpoint"], exporter["endpoint"]
        for xid, extension in (document.get("extensions") or {}).items():
            if isinstance(extension, dict) and "endpoint" in extension:
                yield ["extensions", xid, "endpoint"], extension["endpoint"]
    else:
        receivers = ((document.get("distributor") or {}).get("receivers") or {})
        for rid, receiver in receivers.items():
            for protocol, settings in ((receiver or {}).get("protocols") or {}).items():
                if isinstance(settings, dict) and "endpoint" in settings:
                    yield ["distributor", "receivers", rid, "protocols", protocol, "endpoint"], settings["endpoint"]


def bind_problems(document: dict[str, Any], kind: str, file: str) -> Iterator[Problem]:
    for path, address in listen_addresses(document, kind):
        host = str(address).rsplit(":", 1)[0]
        if host not in ("", "0.0.0.0", "[::]", "::"):
            yield Problem(file, path[0] if kind == "collector" else "distributor", json_path(path),
                          f"listens on {address}: inside a container only 0.0.0.0 is reachable from other "
                          "containers and published ports")


@checker(COLLECTOR_FILE)
def check_collector(document: Any, file: str, path: str) -> list[Problem]:
    validator = stack_validator(f"otel-collector-{COLLECTOR_VERSION}.schema.json")
    problems = schema_problems(validator, document, file, f"collector {COLLECTOR_VERSION} config")
    if problems or not isinstance(document, dict):
        return problems
    problems += pipeline_problems(document, file)
    problems += bind_problems(document, "collector", file)
    return problems


# Keys of later Tempo versions that 2.6 does not know: name the version, so the fix is obvious.
LATER_TEMPO_KEYS = {
    "backend_worker": "Tempo 3.x (on 2.x retention is compactor.compaction.block_retention)",
    "backend_scheduler": "Tempo 2.8+/3.x",
    "backend_scheduler_client": "Tempo 2.8+/3.x",
    "live_store": "Tempo 3.x",
    "block_builder": "Tempo 2.7+",
    "ingest": "Tempo 2.7+",
}


@checker(TEMPO_FILE)
def check_tempo(document: Any, file: str, path: str) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(document, dict):
        for key, where in LATER_TEMPO_KEYS.items():
            if key in document:
                problems.append(Problem(file, "tempo", json_path([key]),
                                        f"{key!r} is a {where} key; this config is for Tempo {TEMPO_VERSION}"))
    validator = stack_validator(f"tempo-{TEMPO_VERSION}.schema.json")
    schema = schema_problems(validator, document, file, f"tempo {TEMPO_VERSION} config")
    problems += [p for p in schema if not any(f"'{key}'" in p.reason for key in LATER_TEMPO_KEYS)]
    if problems or not isinstance(document, dict):
        return problems
    problems += bind_problems(document, "tempo", file)
    processors = dig(document, "overrides", "defaults", "metrics_generator", "processors") or []
    if processors and not dig(document, "metrics_generator", "storage", "remote_write"):
        problems.append(Problem(file, "metrics_generator", "$.metrics_generator.storage.remote_write",
                                f"processors {', '.join(processors)} are enabled but their metrics go nowhere"))
    return problems


def dig(node: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(node, dict) and isinstance(key, str):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
            node = node[key]
        else:
            return None
    return node


# --- Cross-reference -------------------------------------------------------------------------------------------


class ProjectFiles:
    """The project's files as a build would leave them: compiled artifacts over what is on disk."""

    def __init__(self, root: Path, artifacts: Mapping[str, Artifact] | None = None) -> None:
        self.root = root
        self.artifacts = dict(artifacts or {})

    def text(self, path: str) -> str | None:
        if path in self.artifacts:
            return self.artifacts[path].text
        target = self.root / path
        return target.read_text(encoding="utf-8") if target.is_file() else None

    def load(self, path: str) -> Any:
        text = self.text(path)
        if text is None:
            return None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return None  # the file's own checker reports it

    def exists(self, path: str) -> bool:
        path = path.rstrip("/")
        return (path in self.artifacts or any(p.startswith(path + "/") for p in self.artifacts)
                or (self.root / path).exists())

    def glob(self, pattern: str) -> list[str]:
        on_disk = {p.relative_to(self.root).as_posix() for p in self.root.glob(pattern) if p.is_file()}
        return sorted(on_disk | {p for p in self.artifacts if fnmatch(p, pattern)})

    def label(self, path: str) -> str:
        artifact = self.artifacts.get(path)
        return f"{artifact.source} -> {path}" if artifact and artifact.source != path else path


@dataclass(frozen=True)
class MountView:
    index: int
    type: str  # bind | volume
    source: str
    target: str
    read_only: bool

    @property
    def kind(self) -> MountKind:
        if self.type == "volume":
            return "volume"
        if ANY_REFERENCE.search(self.source):
            return "env"
        return "host" if self.source.startswith("/") else "repo"

    @property
    def repo_source(self) -> str:
        return posixpath.normpath(self.source)

    def contains(self, container_path: str) -> str | None:
        """The part of `container_path` below this mount ('' for the mount itself), or None."""
        target = self.target.rstrip("/")
        if container_path == target:
            return ""
        if container_path.startswith(target + "/"):
            return container_path[len(target) + 1:]
        return None


@dataclass
class ServiceView:
    name: str
    image: str
    kind: str | None
    command: list[str]
    environment: dict[str, str]
    published: list[tuple[str | None, int, int]]  # host ip, host port, container port
    exposed: set[int]
    mounts: list[MountView]
    extra_hosts: dict[str, str]
    listens: set[int] | None = None  # None: unknown image, trust the compose file

    @property
    def tag(self) -> str:
        return image_parts(self.image)[1]

    def flag(self, *names: str) -> str | None:
        for index, argument in enumerate(self.command):
            for name in names:
                if argument.startswith(name + "="):
                    return argument.split("=", 1)[1]
                if argument == name and index + 1 < len(self.command):
                    return self.command[index + 1]
        return None

    def resolve(self, container_path: str) -> tuple[MountView, str] | None:
        """The mount a container path lies in (the deepest), and the rest of the path below it."""
        best = None
        for mount in self.mounts:
            rest = mount.contains(container_path)
            if rest is not None and (best is None or len(mount.target) > len(best[0].target)):
                best = (mount, rest)
        return best

    def repo_file(self, container_path: str) -> str | None:
        found = self.resolve(container_path)
        if found is None or found[0].kind != "repo":
            return None
        mount, rest = found
        return posixpath.join(mount.repo_source, rest) if rest else mount.repo_source


PORT_SPEC = re.compile(r"^(?:(?P<ip>[0-9]+(?:\.[0-9]+){3}):)?(?:(?P<host>[0-9]+):)?(?P<container>[0-9]+)"
                       r"(?:/(?:tcp|udp))?$")


def parse_services(compose: dict[str, Any]) -> dict[str, ServiceView]:
    views: dict[str, ServiceView] = {}
    for name, service in (compose.get("services") or {}).items():
        if not isinstance(service, dict):
            continue
        published, exposed = [], set()
        for spec in service.get("ports") or []:
            match = PORT_SPEC.match(str(spec))
            if match:
                container = int(match["container"])
                published.append((match["ip"], int(match["host"] or container), container))
                exposed.add(container)
        for spec in service.get("expose") or []:
            if str(spec).split("/")[0].isdigit():
                exposed.add(int(str(spec).split("/")[0]))
        mounts = [MountView(i, m.get("type", ""), str(m.get("source", "")), str(m.get("target", "")),
                            bool(m.get("read_only")))
                  for i, m in enumerate(service.get("volumes") or []) if isinstance(m, dict)]
        extra_hosts = dict(str(h).split(":", 1) for h in service.get("extra_hosts") or [] if ":" in str(h))
        image = str(service.get("image", ""))
        # A service that replaces the entrypoint (tempo-init's chown) does not run the image's program.
        kind = None if service.get("entrypoint") else IMAGE_KINDS.get(image_parts(image)[0])
        views[name] = ServiceView(name, image, kind,
                                  [str(a) for a in service.get("command") or []],
                                  {k: str(v) for k, v in (service.get("environment") or {}).items()},
                                  published, exposed, mounts, extra_hosts)
    return views


@dataclass(frozen=True)
class ConfigFile:
    """Which file a kind of service reads, where it looks for it, and where the build writes it."""

    flags: tuple[str, ...]
    default: str | None
    expected: str


CONFIG_FILES = {
    "prometheus": ConfigFile(("--config.file",), "/etc/prometheus/prometheus.yml", PROMETHEUS_FILE),
    "alertmanager": ConfigFile(("--config.file",), "/etc/alertmanager/alertmanager.yml", ALERTMANAGER_FILE),
    "tempo": ConfigFile(("-config.file", "--config.file"), None, TEMPO_FILE),
    "collector": ConfigFile(("--config",), "/etc/otelcol-contrib/config.yaml", COLLECTOR_FILE),
}
DEFAULT_PORTS = {"prometheus": 9090, "alertmanager": 9093, "grafana": 3000, "node-exporter": 9100,
                 "cadvisor": 8080}
# Host paths the exporters may read; anything else outside the repository is a mistake or a leak.
HOST_PATHS = {"/", "/proc", "/sys", "/var/run", "/var/lib/docker", "/dev/disk"}


def address_port(value: Any) -> int | None:
    text = str(value or "")
    if "://" in text:
        text = urlsplit(text).netloc
    tail = text.rsplit(":", 1)[-1] if ":" in text else ""
    return int(tail) if tail.isdigit() else None


def as_port(value: Any, default: int) -> int:
    text = str(value or "")
    return int(text) if text.isdigit() else default


class Stack:
    """The compose file and the files its services read, as one thing to check."""

    def __init__(self, files: ProjectFiles, compose: dict[str, Any]) -> None:
        self.files = files
        self.compose_label = files.label(COMPOSE_FILE)
        self.services = parse_services(compose)
        self.problems: list[Problem] = []
        self.configs: dict[str, tuple[ServiceView, str]] = {}  # kind -> (service, repo file it reads)
        for service in self.services.values():
            if service.kind in CONFIG_FILES and service.kind not in self.configs:
                self._locate_config(service)
        for service in self.services.values():
            service.listens = self._listens(service)

    def of_kind(self, kind: str) -> ServiceView | None:
        return next((s for s in self.services.values() if s.kind == kind), None)

    def config(self, kind: str) -> tuple[ServiceView | None, str, Any]:
        """The service of a kind, the repo file holding its config, and that config parsed."""
        service, path = self.configs.get(kind, (self.of_kind(kind), CONFIG_FILES[kind].expected))
        return service, path, self.files.load(path)

    def _compose_problem(self, service: ServiceView, path: list[str | int], reason: str) -> None:
        self.problems.append(Problem(self.compose_label, f"service {service.name!r}",
                                     json_path(["services", service.name, *path]), reason))

    def _locate_config(self, service: ServiceView) -> None:
        spec = CONFIG_FILES[service.kind or ""]
        container_path = service.flag(*spec.flags) or spec.default
        if container_path is None:
            self._compose_problem(service, ["command"], f"no {spec.flags[0]}= flag: which config does it read?")
            return
        found = service.resolve(container_path)
        repo_file = service.repo_file(container_path)
        if found is None or repo_file is None:
            self._compose_problem(service, ["volumes"],
                                  f"reads {container_path}, which no volume of this repository provides")
            return
        if repo_file != spec.expected:
            self._compose_problem(service, ["volumes"], f"reads {container_path} from {repo_file}, but the build "
                                  f"writes its config to {spec.expected}")
        elif found[1] and not self.files.exists(repo_file):  # a file inside a mounted folder
            self._compose_problem(service, ["volumes"], f"reads {container_path} from {repo_file}, which does not "
                                  "exist")
        self.configs[service.kind or ""] = (service, repo_file)

    def _listens(self, service: ServiceView) -> set[int] | None:
        if service.kind in ("prometheus", "alertmanager", "node-exporter"):
            ports = {address_port(service.flag("--web.listen-address")) or DEFAULT_PORTS[service.kind]}
            if service.kind == "alertmanager" and service.flag("--cluster.listen-address") not in ("",):
                ports.add(9094)
            return ports
        if service.kind == "cadvisor":
            return {as_port(service.flag("--port"), DEFAULT_PORTS["cadvisor"])}
        if service.kind == "grafana":
            return {as_port(service.environment.get("GF_SERVER_HTTP_PORT"), DEFAULT_PORTS["grafana"])}
        if service.kind not in ("tempo", "collector") or service.kind not in self.configs:
            return None
        document = self.files.load(self.configs[service.kind][1])
        if not isinstance(document, dict):
            return None
        ports = {address_port(address) for _, address in listen_addresses(document, service.kind)}
        if service.kind == "tempo":
            ports |= {dig(document, "server", "http_listen_port") or 80, dig(document, "server", "grpc_listen_port")
                      or 9095}
        else:
            ports.add(8888)  # the collector's own telemetry
        return {p for p in ports if isinstance(p, int)}


@dataclass(frozen=True)
class Reference:
    """A host:port that one file names, and the service whose container makes the connection."""

    file: str
    obj: str
    path: str
    value: str
    client: ServiceView | None

    def split(self) -> tuple[str, int | None, str]:
        if "://" in self.value:
            parts = urlsplit(self.value)
            default = {"http": 80, "https": 443}.get(parts.scheme)
            try:
                port = parts.port or default
            except ValueError:
                port = None
            return parts.hostname or "", port, parts.path
        host, _, port = self.value.rpartition(":")
        return host, int(port) if port.isdigit() else None, ""


def references(stack: Stack) -> Iterator[Reference]:
    files = stack.files
    prometheus, path, document = stack.config("prometheus")
    label = files.label(path)
    for i, job in enumerate(dig(document, "scrape_configs") or []):
        for j, group in enumerate(dig(job, "static_configs") or []):
            for k, target in enumerate(dig(group, "targets") or []):
                yield Reference(label, f"scrape job {dig(job, 'job_name')!r}",
                                json_path(["scrape_configs", i, "static_configs", j, "targets", k]),
                                str(target), prometheus)
    for i, manager in enumerate(dig(document, "alerting", "alertmanagers") or []):
        for j, group in enumerate(dig(manager, "static_configs") or []):
            for k, target in enumerate(dig(group, "targets") or []):
                yield Reference(label, "alertmanagers", json_path(["alerting", "alertmanagers", i, "static_configs",
                                                                   j, "targets", k]), str(target), prometheus)
    for i, remote in enumerate(dig(document, "remote_write") or []):
        yield Reference(label, "remote_write", json_path(["remote_write", i, "url"]), str(dig(remote, "url")),
                        prometheus)
    grafana = stack.of_kind("grafana")
    for i, datasource in enumerate(dig(files.load(DATASOURCES_FILE), "datasources") or []):
        if dig(datasource, "url"):
            yield Reference(files.label(DATASOURCES_FILE), f"datasource {dig(datasource, 'name')!r}",
                            json_path(["datasources", i, "url"]), str(datasource["url"]), grafana)
    collector, path, document = stack.config("collector")
    for eid, exporter in (dig(document, "exporters") or {}).items():
        if eid.split("/")[0] in ("otlp", "otlphttp") and dig(exporter, "endpoint"):
            yield Reference(files.label(path), f"exporter {eid!r}", json_path(["exporters", eid, "endpoint"]),
                            str(exporter["endpoint"]), collector)
    tempo, path, document = stack.config("tempo")
    for i, remote in enumerate(dig(document, "metrics_generator", "storage", "remote_write") or []):
        yield Reference(files.label(path), "metrics_generator",
                        json_path(["metrics_generator", "storage", "remote_write", i, "url"]),
                        str(dig(remote, "url")), tempo)


def reference_problems(stack: Stack, ref: Reference) -> Iterator[Problem]:
    host, port, url_path = ref.split()

    def problem(reason: str) -> Problem:
        return Problem(ref.file, ref.obj, ref.path, f"{ref.value}: {reason}")

    if port is None:
        yield problem("no port")
        return
    if host == HOST_GATEWAY:
        if ref.client is not None and ref.client.extra_hosts.get(HOST_GATEWAY) != "host-gateway":
            yield problem(f"service {ref.client.name!r} does not map {HOST_GATEWAY} "
                          f"(extra_hosts: {HOST_GATEWAY}:host-gateway)")
        publishers = [(s, ip) for s in stack.services.values() for ip, host_port, _ in s.published
                      if host_port == port]
        if any(ip in (None, "0.0.0.0") for _, ip in publishers):
            return
        if publishers:
            yield problem(f"service {publishers[0][0].name!r} publishes port {port} on {publishers[0][1]} only, "
                          f"which {HOST_GATEWAY} (the bridge gateway) does not reach")
        elif port not in {job.port for job in jobs.APP_JOBS}:
            yield problem(f"no compose service publishes port {port} on the host, and it is not an app port "
                          "(catalog/jobs.py APP_JOBS)")
        return
    if host in ("localhost", "127.0.0.1"):
        if ref.client is not None and ref.client.listens is not None and port not in ref.client.listens:
            yield problem(f"{ref.client.name!r} itself does not listen on {port}")
        return
    service = stack.services.get(host)
    if service is None:
        yield problem(f"no compose service named {host!r} (services: {', '.join(sorted(stack.services))})")
        return
    if port not in service.exposed:
        yield problem(f"service {host!r} does not expose port {port} "
                      f"(it exposes {', '.join(map(str, sorted(service.exposed))) or 'nothing'})")
    elif service.listens is not None and port not in service.listens:
        yield problem(f"service {host!r} exposes {port} but listens on "
                      f"{', '.join(map(str, sorted(service.listens)))}")
    if service.kind == "prometheus" and url_path.rstrip("/") == "/api/v1/write" and not (
            "--web.enable-remote-write-receiver" in service.command
            or service.flag("--enable-feature") == "remote-write-receiver"):
        yield problem(f"remote-writes to {host!r}, which runs without --web.enable-remote-write-receiver")


def mount_problems(stack: Stack) -> Iterator[Problem]:
    for service in stack.services.values():
        what = f"service {service.name!r}"
        for mount in service.mounts:
            where = json_path(["services", service.name, "volumes", mount.index, "source"])
            reason = None
            if mount.kind == "repo" and mount.repo_source.startswith(".."):
                reason = f"mounts {mount.source}, outside the repository"
            elif mount.kind == "repo" and not stack.files.exists(mount.repo_source):
                reason = f"mounts {mount.source}, which does not exist in the repository"
            elif mount.kind == "host" and mount.source.rstrip("/") not in HOST_PATHS | {""}:
                reason = (f"mounts host path {mount.source}; only repository files and "
                          f"{', '.join(sorted(HOST_PATHS))} may be mounted")
            elif mount.kind == "env" and not mount.read_only:
                reason = "a folder from the environment (secrets) must be mounted read-only"
            if reason:
                yield Problem(stack.compose_label, what, where, reason)


def prometheus_problems(stack: Stack) -> Iterator[Problem]:
    service, path, document = stack.config("prometheus")
    if service is None or not isinstance(document, dict):
        return
    config_path = service.flag("--config.file") or CONFIG_FILES["prometheus"].default or ""
    for index, pattern in enumerate(document.get("rule_files") or []):
        where = (stack.files.label(path), "rule_files", json_path(["rule_files", index]))
        container = posixpath.normpath(posixpath.join(posixpath.dirname(config_path), str(pattern)))
        found = service.resolve(container)
        if found is None:
            yield Problem(*where, f"{pattern} is not inside any volume mounted into service {service.name!r}")
            continue
        mount, rest = found
        if mount.kind == "repo":
            repo_pattern = posixpath.join(mount.repo_source, rest) if rest else mount.repo_source
            if not stack.files.glob(repo_pattern):
                yield Problem(*where, f"{pattern} matches no file: it is {repo_pattern} in the repository, "
                              f"mounted at {mount.target}")


def alertmanager_problems(stack: Stack) -> Iterator[Problem]:
    service, path, document = stack.config("alertmanager")
    if service is None or not isinstance(document, dict):
        return

    def files_named(node: Any, at: list[str | int]) -> Iterator[tuple[list[str | int], str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and (key.endswith("_file") or key == "templates"):
                    yield [*at, key], value
                else:
                    yield from files_named(value, [*at, key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, str) and at and at[-1] == "templates":
                    yield [*at, index], value
                else:
                    yield from files_named(value, [*at, index])

    for at, container_path in files_named(document, []):
        found = service.resolve(posixpath.normpath(container_path))
        if found is None:
            yield Problem(stack.files.label(path), "alertmanager", json_path(at),
                          f"{container_path} is not inside any volume mounted into service {service.name!r}")
        elif found[0].kind == "repo" and "*" not in container_path:
            repo_file = service.repo_file(container_path) or ""
            if not stack.files.exists(repo_file):
                yield Problem(stack.files.label(path), "alertmanager", json_path(at),
                              f"{container_path} is {repo_file} in the repository, which does not exist")


def grafana_problems(stack: Stack) -> Iterator[Problem]:
    service = stack.of_kind("grafana")
    if service is None:
        return
    provisioning = service.environment.get("GF_PATHS_PROVISIONING", GRAFANA_PROVISIONING_PATH)
    if service.repo_file(provisioning) != PROVISIONING_DIR:
        yield Problem(stack.compose_label, f"service {service.name!r}",
                      json_path(["services", service.name, "volumes"]),
                      f"Grafana reads provisioning from {provisioning}, which must be {PROVISIONING_DIR} of this "
                      "repository")
    for index, provider in enumerate(dig(stack.files.load(DASHBOARD_PROVIDER_FILE), "providers") or []):
        container_path = str(dig(provider, "options", "path") or "")
        if service.repo_file(container_path) != DASHBOARD_DIR:
            yield Problem(stack.files.label(DASHBOARD_PROVIDER_FILE), f"provider {dig(provider, 'name')!r}",
                          json_path(["providers", index, "options", "path"]),
                          f"{container_path}: service {service.name!r} has no volume there holding {DASHBOARD_DIR}")


def tempo_problems(stack: Stack) -> Iterator[Problem]:
    service, path, document = stack.config("tempo")
    if service is None or not isinstance(document, dict):
        return
    for keys in (("storage", "trace", "wal", "path"), ("storage", "trace", "local", "path"),
                 ("metrics_generator", "storage", "path")):
        value = dig(document, *keys)
        if not isinstance(value, str):
            continue
        found = service.resolve(posixpath.normpath(value))
        if found is None or found[0].kind != "volume":
            yield Problem(stack.files.label(path), "tempo", json_path(list(keys)),
                          f"{value} is not on a volume of service {service.name!r}: it is lost when the container "
                          "is re-created")


def listen_problems(stack: Stack) -> Iterator[Problem]:
    """A port the compose file exposes that the service does not listen on is a typo on one side."""
    for service in stack.services.values():
        if service.listens is None:
            continue
        for port in sorted(service.exposed - service.listens):
            yield Problem(stack.compose_label, f"service {service.name!r}",
                          json_path(["services", service.name, "expose" if port not in
                                     {c for _, _, c in service.published} else "ports"]),
                          f"exposes port {port}, but {service.name} listens on "
                          f"{', '.join(map(str, sorted(service.listens)))}")


def version_problems(stack: Stack) -> Iterator[Problem]:
    """Grafana is told which Prometheus it talks to; that must be the one the compose file runs."""
    for index, datasource in enumerate(dig(stack.files.load(DATASOURCES_FILE), "datasources") or []):
        told = dig(datasource, "jsonData", "prometheusVersion")
        host = urlsplit(str(dig(datasource, "url") or "")).hostname
        service = stack.services.get(host or "")
        if told and service is not None and service.kind == "prometheus" and service.tag.removeprefix("v") != told:
            yield Problem(stack.files.label(DATASOURCES_FILE), f"datasource {dig(datasource, 'name')!r}",
                          json_path(["datasources", index, "jsonData", "prometheusVersion"]),
                          f"{told}, but the compose file runs {service.image}")


def cross_reference(files: ProjectFiles) -> list[Problem]:
    compose = files.load(COMPOSE_FILE)
    if not isinstance(compose, dict) or not isinstance(compose.get("services"), dict):
        return []  # missing (no stack in this project) or malformed (its checker says so)
    stack = Stack(files, compose)
    checks: list[Callable[[Stack], Iterator[Problem]]] = [
        mount_problems, prometheus_problems, alertmanager_problems, grafana_problems, tempo_problems,
        listen_problems, version_problems,
    ]
    problems = [p for check in checks for p in check(stack)]
    for ref in references(stack):
        problems += reference_problems(stack, ref)
    return stack.problems + problems


@tool_check
def check_stack(root: Path) -> list[Problem]:
    """`obs validate`: the compose file (which lives outside monitoring/) and the whole stack's cross-references."""
    files = ProjectFiles(root)
    text = files.text(COMPOSE_FILE)
    if text is None:
        return []
    return check_artifact(COMPOSE_FILE, text) + cross_reference(files)
