"""`obs verify` holds every scrape target's /metrics to the contract (check-metrics): a breach on one target fails
the run with a row naming it; a target this machine cannot reach is reported as not checked, never as meeting it.

Prometheus is a stand-in here (every query answers one series, every rule group is loaded and healthy, the targets
are the ones a test gives), so the metrics contract is the only thing that can fail; the targets are real demo
exporters serving prometheus_client's exposition."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalog import metrics as m
from obs.run.demo_exporter import DemoExporter
from obs.run.verify import expected_groups

from helpers import REPO, run_obs


class FakePrometheus:
    """The endpoints `obs verify` reads, answering as a healthy Prometheus 3.16 would."""

    def __init__(self, targets: list[dict[str, str]]) -> None:
        self.targets = targets
        groups = [{"name": name, "rules": [{"name": f"{name}-rule", "health": "ok", "lastError": ""}]}
                  for name in expected_groups(REPO)]
        now = time.time()
        series = [{"metric": {"job": "fake"}, "values": [[now, "1"]], "value": [now, "1"]}]
        self.answers = {
            "/api/v1/status/buildinfo": {"version": "3.16.0"},
            "/api/v1/query": {"resultType": "vector", "result": series},
            "/api/v1/query_range": {"resultType": "matrix", "result": series},
            "/api/v1/rules": {"groups": groups},
        }
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = urllib.parse.urlsplit(self.path).path
                if path.startswith("/api/v1/label/"):
                    data: object = ["value-a"]
                elif path == "/api/v1/targets":
                    data = {"activeTargets": [
                        {"labels": {"job": t["job"], "instance": t["instance"]}, "health": "up", "lastError": "",
                         "scrapeUrl": t["url"]} for t in fake.targets]}
                else:
                    data = fake.answers.get(path)
                body = json.dumps({"status": "success", "data": data} if data is not None else
                                  {"status": "error", "error": f"no {path}"}).encode()
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakePrometheus:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def target(job: str, exporter_or_url: DemoExporter | str) -> dict[str, str]:
    url = exporter_or_url if isinstance(exporter_or_url, str) else f"{exporter_or_url.url}/metrics"
    return {"job": job, "instance": urllib.parse.urlsplit(url).netloc, "url": url}


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gateway() -> Iterator[DemoExporter]:
    with DemoExporter("gateway") as exporter:
        yield exporter


def verify(*targets: dict[str, str], fmt: str = "table"):
    with FakePrometheus(list(targets)) as prometheus:
        return run_obs("verify", "--root", str(REPO), "--prometheus-url", prometheus.url, "--range", "60",
                       "--format", fmt)


def metrics_section(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("metrics contract:"))
    end = next(i for i, line in enumerate(lines) if line.startswith("panels: "))
    return lines[start:end]


def test_targets_meeting_the_contract_pass(gateway):
    """The control: with the stand-in Prometheus and contract-true exporters, verify passes."""
    with DemoExporter("worker") as worker:
        result = verify(target("api-gateway", gateway), target("celery-worker", worker))
    assert result.exit_code == 0, result.stdout
    assert metrics_section(result.stdout) == ["metrics contract: 2/2 targets meet it"]
    assert "targets: 2/2 up" in result.stdout.splitlines()


def test_a_contract_breach_on_one_target_fails_verify_with_a_row_naming_it(gateway):
    """prometheus_client's default buckets end at 10 s: the evaluation-duration histogram cannot resolve the
    latency thresholds, a breach on the worker only."""
    with DemoExporter("worker", buckets="default") as worker:
        url = f"{worker.url}/metrics"
        result = verify(target("api-gateway", gateway), target("celery-worker", worker))
    assert result.exit_code == 1, result.stdout
    section = metrics_section(result.stdout)
    assert section[0] == "metrics contract: 1/2 targets meet it"
    rows = [line for line in section[1:] if not line.startswith("    ")]
    assert len(rows) == 1 and rows[0].startswith(f"  celery-worker {url}: breach "), section
    errors = [line.strip() for line in section[1:] if line.startswith("    error: ")]
    # One line per latency threshold the default buckets cannot resolve (the P95 warning level and alert at least).
    assert len(errors) >= 2, section
    for line in errors:
        assert line.startswith(f"error: {m.EVALUATION_DURATION.name}: cannot resolve "), line
        assert "no bucket boundary there" in line and "use the contract's buckets" in line, line
    # Nothing else failed: the panels, rules and targets of the stand-in are all fine.
    assert "targets: 2/2 up" in result.stdout.splitlines()
    assert "empty" not in result.stdout.rsplit("panels: ", 1)[1]


def test_the_json_report_names_the_breach(gateway):
    with DemoExporter("worker", buckets="default") as worker:
        result = verify(target("api-gateway", gateway), target("celery-worker", worker), fmt="json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    statuses = {m["job"]: m["status"] for m in document["metrics"]}
    assert statuses == {"api-gateway": "ok", "celery-worker": "breach"}
    [worker_result] = [m for m in document["metrics"] if m["job"] == "celery-worker"]
    assert worker_result["problems"] and all(
        p.startswith(f"error: {m.EVALUATION_DURATION.name}: cannot resolve ") for p in worker_result["problems"]
        if p.startswith("error: "))


# --- a target this machine cannot reach --------------------------------------------------------------------

def test_an_unreachable_target_is_reported_as_not_checked_not_as_meeting_the_contract(gateway):
    """Prometheus scrapes it (up), this machine cannot (the compose network's hostnames, seen from the host): not a
    failure of verify, which would then always fail against the compose stack, but never counted as meeting it."""
    url = f"http://127.0.0.1:{closed_port()}/metrics"
    result = verify(target("api-gateway", gateway), target("celery-worker", url))
    assert result.exit_code == 0, result.stdout
    section = metrics_section(result.stdout)
    assert section[0] == "metrics contract: 1/2 targets meet it, 1 not checked (unreachable from this machine)"
    assert section[1:] == [f"  celery-worker {url}: not checked, cannot reach {url}: [Errno 111] Connection refused"]
    document = json.loads(verify(target("api-gateway", gateway), target("celery-worker", url), fmt="json").stdout)
    assert {r["job"]: r["status"] for r in document["metrics"]} == {"api-gateway": "ok", "celery-worker": "unreachable"}


def test_an_unreachable_target_does_not_hide_a_breach_on_another(gateway):
    url = f"http://127.0.0.1:{closed_port()}/metrics"
    with DemoExporter("worker", buckets="default") as worker:
        result = verify(target("api-gateway", url), target("celery-worker", worker))
    assert result.exit_code == 1, result.stdout
    section = metrics_section(result.stdout)
    assert section[0] == "metrics contract: 0/2 targets meet it, 1 not checked (unreachable from this machine)"
    rows = [line for line in section[1:] if not line.startswith("    ")]
    assert rows[0] == f"  api-gateway {url}: not checked, cannot reach {url}: [Errno 111] Connection refused"
    checked = len(m.exported_by("celery-worker"))
    assert rows[1] == f"  celery-worker {worker.url}/metrics: breach {checked} contract metrics" and len(rows) == 2
