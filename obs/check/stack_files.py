"""Checks on each file of the stack: the compose file, the Collector's and Tempo's configs.

No Docker engine or Tempo binary runs here, so the compose file and Tempo's config are checked against a strict
JSON Schema for the version they are written for (obs/schemas/stack/). The Collector's config has no schema: the
pinned Collector itself checks it (`otelcol validate`, obs/check/tools.py, run by `obs validate`), and a copy of
its config structs kept by hand would drift from it at every release. What is checked here, for every file, is
what the real programs do not refuse but the stack needs: pipelines name defined components, memory_limiter
comes first, servers listen on 0.0.0.0, no secret in the compose file, images pinned to the versions
catalog/versions.py gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from obs.core import schemas
from obs.core.documents import dig
from obs.core.errors import Problem, json_path
from obs.core.paths import COLLECTOR_FILE, TEMPO_FILE


def schema_problems(name: str, document: Any, file: str, what: str) -> list[Problem]:
    validator = schemas.validator(f"stack/{name}")
    if validator is None:
        return [Problem(file, what, "$", f"obs ships no schema stack/{name}: the config is written for a version "
                                         "this toolkit does not know")]
    return [Problem(file, what, json_path(at), message) for at, message in validator.findings(document)]


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


def pinned_tags() -> dict[str, tuple[str, str]]:
    """kind -> (the tag its image must have, why): every image runs the version catalog/versions.py pins."""
    from catalog import versions as v

    return {
        "tempo": (v.TEMPO_VERSION, f"{TEMPO_FILE} and its schema are written for Tempo {v.TEMPO_VERSION}"),
        "collector": (v.COLLECTOR_CONTRIB_VERSION,
                      f"{COLLECTOR_FILE} is written for, and checked by, collector {v.COLLECTOR_VERSION} with the "
                      f"contrib modules {v.COLLECTOR_CONTRIB_VERSION}, which the contrib image of that tag ships"),
        "grafana": (v.GRAFANA_VERSION, f"the dashboards are compiled for Grafana {v.GRAFANA_VERSION}"),
        "prometheus": (v.PROMETHEUS_VERSION, f"the rules are tested with Prometheus {v.PROMETHEUS_VERSION}"),
        "alertmanager": (v.ALERTMANAGER_VERSION, f"the routes are tested with Alertmanager {v.ALERTMANAGER_VERSION}"),
        "node-exporter": (v.NODE_EXPORTER_VERSION, f"the host panels are written for node-exporter "
                                                   f"{v.NODE_EXPORTER_VERSION}"),
        "cadvisor": (v.CADVISOR_VERSION, f"the container panels are written for cAdvisor {v.CADVISOR_VERSION}"),
    }


def check_compose(document: Any, file: str, path: str) -> list[Problem]:
    problems = schema_problems("compose.schema.json", document, file, "compose file")
    if problems or not isinstance(document, dict):
        return problems
    pins = pinned_tags()
    services: dict[str, Any] = document["services"]
    declared_volumes = set(document.get("volumes") or {})
    for name, service in services.items():
        what = f"service {name!r}"
        base = ["services", name]
        kind = IMAGE_KINDS.get(image_parts(service["image"])[0])
        tag = image_parts(service["image"])[1]
        if kind in pins and tag.removeprefix("v") != pins[kind][0]:
            problems.append(Problem(file, what, json_path([*base, "image"]), f"{service['image']}: {pins[kind][1]}"))
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


COLLECTOR_SECTIONS = ("receivers", "processors", "exporters", "connectors", "extensions")


def shape_problems(document: Any, file: str) -> list[Problem]:
    """What the checks below rely on; the Collector reports anything finer, with its own words."""
    if not isinstance(document, dict):
        return [Problem(file, "collector", "$", "must be a mapping of receivers, processors, exporters, service")]
    problems = [Problem(file, "collector", json_path([section]), "must be a mapping of component ids to settings")
                for section in COLLECTOR_SECTIONS if not isinstance(document.get(section) or {}, dict)]
    pipelines = dig(document, "service", "pipelines")
    if not isinstance(pipelines, dict) or not pipelines:
        problems.append(Problem(file, "service", "$.service.pipelines", "no pipelines: the Collector would do nothing"))
        return problems
    for name, pipeline in pipelines.items():
        if not isinstance(pipeline, dict):
            problems.append(Problem(file, f"pipeline {name!r}", json_path(["service", "pipelines", name]),
                                    "must be a mapping with receivers, processors, exporters"))
            continue
        for section in ("receivers", "processors", "exporters"):
            ids = pipeline.get(section) or []
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                problems.append(Problem(file, f"pipeline {name!r}", json_path(["service", "pipelines", name, section]),
                                        "must be a list of component ids"))
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
        yield from telemetry_addresses(document)
    else:
        receivers = ((document.get("distributor") or {}).get("receivers") or {})
        for rid, receiver in receivers.items():
            for protocol, settings in ((receiver or {}).get("protocols") or {}).items():
                if isinstance(settings, dict) and "endpoint" in settings:
                    yield ["distributor", "receivers", rid, "protocols", protocol, "endpoint"], settings["endpoint"]


def telemetry_addresses(document: dict[str, Any]) -> Iterator[tuple[list[str | int], str]]:
    """The pull readers of the Collector's own metrics. With none configured the Collector serves them on
    localhost:8888 (service/telemetry/otelconftelemetry), which no other container reaches: that binds nothing
    another service can use, so it is not listed."""
    readers = dig(document, "service", "telemetry", "metrics", "readers") or []
    for index, reader in enumerate(readers if isinstance(readers, list) else []):
        prometheus = dig(reader, "pull", "exporter", "prometheus")
        if isinstance(prometheus, dict):
            host = prometheus.get("host")
            yield (["service", "telemetry", "metrics", "readers", index, "pull", "exporter", "prometheus", "host"],
                   f"{'localhost' if host is None else host}:{prometheus.get('port', '')}")


def bind_problems(document: dict[str, Any], kind: str, file: str) -> Iterator[Problem]:
    for path, address in listen_addresses(document, kind):
        host = str(address).rsplit(":", 1)[0]
        if host not in ("", "0.0.0.0", "[::]", "::"):
            what = ("telemetry" if path[0] == "service" else path[0]) if kind == "collector" else "distributor"
            yield Problem(file, what, json_path(path),
                          f"listens on {address}: inside a container only 0.0.0.0 is reachable from other "
                          "containers and published ports")


def check_collector(document: Any, file: str, path: str) -> list[Problem]:
    problems = shape_problems(document, file)
    if problems:
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


def check_tempo(document: Any, file: str, path: str) -> list[Problem]:
    from catalog.versions import TEMPO_VERSION

    problems: list[Problem] = []
    if isinstance(document, dict):
        for key, where in LATER_TEMPO_KEYS.items():
            if key in document:
                problems.append(Problem(file, "tempo", json_path([key]),
                                        f"{key!r} is a {where} key; this config is for Tempo {TEMPO_VERSION}"))
    schema = schema_problems(f"tempo-{TEMPO_VERSION}.schema.json", document, file, f"tempo {TEMPO_VERSION} config")
    problems += [p for p in schema if not any(f"'{key}'" in p.reason for key in LATER_TEMPO_KEYS)]
    if problems or not isinstance(document, dict):
        return problems
    problems += bind_problems(document, "tempo", file)
    processors = dig(document, "overrides", "defaults", "metrics_generator", "processors") or []
    if processors and not dig(document, "metrics_generator", "storage", "remote_write"):
        problems.append(Problem(file, "metrics_generator", "$.metrics_generator.storage.remote_write",
                                f"processors {', '.join(processors)} are enabled but their metrics go nowhere"))
    return problems
