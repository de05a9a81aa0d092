"""Run the monitoring stack on loopback without Docker, from the compiled configuration.

The pinned Prometheus, Alertmanager and OpenTelemetry Collector run for real (the builds of scripts/build_tools.py,
else whatever is on PATH: Debian's older Prometheus and Alertmanager; obs.check.tools.locate says which), and
Debian's node-exporter. The Collector runs from the compiled otel-collector-config.yml, its Tempo exporter pointed
at a given OTLP endpoint or at a second Collector standing in for Tempo (it logs every batch it gets). The demo
exporter stands in for what cannot run here: the platform itself and cAdvisor (and the Collector, where it is
not built). The container hostnames of the compiled configs are mapped to free loopback ports by this module,
from the compiled files themselves: there is no second, hand-kept copy of the scrape configuration.

Alertmanager's receivers keep their names, but their email/Slack settings (whose secrets live in files on
the real host) are replaced by a webhook to a local recorder, so a routed alert is visible.
"""

from __future__ import annotations

import copy
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from obs.check.tools import Found, locate
from obs.core.paths import ALERTMANAGER_FILE, COLLECTOR_FILE, PROMETHEUS_FILE, RULES_DIR
from obs.core.serialize import load_yaml
from obs.run.demo_exporter import DemoExporter

REQUIRED = ("prometheus", "alertmanager", "node-exporter")  # obs.check.tools.TOOLS names
INSTALL_HINT = ("python3 scripts/build_tools.py (Prometheus, Alertmanager and the Collector, from their Go modules; "
                "needs Go) and apt-get install prometheus-node-exporter")
# The OTLP exporters of the Collector (and their deprecated aliases): the ones that send traces on to Tempo.
OTLP_EXPORTERS = ("otlp_grpc", "otlp_http", "otlp", "otlphttp")


def local_stand_ins() -> dict[str, str]:
    """How each scrape job is served on a laptop: a real binary, or a role of the demo exporter. Every job
    scraping the Collector (its exporter, its own telemetry) is served by the real Collector."""
    from catalog import jobs, network

    stand_ins = {
        jobs.API_GATEWAY.name: "demo:gateway",
        jobs.CELERY_WORKER.name: "demo:worker",
        jobs.NODE_EXPORTER.name: "node-exporter",
        jobs.CADVISOR.name: "demo:cadvisor",
        jobs.OTEL_COLLECTOR.name: "demo:collector",
        jobs.OTEL_COLLECTOR_TELEMETRY.name: "demo:collector-telemetry",
        jobs.GRAFANA.name: "demo:grafana",
        jobs.TEMPO.name: "demo:tempo",
        # They run here for real and scrape (or are scraped as) themselves.
        jobs.PROMETHEUS.name: "prometheus",
        jobs.ALERTMANAGER.name: "alertmanager",
    }
    stand_ins.update({job.name: "otelcol" for job in jobs.SCRAPE_JOBS if job.host == network.COLLECTOR_METRICS.host})
    return stand_ins

NOTIFIER_KEYS = ("email_configs", "slack_configs", "webhook_configs", "pagerduty_configs", "opsgenie_configs",
                 "victorops_configs", "pushover_configs", "wechat_configs", "sns_configs", "telegram_configs",
                 "webex_configs", "discord_configs", "msteams_configs")


class LocalStackError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing_binaries() -> list[str]:
    return sorted(name for name in REQUIRED if locate(name) is None)


# --- Pure transformations of the compiled configuration ----------------------------------------------------

def scrape_targets(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(job, host:port) for every static target of the compiled prometheus.yml."""
    return [(job["job_name"], target)
            for job in config.get("scrape_configs") or []
            for static in job.get("static_configs") or []
            for target in static.get("targets") or []]


def localize_prometheus(config: dict[str, Any], addresses: dict[str, str], rules_dir: Path,
                        alertmanager: str, interval: str | None = None) -> dict[str, Any]:
    """The compiled prometheus.yml with every target replaced by its loopback address."""
    local = copy.deepcopy(config)
    for job in local.get("scrape_configs") or []:
        for static in job.get("static_configs") or []:
            static["targets"] = [addresses[target] for target in static.get("targets") or []]
        if interval:
            job["scrape_interval"] = interval
            job.pop("scrape_timeout", None)
    if interval:
        local.setdefault("global", {}).update(scrape_interval=interval, evaluation_interval=interval)
        local["global"].pop("scrape_timeout", None)
    local["rule_files"] = [str(rules_dir / "*.yml")]
    for manager in (local.get("alerting") or {}).get("alertmanagers") or []:
        for static in manager.get("static_configs") or []:
            static["targets"] = [alertmanager]
    return local


def localize_alertmanager(config: dict[str, Any], webhook_base: str, group_wait: str | None = None) -> dict[str, Any]:
    """Keep the routing tree and receiver names; deliver every receiver to `webhook_base/<receiver>`."""
    local = copy.deepcopy(config)
    for key in list(local.get("global") or {}):
        if key.endswith("_file") or key.startswith(("smtp_", "slack_")):
            del local["global"][key]
    for receiver in local.get("receivers") or []:
        for key in NOTIFIER_KEYS:
            receiver.pop(key, None)
        receiver["webhook_configs"] = [{"url": f"{webhook_base}/{receiver['name']}", "send_resolved": True}]
    local.pop("templates", None)
    if group_wait:
        _shorten_waits(local.get("route") or {}, group_wait)
    return local


def _shorten_waits(route: dict[str, Any], wait: str) -> None:
    for key in ("group_wait", "group_interval"):
        if key in route:
            route[key] = wait
    for child in route.get("routes") or []:
        _shorten_waits(child, wait)


def localize_collector(config: dict[str, Any], ports: dict[int, int], traces_to: str) -> dict[str, Any]:
    """The compiled Collector config on loopback: each address it listens on (receivers, the Prometheus exporter,
    the telemetry reader), whose container port P is `ports[P]` here, and its OTLP exporters sending to
    `traces_to`. Processors and pipelines stay as compiled."""
    local = copy.deepcopy(config)

    def port_of(address: Any) -> int:
        return ports[int(str(address).rsplit(":", 1)[1])]

    for receiver in (local.get("receivers") or {}).values():
        for settings in ((receiver or {}).get("protocols") or {}).values():
            if isinstance(settings, dict) and "endpoint" in settings:
                settings["endpoint"] = f"127.0.0.1:{port_of(settings['endpoint'])}"
    for eid, exporter in (local.get("exporters") or {}).items():
        kind = eid.split("/", 1)[0]
        if kind == "prometheus" and "endpoint" in exporter:
            exporter["endpoint"] = f"127.0.0.1:{port_of(exporter['endpoint'])}"
        elif kind in OTLP_EXPORTERS:
            exporter["endpoint"] = traces_to if kind in ("otlp_grpc", "otlp") else f"http://{traces_to}"
    metrics = ((local.get("service") or {}).get("telemetry") or {}).get("metrics") or {}
    for reader in metrics.get("readers") or []:
        prometheus = ((reader.get("pull") or {}).get("exporter") or {}).get("prometheus")
        if isinstance(prometheus, dict):
            prometheus.update(host="127.0.0.1", port=ports[int(prometheus["port"])])
    return local


def collector_ports(config: dict[str, Any]) -> list[int]:
    """Every port the compiled Collector config listens on."""
    from obs.check.stack_files import listen_addresses

    return sorted({int(str(address).rsplit(":", 1)[1]) for _, address in listen_addresses(config, "collector")})


def trace_sink_config(listen: str) -> dict[str, Any]:
    """A second Collector standing in for Tempo: OTLP/gRPC in, each batch logged (debug exporter), no telemetry
    port of its own."""
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": listen}}}},
        "exporters": {"debug": {"verbosity": "basic"}},
        "service": {"telemetry": {"metrics": {"level": "none"}},
                    "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["debug"]}}},
    }


# --- A webhook receiver that records what Alertmanager delivers ------------------------------------------

class WebhookRecorder:
    def __init__(self, on_alert: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                receiver = self.path.strip("/")
                with recorder._lock:
                    recorder.received.append((receiver, body))
                if on_alert:
                    on_alert(receiver, body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> WebhookRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def alerts(self) -> list[tuple[str, str, str]]:
        """(receiver, alertname, status) of every alert delivered so far."""
        with self._lock:
            return [(receiver, alert["labels"].get("alertname", ""), alert.get("status", ""))
                    for receiver, body in self.received for alert in body.get("alerts") or []]


# --- The running stack -----------------------------------------------------------------------------------

@dataclass
class LocalStack:
    root: Path
    interval: str | None = None  # a shorter scrape/evaluation interval, for tests
    group_wait: str | None = None  # a shorter Alertmanager group_wait/group_interval, for tests
    on_alert: Callable[[str, dict[str, Any]], None] | None = None
    workdir: Path | None = None
    # Where the Collector sends traces (host:port of an OTLP/gRPC server); None: a second Collector stands in for
    # Tempo and logs what it gets (tempo.log in the workdir).
    traces_to: str | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    exporters: dict[str, DemoExporter] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)  # compiled target -> loopback address
    served_by: dict[str, str] = field(default_factory=dict)  # compiled target -> what serves it
    programs: dict[str, Found] = field(default_factory=dict)  # which binary runs each real service
    prometheus_url: str = ""
    alertmanager_url: str = ""
    otlp_grpc: str = ""  # where to send OTLP: the Collector's receivers (host:port, and an http:// URL)
    otlp_http: str = ""
    otlp_stands_for: str = ""  # the compose addresses they stand in for ("otel-collector:4317, otel-collector:4318")
    recorder: WebhookRecorder | None = None
    _own_workdir: bool = False
    _collector_ports: dict[int, int] = field(default_factory=dict)

    def __enter__(self) -> LocalStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        missing = missing_binaries()
        if missing:
            raise LocalStackError(f"missing {', '.join(missing)}: {INSTALL_HINT}")
        self.programs = {name: found for name in (*REQUIRED, "otelcol") if (found := locate(name)) is not None}
        config_path = self.root / PROMETHEUS_FILE
        if not config_path.is_file():
            raise LocalStackError(f"{PROMETHEUS_FILE} not found: run `obs build` first")
        config = load_yaml(config_path.read_text(encoding="utf-8"))
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="obs-stack-"))
            self._own_workdir = True
        self.recorder = WebhookRecorder(self.on_alert).start()

        prometheus_port, alertmanager_port = free_port(), free_port()
        self.prometheus_url = f"http://127.0.0.1:{prometheus_port}"
        self.alertmanager_url = f"http://127.0.0.1:{alertmanager_port}"
        if "otelcol" in self.programs:
            self._start_collector()
        for job, target in scrape_targets(config):
            if target in self.addresses:
                continue
            self.addresses[target] = self._serve(job, target, prometheus_port, alertmanager_port)

        self._start_alertmanager(alertmanager_port)
        rules_dir = self.workdir / "rules"
        shutil.copytree(self.root / RULES_DIR, rules_dir, dirs_exist_ok=True)
        local = localize_prometheus(config, self.addresses, rules_dir, f"127.0.0.1:{alertmanager_port}",
                                    self.interval)
        (self.workdir / "prometheus.yml").write_text(yaml.safe_dump(local, sort_keys=False))
        self._spawn("prometheus", [
            self.programs["prometheus"].path, f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
            "--enable-feature=exemplar-storage",  # as in the compose file: still a feature flag in 3.x
            "--rules.alert.resend-delay=5s",  # field-facts: a fresh Prometheus may drop the first alert
        ])
        self._wait_ready("prometheus", f"{self.prometheus_url}/-/ready")
        return self

    def _serve(self, job: str, target: str, prometheus_port: int, alertmanager_port: int) -> str:
        host, port = target.rsplit(":", 1)
        if host in ("prometheus", "localhost") and port == "9090":
            self.served_by[target] = str(self.programs["prometheus"])
            return f"127.0.0.1:{prometheus_port}"
        if host == "alertmanager":
            self.served_by[target] = str(self.programs["alertmanager"])
            return f"127.0.0.1:{alertmanager_port}"
        from catalog import network

        # Whatever job scrapes the Collector's address (its exporter, its own telemetry) is served by it.
        stand_in = "otelcol" if host == network.COLLECTOR_METRICS.host else local_stand_ins().get(job)
        if stand_in is None:
            raise LocalStackError(f"{PROMETHEUS_FILE}: job {job!r} ({target}) has no local stand-in; "
                                  f"add one to obs.run.local_stack.local_stand_ins()")
        if stand_in == "otelcol" and self._collector_ports:
            if int(port) not in self._collector_ports:
                raise LocalStackError(f"{PROMETHEUS_FILE}: job {job!r} scrapes {target}, but {COLLECTOR_FILE} "
                                      f"listens on no port {port}")
            self.served_by[target] = str(self.programs["otelcol"])
            return f"127.0.0.1:{self._collector_ports[int(port)]}"
        if stand_in.startswith("demo:") or stand_in == "otelcol":  # no Collector built: the demo stands in for it
            role = stand_in.removeprefix("demo:") if stand_in != "otelcol" else (
                "collector-telemetry" if int(port) == network.COLLECTOR_TELEMETRY.port else "collector")
            exporter = DemoExporter(role).start()
            self.exporters[job] = exporter
            self.served_by[target] = f"demo exporter, role {role}"
            return f"127.0.0.1:{exporter.port}"
        local_port = free_port()
        self._spawn(job, [self.programs["node-exporter"].path, f"--web.listen-address=127.0.0.1:{local_port}"])
        self._wait_ready(job, f"http://127.0.0.1:{local_port}/metrics")
        self.served_by[target] = Path(self.programs["node-exporter"].path).name
        return f"127.0.0.1:{local_port}"

    def _start_collector(self) -> None:
        """The Collector from the compiled config on loopback; its Tempo exporter to `traces_to`, or to a second
        Collector standing in for Tempo."""
        assert self.workdir is not None
        path = self.root / COLLECTOR_FILE
        if not path.is_file():
            raise LocalStackError(f"{COLLECTOR_FILE} not found: run `obs build` first")
        otelcol = self.programs["otelcol"].path
        if self.traces_to is None:
            self.traces_to = f"127.0.0.1:{free_port()}"
            sink = self.workdir / "tempo-stand-in.yml"
            sink.write_text(yaml.safe_dump(trace_sink_config(self.traces_to), sort_keys=False))
            self._spawn("tempo", [otelcol, f"--config={sink}"])
        config = load_yaml(path.read_text(encoding="utf-8"))
        self._collector_ports = {port: free_port() for port in collector_ports(config)}
        local = localize_collector(config, self._collector_ports, self.traces_to)
        (self.workdir / "otel-collector.yml").write_text(yaml.safe_dump(local, sort_keys=False))
        self._spawn("otel-collector", [otelcol, f"--config={self.workdir / 'otel-collector.yml'}"])
        from catalog import network

        self.otlp_grpc = f"127.0.0.1:{self._collector_ports[network.COLLECTOR_OTLP_GRPC.port]}"
        self.otlp_http = f"http://127.0.0.1:{self._collector_ports[network.COLLECTOR_OTLP_HTTP.port]}"
        self.otlp_stands_for = f"{network.COLLECTOR_OTLP_GRPC}, {network.COLLECTOR_OTLP_HTTP}"
        self._wait_ready("otel-collector", f"http://127.0.0.1:{self._collector_ports[network.COLLECTOR_METRICS.port]}"
                         "/metrics")

    def _start_alertmanager(self, port: int) -> None:
        assert self.workdir is not None and self.recorder is not None
        config = load_yaml((self.root / ALERTMANAGER_FILE).read_text(encoding="utf-8"))
        local = localize_alertmanager(config, self.recorder.url, self.group_wait)
        (self.workdir / "alertmanager.yml").write_text(yaml.safe_dump(local, sort_keys=False))
        self._spawn("alertmanager", [
            self.programs["alertmanager"].path, f"--config.file={self.workdir / 'alertmanager.yml'}",
            f"--storage.path={self.workdir / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
        ])
        self._wait_ready("alertmanager", f"{self.alertmanager_url}/-/ready")

    def _spawn(self, name: str, command: list[str]) -> None:
        assert self.workdir is not None
        with (self.workdir / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL, start_new_session=True)

    def _wait_ready(self, name: str, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes.get(name)
            if process is not None and process.poll() is not None:
                raise LocalStackError(f"{name} exited with {process.returncode}: {self.log_tail(name)}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise LocalStackError(f"{name} not ready at {url} after {timeout:.0f} s: {self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 5) -> str:
        assert self.workdir is not None
        path = self.workdir / f"{name}.log"
        text = path.read_text(errors="replace") if path.is_file() else ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        for exporter in self.exporters.values():
            exporter.stop()
        self.exporters.clear()
        if self.recorder is not None:
            self.recorder.stop()
            self.recorder = None
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def jobs(self) -> list[tuple[str, str]]:
        """(job, compiled target) of every scrape target the stack serves."""
        config = load_yaml((self.root / PROMETHEUS_FILE).read_text(encoding="utf-8"))
        return scrape_targets(config)

    def degrade(self, failure_rate: float, slow: bool = False) -> None:
        """Make the demo worker fail (and optionally slow down), to drive the evaluation alerts."""
        from catalog import jobs

        worker = self.exporters[jobs.CELERY_WORKER.name]
        worker.settings.update(failure_rate=failure_rate, slow=slow)
