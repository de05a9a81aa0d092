"""What holds the stack together, across files: every host:port one file names is served by a compose service
of that name that exposes, and listens on, that port; every file the compose file mounts exists; each service
reads the file the build writes for it; rule files, secret files, provisioning paths and Tempo's storage
resolve through the service's mounts.

Run on a fresh build (the build's artifacts over what is on disk) and by `obs validate` on the files as they
are.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from obs.author.stack import GRAFANA_PROVISIONING_PATH, MountKind
from obs.check.stack_files import ANY_REFERENCE, IMAGE_KINDS, image_parts, listen_addresses
from obs.core.artifacts import Artifact
from obs.core.documents import dig
from obs.core.errors import Problem, json_path
from obs.core.paths import (
    ALERTMANAGER_FILE,
    COLLECTOR_FILE,
    COMPOSE_FILE,
    DASHBOARD_DIR,
    DASHBOARD_PROVIDER_FILE,
    DATASOURCES_FILE,
    PROMETHEUS_FILE,
    PROVISIONING_DIR,
    TEMPO_FILE,
)
from obs.core.serialize import load_yaml


class ProjectFiles:
    """The project's files as a build would leave them: compiled artifacts over what is on disk."""

    def __init__(self, root: Path, artifacts: Mapping[str, Artifact] | None = None) -> None:
        self.root = root
        self.artifacts = dict(artifacts or {})
        self._loaded: dict[str, Any] = {}

    def text(self, path: str) -> str | None:
        if path in self.artifacts:
            return self.artifacts[path].text
        target = self.root / path
        return target.read_text(encoding="utf-8") if target.is_file() else None

    def load(self, path: str) -> Any:
        """The file parsed (once: the checks read the same files many times); None when it is missing or
        does not parse (its own check reports that). Callers must not change what they get."""
        if path not in self._loaded:
            text = self.text(path)
            try:
                self._loaded[path] = None if text is None else load_yaml(text)
            except yaml.YAMLError:
                self._loaded[path] = None
        return self._loaded[path]

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
    host_network: bool = False  # network_mode: host: it listens on the host's interfaces, host.docker.internal too
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
                                  published, exposed, mounts, extra_hosts,
                                  host_network=service.get("network_mode") == "host")
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


# The Collector's OTLP exporters at 0.165, with their deprecated aliases (exporter/otlp*exporter/metadata.yaml).
OTLP_EXPORTER_TYPES = ("otlp_grpc", "otlp_http", "otlp", "otlphttp")


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
        if eid.split("/")[0] in OTLP_EXPORTER_TYPES and dig(exporter, "endpoint"):
            yield Reference(files.label(path), f"exporter {eid!r}", json_path(["exporters", eid, "endpoint"]),
                            str(exporter["endpoint"]), collector)
    tempo, path, document = stack.config("tempo")
    for i, remote in enumerate(dig(document, "metrics_generator", "storage", "remote_write") or []):
        yield Reference(files.label(path), "metrics_generator",
                        json_path(["metrics_generator", "storage", "remote_write", i, "url"]),
                        str(dig(remote, "url")), tempo)


def reference_problems(stack: Stack, ref: Reference) -> Iterator[Problem]:
    from catalog import jobs
    from catalog.network import HOST_GATEWAY

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
        if any(s.host_network and s.listens is not None and port in s.listens for s in stack.services.values()):
            return
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
