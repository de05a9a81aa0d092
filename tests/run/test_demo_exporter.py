"""The demo exporter emits what the real systems emit: each role's page is checked for the traits of the format it
copies (named in obs/run/demo_exporter.py), and the injected truth comes out exactly."""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request

import pytest
import yaml
from prometheus_client import Histogram
from prometheus_client.parser import text_string_to_metric_families

from catalog import metrics as m
from catalog import versions
from obs.run.demo_exporter import (
    CadvisorSimulation,
    CollectorTelemetrySimulation,
    DemoExporter,
    Latency,
    WorkerSettings,
    WorkerSimulation,
    go_float,
    go_text,
)


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def fetch(url: str, accept: str = "") -> tuple[str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode(), response.headers["Content-Type"]


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- cAdvisor 0.49 -------------------------------------------------------------------------------------

@pytest.fixture
def cadvisor():
    clock = Clock()
    simulation = CadvisorSimulation(clock)

    def page() -> dict:
        return families(go_text(simulation.families()).decode())

    return simulation, clock, page


def series(page: dict, metric: str, /, **labels: str) -> list:
    family = page[metric.removesuffix("_total")]
    return [s for s in family.samples if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())]


def test_cadvisor_types_help_and_the_cgroup_v2_cpu_label(cadvisor):
    _, _, read = cadvisor
    page = read()
    assert page["container_cpu_usage_seconds"].type == "counter"
    assert page["container_cpu_usage_seconds"].documentation == "Cumulative cpu time consumed in seconds."
    assert page["container_memory_working_set_bytes"].type == "gauge"
    assert page["container_oom_events"].type == "counter"
    assert {s.labels["cpu"] for s in series(page, "container_cpu_usage_seconds_total")} == {"total"}


def test_cadvisor_labels_each_container_with_the_image_the_compose_file_runs(cadvisor, repo):
    """The `image` label is the compose service's image, tag and all: the Collector's is the contrib image at the
    contrib release (stack/compose.py's COLLECTOR_IMAGE), not the core release."""
    from stack.compose import COLLECTOR_IMAGE

    _, _, read = cadvisor
    services = yaml.safe_load((repo / "docker-compose.yml").read_text())["services"]
    images = {s.labels["container_label_com_docker_compose_service"]: s.labels["image"]
              for s in series(read(), "container_memory_working_set_bytes") if s.labels["id"] != "/"}
    assert set(images) == set(services) - {"tempo-init"}  # the one-shot init container is not running
    assert images == {service: services[service]["image"] for service in images}
    assert images["otel-collector"] == COLLECTOR_IMAGE == services["otel-collector"]["image"]
    assert images["otel-collector"].endswith(f":{versions.COLLECTOR_CONTRIB_VERSION}")


def test_cadvisor_stamps_stats_samples_and_not_spec_samples(cadvisor):
    _, clock, read = cadvisor
    page = read()
    stats = series(page, "container_memory_working_set_bytes") + series(page, "container_cpu_usage_seconds_total")
    for sample in stats:
        assert sample.timestamp is not None and clock.now - 2 <= float(sample.timestamp) <= clock.now
    for name in ("container_start_time_seconds", "container_spec_memory_limit_bytes", "cadvisor_version_info"):
        assert all(s.timestamp is None for s in page[name].samples), name


def test_cadvisor_root_cgroup_and_the_union_of_label_names(cadvisor):
    simulation, _, read = cadvisor
    page = read()
    [root] = series(page, "container_memory_working_set_bytes", id="/")
    assert root.labels["name"] == "" and root.labels["container_label_com_docker_compose_service"] == ""
    # No container has restarted: no restartcount label anywhere.
    memory = page["container_memory_working_set_bytes"].samples
    assert not any("container_label_restartcount" in s.labels for s in memory)
    simulation.restart("grafana", policy=True)
    after = read()
    for sample in after["container_memory_working_set_bytes"].samples:
        assert "container_label_restartcount" in sample.labels  # written on every series, "" where absent
    assert {s.labels["container_label_restartcount"] for s in after["container_memory_working_set_bytes"].samples} \
        == {"", "1"}


def test_a_restart_policy_restart_is_a_new_set_of_series(cadvisor):
    simulation, clock, page = cadvisor
    name = "obs-monitoring-grafana-1"
    [before] = series(page(), "container_cpu_usage_seconds_total", name=name)
    [start_before] = series(page(), "container_start_time_seconds", name=name)
    clock.now += 5
    simulation.restart("grafana", policy=True)
    now = page()
    [cpu] = series(now, "container_cpu_usage_seconds_total", name=name)
    assert cpu.labels["container_label_restartcount"] == "1"
    assert cpu.labels["id"] == before.labels["id"]  # the same container
    assert cpu.value < 1 < before.value  # the new cgroup's counter starts from zero
    assert not series(now, "container_cpu_usage_seconds_total", name=name, container_label_restartcount="")
    [start] = series(now, "container_start_time_seconds", name=name)
    assert start.value == start_before.value  # creation time: a restart does not change it
    simulation.restart("grafana", policy=True)
    assert series(page(), "container_memory_working_set_bytes", name=name)[0].labels[
        "container_label_restartcount"] == "2"


def test_a_manual_restart_keeps_the_labels_and_resets_the_counters(cadvisor):
    simulation, clock, page = cadvisor
    name = "obs-monitoring-tempo-1"
    [before] = series(page(), "container_cpu_usage_seconds_total", name=name)
    clock.now += 5
    simulation.restart("tempo", policy=False)
    [after] = series(page(), "container_cpu_usage_seconds_total", name=name)
    assert after.labels == before.labels and after.value < before.value


def test_a_recreated_container_has_a_new_id(cadvisor):
    simulation, clock, page = cadvisor
    name = "obs-monitoring-tempo-1"
    [before] = series(page(), "container_memory_working_set_bytes", name=name)
    clock.now += 5
    simulation.recreate("tempo")
    [after] = series(page(), "container_memory_working_set_bytes", name=name)
    assert after.labels["id"] != before.labels["id"]
    assert series(page(), "container_start_time_seconds", name=name)[0].value == math.floor(clock.now)


def test_pinned_memory_and_oom_kills(cadvisor):
    simulation, _, page = cadvisor
    simulation.set_memory("grafana", 60 * 2**20)
    simulation.oom_kill("grafana")
    assert series(page(), "container_memory_working_set_bytes", name="obs-monitoring-grafana-1")[0].value == 62914560
    assert series(page(), "container_oom_events_total", name="obs-monitoring-grafana-1")[0].value == 1


def test_go_float_is_strconv_format_float_g_shortest():
    cases = {0: "0", 1: "1", 12.345678: "12.345678", 123456: "123456", 1234567: "1.234567e+06",
             1.2345e8: "1.2345e+08", 0.0001: "0.0001", 0.00001: "1e-05", -3.5: "-3.5", math.inf: "+Inf",
             1733036400.0: "1.7330364e+09"}
    assert {value: go_float(value) for value in cases} == cases


# --- The worker, through prometheus_client ------------------------------------------------------------

def test_worker_failure_share_and_latency_quantiles_are_the_injected_truth():
    from prometheus_client import CollectorRegistry

    clock = Clock()
    settings = WorkerSettings(failure_rate=0.25, evaluations_per_second=10, latency=Latency("uniform", 10, 40))
    worker = WorkerSimulation(CollectorRegistry(), settings, clock=clock)
    durations = []
    for _ in range(400):  # 100 s, 1000 evaluations started
        clock.now += 0.25
        worker.tick(0.25)
        durations += [e.duration for e in worker.flight if e.number >= len(durations)]
    settings.update(stalled=False, evaluations_per_second=0)
    clock.now += 60
    worker.tick(0.25)
    metrics = worker.metrics
    failed = sum(child._value.get() for child in metrics.failed._metrics.values())
    succeeded = sum(child._value.get() for child in metrics.success._metrics.values())
    assert failed + succeeded == 1000 and failed == 250
    ordered = sorted(durations)
    assert abs(ordered[int(0.95 * len(ordered))] - 38.5) < 0.2  # uniform(10, 40): P95 = 38.5 s


def test_a_stalled_worker_keeps_its_batch_in_flight():
    from prometheus_client import CollectorRegistry

    clock = Clock()
    settings = WorkerSettings(evaluations_per_second=0)
    worker = WorkerSimulation(CollectorRegistry(), settings, clock=clock)
    settings.update(stalled=True)
    worker.start_batch(20)
    clock.now += 3600
    worker.tick(0.25)
    assert worker.in_flight == 20
    assert sum(c._value.get() for c in worker.metrics.evaluations._metrics.values()) == 20


def test_worker_serves_openmetrics_with_exemplars_to_prometheus_and_text_to_curl():
    with DemoExporter("worker", failure_rate=0.5) as exporter:
        exporter.settings.update(evaluations_per_second=50, latency=Latency("uniform", 0.01, 0.2))
        time.sleep(1)
        # Prometheus's Accept header (scrape/scrape.go, OpenMetrics first).
        text, content_type = fetch(f"{exporter.url}/metrics", "application/openmetrics-text;version=1.0.0,"
                                   "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5")
        assert content_type.startswith("application/openmetrics-text")
        assert " # {trace_id=" in text and text.rstrip().endswith("# EOF")
        text, content_type = fetch(f"{exporter.url}/metrics")
        assert content_type.startswith("text/plain; version=0.0.4")
        page = families(text)
        assert page["evaluations"].type == "counter" and page["evaluation_duration_seconds"].type == "histogram"
        bounds = {s.labels["le"] for s in page["evaluation_duration_seconds"].samples if s.name.endswith("_bucket")}
        assert bounds == {f"{b}" for b in m.DURATION_BUCKETS} | {"+Inf"}


def test_worker_default_buckets_switch():
    with DemoExporter("worker", buckets="default") as exporter:
        page = families(fetch(f"{exporter.url}/metrics")[0])
    bounds = {float(s.labels["le"]) for s in page["evaluation_duration_seconds"].samples if s.name.endswith("_bucket")}
    assert bounds == set(Histogram.DEFAULT_BUCKETS)


def test_the_gateway_exports_the_shared_families_at_zero():
    with DemoExporter("gateway") as exporter:
        page = families(fetch(f"{exporter.url}/metrics")[0])
    assert {s.value for s in page["evaluations"].samples if s.name == "evaluations_total"} == {0.0}
    assert page["evaluation_success_rate"].samples[0].value == 0.0


def test_worker_control_rejects_bad_input_with_400():
    with DemoExporter("worker") as exporter:
        request = urllib.request.Request(f"{exporter.url}/control?latency=normal:1", method="POST")
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=5)
        assert error.value.code == 400
        assert "latency: expected uniform:LOW:HIGH" in json.loads(error.value.read())["error"]


# --- The Collector ----------------------------------------------------------------------------------------

def test_collector_telemetry_as_the_pinned_collector_serves_it():
    """As otelcol 0.165.0 serves it with the compiled config's reader (tests/e2e/test_traces.py checks the real
    one): counters without _total, no scope labels, the resource on target_info only."""
    simulation = CollectorTelemetrySimulation(Clock())
    simulation.tick(1)
    text = go_text(simulation.families()).decode()
    assert "# TYPE otelcol_exporter_sent_spans counter\n" in text and "_total" not in text
    page = families(text)
    [sent] = page["otelcol_exporter_sent_spans"].samples
    assert sent.labels == {"exporter": "otlp_grpc/tempo", "server_address": "tempo", "server_port": "4317"}
    assert not any("otel_scope" in label for family in page.values() for s in family.samples for label in s.labels)
    assert page["target_info"].samples[0].labels["service_name"] == "otelcol-contrib"
    assert "otelcol_exporter_send_failed_spans" not in page  # no failure yet: no failure counter, as the real one
    simulation.set_export_failing(True)
    simulation.tick(2)
    [failed] = families(go_text(simulation.families()).decode())["otelcol_exporter_send_failed_spans"].samples
    assert failed.value == 2 * simulation.SPANS_PER_SECOND


def test_collector_exporter_carries_the_apps_job_label():
    with DemoExporter("collector") as exporter:
        page = families(fetch(f"{exporter.url}/metrics")[0])
    jobs = {s.labels["job"] for s in page["http_server_duration_milliseconds"].samples}
    assert jobs == {"api-gateway", "celery-worker"}  # Prometheus keeps its own job and renames these exported_job
