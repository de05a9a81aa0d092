"""`obs check-metrics URL...` on running services: it passes on the demo exporter's worker and fails, naming the
problem, on a prometheus_client app with default buckets and on one whose labelled counters are not created at
start-up."""

from __future__ import annotations

import time

import pytest

from obs.run.demo_exporter import DemoExporter, Latency

from helpers import run_obs


@pytest.fixture
def running():
    started: list[DemoExporter] = []

    def start(role: str = "worker", failure_rate: float = 0.3, **options) -> DemoExporter:
        exporter = DemoExporter(role, failure_rate=failure_rate, **options)
        if role == "worker":
            exporter.settings.update(evaluations_per_second=40, latency=Latency("uniform", 0.05, 0.3))
        started.append(exporter.start())
        if role == "worker":
            time.sleep(1.0)  # a few dozen evaluations have completed
        return exporter

    yield start
    for exporter in started:
        exporter.stop()


def test_passes_on_the_demo_worker(running, repo):
    worker = running()
    result = run_obs("check-metrics", "--root", str(repo), f"{worker.url}/metrics")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"{worker.url}/metrics (job celery-worker): 9 contract metrics, 0 problems"


def test_fails_on_default_buckets_naming_the_threshold(running, repo):
    worker = running(buckets="default")
    result = run_obs("check-metrics", "--root", str(repo), f"celery-worker={worker.url}/metrics")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert any("evaluation_duration_seconds: cannot resolve 30 (the EVALUATION_P95_SECONDS alert threshold): no "
               "bucket boundary there" in line for line in errors), result.stderr


def test_fails_on_children_created_on_first_use(running, repo):
    worker = running(pre_initialise=False, failure_rate=0.0)  # no failure yet: the failed counter has no child
    result = run_obs("check-metrics", "--root", str(repo), worker.url)
    assert result.exit_code == 1
    assert "evaluations_failed_total: exported with no series: its labelled children are created on first use" in \
        result.stderr


def test_every_target_of_the_local_stack_passes(running, repo):
    urls = [f"{job}={running(role).url}/metrics" for job, role in (
        ("api-gateway", "gateway"), ("cadvisor", "cadvisor"), ("otel-collector", "collector"),
        ("otel-collector-telemetry", "collector-telemetry"), ("grafana", "grafana"), ("tempo", "tempo"))]
    result = run_obs("check-metrics", "--root", str(repo), *urls)
    assert result.exit_code == 0, result.output
    assert len([line for line in result.stdout.splitlines() if not line.startswith("note:")]) == 6


def test_unreachable_and_unknown_are_one_line_each(repo):
    result = run_obs("check-metrics", "--root", str(repo), "http://127.0.0.1:9/metrics", "nojob=http://127.0.0.1:9")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: http://127.0.0.1:9/metrics: cannot reach http://127.0.0.1:9/metrics:")
    assert len(lines) == 2


def test_a_job_the_catalog_does_not_know(running, repo):
    worker = running()
    result = run_obs("check-metrics", "--root", str(repo), f"celery-workers={worker.url}")
    assert result.exit_code == 1
    assert "unknown job 'celery-workers' (catalog/jobs.py: " in result.stderr
