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

from alerts.alertmanager import DEADMAN, RECEIVER_FOR, TEAM
from obs.check.tools import INSTALL_HINT, find_tool
from obs.core.paths import ALERTMANAGER_FILE, RULES_DIR

from helpers import REPO

CONFIG = REPO / ALERTMANAGER_FILE


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


def test_the_watchdog_reaches_the_dead_man_receiver_and_nothing_else_does():
    watchdog = compiled_alerts()["Watchdog"]
    labels = [f"{key}={value}" for key, value in watchdog["labels"].items()]
    result = routes_to("alertname=Watchdog", *labels, expect=DEADMAN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == DEADMAN
    others = {name for name, alert in compiled_alerts().items() if RECEIVER_FOR[alert["labels"]["severity"]] == DEADMAN}
    assert others == {"Watchdog"}


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
    """Stands in for Slack's incoming webhook and the dead-man check: keeps every JSON payload Alertmanager posts,
    with the path and the Authorization header it came with."""

    def __init__(self) -> None:
        self.payloads: list[dict] = []
        self.requests: list[tuple[str, str, dict]] = []  # path, Authorization, payload

        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = json.loads(body)
                sink.requests.append((self.path, self.headers.get("Authorization", ""), payload))
                if self.path == "/slack":
                    sink.payloads.append(payload)
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
    (tmp_path / "deadman_token").write_text("dead-man-token\n")
    [deadman] = [r for r in config["receivers"] if r["name"] == DEADMAN]
    deadman["webhook_configs"][0]["url"] = f"http://127.0.0.1:{sink.server_address[1]}/deadman"
    deadman["webhook_configs"][0]["http_config"]["authorization"]["credentials_file"] = str(tmp_path / "deadman_token")
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
            "instance": "host.docker.internal:9100"}
SLOW_EVALUATIONS = {"alertname": "EvaluationLatencyHigh", "severity": "warning", "component": "evaluations",
                    "job": "celery-worker"}
STALLED = {"alertname": "EvaluationsStalled", "severity": "critical", "component": "evaluations",
           "job": "celery-worker"}
LOW_SUCCESS_STALLED = {**LOW_SUCCESS, "job": "celery-worker-2"}
STALLED_2 = {**STALLED, "job": "celery-worker-2"}
FAST_BURN = {"alertname": "EvaluationErrorBudgetBurnFast", "severity": "critical", "component": "evaluations",
             "slo": "evaluation-success"}
SLOW_BURN = {**FAST_BURN, "alertname": "EvaluationErrorBudgetBurnSlow", "severity": "warning"}
WORKER_DOWN = {"alertname": "CeleryWorkerDown", "severity": "critical", "component": "targets",
               "job": "celery-worker", "instance": "host.docker.internal:8006"}
WATCHDOG = {"alertname": "Watchdog", "severity": "none", "component": "monitoring"}


@pytest.mark.e2e
def test_inhibition_only_where_one_alert_repeats_another(alertmanager):
    """The failure-rate critical mutes the success-rate warning of its job, not the latency warning; a stall mutes
    the success-rate warning; the fast burn mutes the slow one; any other critical (a worker down) mutes nothing."""
    url, _ = alertmanager
    post_alerts(url, [FAILING, LOW_SUCCESS, LOW_SUCCESS_ELSEWHERE, HOST_CPU, SLOW_EVALUATIONS, STALLED_2,
                      LOW_SUCCESS_STALLED, FAST_BURN, SLOW_BURN, WORKER_DOWN])
    states = alert_states(url)
    muted = [("LowEvaluationSuccessRate", "celery-worker"), ("LowEvaluationSuccessRate", "celery-worker-2"),
             ("EvaluationErrorBudgetBurnSlow", "")]
    for key in muted:
        assert states[key]["state"] == "suppressed" and states[key]["inhibitedBy"], key
    for key in [("HighEvaluationFailureRate", "celery-worker"), ("LowEvaluationSuccessRate", "api-gateway"),
                ("HostHighCpuUsage", "host.docker.internal:9100"), ("EvaluationLatencyHigh", "celery-worker"),
                ("EvaluationsStalled", "celery-worker-2"), ("EvaluationErrorBudgetBurnFast", ""),
                ("CeleryWorkerDown", "celery-worker")]:
        assert states[key]["state"] == "active", key
        assert not states[key]["inhibitedBy"], key


@pytest.mark.e2e
def test_the_warning_alone_notifies_the_team_and_the_watchdog_pings_the_dead_man(alertmanager):
    """LowEvaluationSuccessRate firing alone (evaluations lost, not failing) reaches the team channel; the
    Watchdog reaches the dead-man check with the bearer token read from its file."""
    url, sink = alertmanager
    post_alerts(url, [LOW_SUCCESS, WATCHDOG])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not ({r[0] for r in sink.requests} >= {"/slack", "/deadman"}):
        time.sleep(0.5)
    slack = [payload for path, _, payload in sink.requests if path == "/slack"]
    assert slack and slack[0]["channel"] == "#evaluation-alerts"
    assert "LowEvaluationSuccessRate on celery-worker" in json.dumps(slack)
    deadman = [(auth, payload) for path, auth, payload in sink.requests if path == "/deadman"]
    assert deadman, sink.requests
    auth, payload = deadman[0]
    assert auth == "Bearer dead-man-token"
    assert [a["labels"]["alertname"] for a in payload["alerts"]] == ["Watchdog"]
    assert "Watchdog" not in json.dumps(slack)


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
