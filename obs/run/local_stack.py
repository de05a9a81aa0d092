"""Run the monitoring stack on loopback without Docker, from the compiled configuration.

Debian's `prometheus`, `prometheus-alertmanager` and `prometheus-node-exporter` run for real; the demo
exporter stands in for the services that cannot run here (the platform itself, cAdvisor, the Collector).
The container hostnames of monitoring/prometheus.yml are mapped to free loopback ports by this module,
from the compiled file itself: there is no second, hand-kept copy of the scrape configuration.

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

from obs.core.paths import ALERTMANAGER_FILE, PROMETHEUS_FILE, RULES_DIR
from obs.core.serialize import load_yaml
from obs.run.demo_exporter import DemoExporter

BINARIES = {"prometheus": "prometheus", "alertmanager": "prometheus-alertmanager",
            "node-exporter": "prometheus-node-exporter"}
INSTALL_HINT = "apt-get install prometheus prometheus-alertmanager prometheus-node-exporter"


def local_stand_ins() -> dict[str, str]:
    """How each scrape job is served on a laptop: a real binary, or a role of the demo exporter."""
    from catalog import jobs

    return {
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
    return sorted(binary for binary in BINARIES.values() if shutil.which(binary) is None)


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
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    exporters: dict[str, DemoExporter] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    prometheus_url: str = ""
    alertmanager_url: str = ""
    recorder: WebhookRecorder | None = None
    _own_workdir: bool = False

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
            raise LocalStackError(f"missing {', '.join(missing)}: install them with `{INSTALL_HINT}`")
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
            BINARIES["prometheus"], f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
            "--enable-feature=exemplar-storage",
            "--rules.alert.resend-delay=5s",  # field-facts: a fresh Prometheus may drop the first alert
        ])
        self._wait_ready("prometheus", f"{self.prometheus_url}/-/ready")
        return self

    def _serve(self, job: str, target: str, prometheus_port: int, alertmanager_port: int) -> str:
        host = target.rsplit(":", 1)[0]
        if host in ("prometheus", "localhost") and target.endswith(":9090"):
            return f"127.0.0.1:{prometheus_port}"
        if host == "alertmanager":
            return f"127.0.0.1:{alertmanager_port}"
        stand_in = local_stand_ins().get(job)
        if stand_in is None:
            raise LocalStackError(f"{PROMETHEUS_FILE}: job {job!r} ({target}) has no local stand-in; "
                                  f"add one to obs.local_stack.local_stand_ins()")
        if stand_in.startswith("demo:"):
            exporter = DemoExporter(stand_in.removeprefix("demo:")).start()
            self.exporters[job] = exporter
            return f"127.0.0.1:{exporter.port}"
        port = free_port()
        self._spawn(job, [BINARIES["node-exporter"], f"--web.listen-address=127.0.0.1:{port}"])
        self._wait_ready(job, f"http://127.0.0.1:{port}/metrics")
        return f"127.0.0.1:{port}"

    def _start_alertmanager(self, port: int) -> None:
        assert self.workdir is not None and self.recorder is not None
        config = load_yaml((self.root / ALERTMANAGER_FILE).read_text(encoding="utf-8"))
        local = localize_alertmanager(config, self.recorder.url, self.group_wait)
        (self.workdir / "alertmanager.yml").write_text(yaml.safe_dump(local, sort_keys=False))
        self._spawn("alertmanager", [
            BINARIES["alertmanager"], f"--config.file={self.workdir / 'alertmanager.yml'}",
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

    def served_by(self, job: str) -> str:
        """The binary serving a job that is not a demo exporter: Prometheus, Alertmanager or node-exporter."""
        return BINARIES.get(local_stand_ins().get(job, ""), "?")

    def degrade(self, failure_rate: float, slow: bool = False) -> None:
        """Make the demo worker fail (and optionally slow down), to drive the evaluation alerts."""
        from catalog import jobs

        worker = self.exporters[jobs.CELERY_WORKER.name]
        worker.settings.update(failure_rate=failure_rate, slow=slow)
