"""Alertmanager routing, tested with the real tools: `amtool config routes test` for where each alert goes,
and a real Alertmanager (on a loopback port, no clustering) for inhibition and the notifications themselves."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from alerts.alertmanager import ONCALL, TEAM
from obs.check.tools import INSTALL_HINT, find_tool
from obs.core.paths import ALERTMANAGER_FILE, RULES_DIR

from helpers import REPO

CONFIG = REPO / ALERTMANAGER_FILE
RECEIVER_FOR = {"critical": ONCALL, "warning": TEAM}


def tool(name: str) -> str:
    path = find_tool(name)  # the pinned build first, then PATH
    if path is None:
        pytest.fail(f"{name} is not installed: {INSTALL_HINT}")
    return path


def routes_to(*labels: str, expect: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool("amtool"), "config", "routes", "test", f"--config.file={CONFIG}",
                           f"--verify.receivers={expect}", *labels], capture_output=True, text=True, timeout=60,
                          check=False)


def compiled_alerts() -> dict[str, dict]:
    return {rule["alert"]: rule for path in sorted((REPO / RULES_DIR).glob("*.yml"))
            for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"] if "alert" in rule}


@pytest.mark.parametrize("severity, receiver", sorted(RECEIVER_FOR.items()))
def test_each_severity_reaches_its_receiver(severity, receiver):
    result = routes_to(f"severity={severity}", "alertname=Anything", expect=receiver)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_critical_and_warning_go_to_different_receivers():
    assert RECEIVER_FOR["critical"] != RECEIVER_FOR["warning"]
    assert routes_to("severity=critical", expect=TEAM).returncode == 1  # --verify.receivers really verifies


def test_an_alert_without_a_known_severity_still_reaches_the_team():
    result = routes_to("alertname=Unlabelled", "severity=info", expect=TEAM)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(compiled_alerts()))
def test_every_alert_routes_by_its_severity(name):
    alert = compiled_alerts()[name]
    labels = [f"alertname={name}", *(f"{key}={value}" for key, value in alert["labels"].items())]
    result = routes_to(*labels, expect=RECEIVER_FOR[alert["labels"]["severity"]])
    assert result.returncode == 0, result.stdout + result.stderr


# --- A real Alertmanager -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SlackSink(ThreadingHTTPServer):
    """Stands in for Slack's incoming webhook: keeps every JSON payload Alertmanager posts."""

    def __init__(self) -> None:
        self.payloads: list[dict] = []

        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sink.payloads.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[str, SlackSink]]:
    """The committed alertmanager.yml, with only its secret files pointed at files in tmp_path: the Slack
    webhook URL file holds the address of a local sink, the SMTP password a dummy."""
    sink = SlackSink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    config = yaml.safe_load(CONFIG.read_text())
    (tmp_path / "slack_webhook_url").write_text(f"http://127.0.0.1:{sink.server_address[1]}/slack\n")
    (tmp_path / "smtp_password").write_text("not-a-secret\n")
    config["global"]["slack_api_url_file"] = str(tmp_path / "slack_webhook_url")
    config["global"]["smtp_auth_password_file"] = str(tmp_path / "smtp_password")
    config["global"]["smtp_smarthost"] = f"127.0.0.1:{free_port()}"  # nothing listens: email fails fast
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    process = subprocess.Popen(
        [tool("alertmanager"), f"--config.file={tmp_path / 'alertmanager.yml'}",
         f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url, sink
    finally:
        process.terminate()
        process.wait(timeout=10)
        sink.shutdown()
        sink.server_close()


def post_alerts(url: str, alerts: list[dict[str, str]]) -> None:
    body = json.dumps([{"labels": labels, "annotations": {"summary": f"{labels['alertname']} on {labels.get('job')}"}}
                       for labels in alerts])
    request = urllib.request.Request(f"{url}/api/v2/alerts", body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def alert_states(url: str) -> dict[tuple[str, str], dict]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=5) as response:
        alerts = json.loads(response.read())
    return {(a["labels"]["alertname"], a["labels"].get("job", a["labels"].get("instance", ""))): a["status"]
            for a in alerts}


FAILING = {"alertname": "HighEvaluationFailureRate", "severity": "critical", "component": "evaluations",
           "job": "celery-worker"}
LOW_SUCCESS = {"alertname": "LowEvaluationSuccessRate", "severity": "warning", "component": "evaluations",
               "job": "celery-worker"}
LOW_SUCCESS_ELSEWHERE = {**LOW_SUCCESS, "job": "api-gateway"}
HOST_CPU = {"alertname": "HostHighCpuUsage", "severity": "warning", "component": "host",
            "instance": "node-exporter:9100"}


@pytest.mark.e2e
def test_a_critical_alert_inhibits_the_matching_warning_only(alertmanager):
    url, _ = alertmanager
    post_alerts(url, [FAILING, LOW_SUCCESS, LOW_SUCCESS_ELSEWHERE, HOST_CPU])
    states = alert_states(url)
    assert states[("LowEvaluationSuccessRate", "celery-worker")]["state"] == "suppressed"
    assert states[("LowEvaluationSuccessRate", "celery-worker")]["inhibitedBy"]
    for key in [("HighEvaluationFailureRate", "celery-worker"), ("LowEvaluationSuccessRate", "api-gateway"),
                ("HostHighCpuUsage", "node-exporter:9100")]:
        assert states[key]["state"] == "active", key
        assert not states[key]["inhibitedBy"], key


@pytest.mark.e2e
def test_notifications_reach_slack_by_severity_without_the_inhibited_warning(alertmanager):
    """Critical alerts reach the on-call channel after its 10 s group wait, warnings the team channel after 30 s;
    the inhibited warning is in no notification."""
    url, sink = alertmanager
    post_alerts(url, [FAILING, LOW_SUCCESS, LOW_SUCCESS_ELSEWHERE])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len({p["channel"] for p in sink.payloads}) < 2:
        time.sleep(0.5)
    time.sleep(3)  # the inhibited warning's group would flush at the same time as the other warning's
    by_channel: dict[str, str] = {}
    for payload in sink.payloads:
        by_channel[payload["channel"]] = by_channel.get(payload["channel"], "") + json.dumps(payload["attachments"])
    assert set(by_channel) == {"#evaluation-oncall", "#evaluation-alerts"}, sink.payloads
    assert "HighEvaluationFailureRate on celery-worker" in by_channel["#evaluation-oncall"]
    assert "LowEvaluationSuccessRate" not in by_channel["#evaluation-oncall"]
    assert "LowEvaluationSuccessRate on api-gateway" in by_channel["#evaluation-alerts"]
    assert "LowEvaluationSuccessRate on celery-worker" not in json.dumps(sink.payloads)
    assert "[FIRING:1] HighEvaluationFailureRate" in by_channel["#evaluation-oncall"]  # the title template
