"""End to end, on the real Prometheus and Alertmanager (the pinned builds), node-exporter (Debian's) and the real
Collector from the compiled config (spans flowing through it from an app), fed by demo exporters that emit what
the real systems emit (obs/run/demo_exporter.py: client_python for the worker, cAdvisor 0.49's format, Grafana's
and Tempo's metrics): every panel shows data, every rule evaluates, every target meets the
metrics contract, and the panels' queries return the truth injected through the demo exporters (a restart counted
once, memory not doubled across one, a known failure share, a P95 within one bucket of a known latency
distribution, a known share over the SLO's windows for the error budget and burn rates). Degrading the worker
drives the evaluation alerts, and alerts reach the receiver the routing tree names, with only the warning that
repeats the critical inhibited.

One stack for the module, on free loopback ports, with 2 s scrape and evaluation intervals.
Run alone with `pytest -m e2e`.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from obs.check.promql import substitute
from obs.check.tools import find_tool
from obs.core.paths import ALERTMANAGER_FILE, DASHBOARD_DIR
from obs.run import verify as verifying
from obs.run.demo_exporter import TICK_SECONDS, CadvisorSimulation, DemoExporter, Latency
from obs.run.local_stack import LocalStack, missing_binaries
from obs.run.verify import Prometheus, wait_until

from helpers import pinned_tool, tools_required

pytestmark = pytest.mark.e2e

if missing_binaries():
    reason = f"needs {', '.join(missing_binaries())} (make test installs them)"
    if tools_required():  # CI / OBS_REQUIRE_TOOLS=1: a missing binary is a broken set-up, not a skip
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

SCRAPE_INTERVAL = "2s"  # Prometheus's scrape and rule-evaluation interval for the module's stack
RATE_INTERVAL = "10s"
MIB = 2**20


def seconds(duration: str) -> float:
    from catalog import thresholds as t

    return t.seconds(duration)


@pytest.fixture(scope="module")
def stack(request):
    from helpers import REPO

    with LocalStack(REPO, interval=SCRAPE_INTERVAL, group_wait="1s") as running, spans_flowing(running):
        yield running


@contextlib.contextmanager
def spans_flowing(stack: LocalStack):
    """Where the real Collector runs, the apps send it what the platform's do: the worker an evaluation's spans
    every second, and both services their HTTP server durations (as the FastAPI and Celery instrumentations record
    them) over OTLP. The trace-pipeline panels then read what flows through the Collector (its exporter counters
    exist from the first export), and its Prometheus exporter carries the apps' metrics."""
    if not stack.otlp_grpc:  # no Collector built: the demo exporter stands in for it
        yield
        return
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    tracing = TracerProvider(resource=Resource.create({"service.name": "celery-worker"}))
    tracing.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=stack.otlp_grpc, insecure=True),
                                                  schedule_delay_millis=200))
    tracer = tracing.get_tracer("e2e")
    meters = [MeterProvider(resource=Resource.create({"service.name": service}), metric_readers=[
        PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=stack.otlp_grpc, insecure=True),
                                      export_interval_millis=1000)]) for service in ("api-gateway", "celery-worker")]
    durations = [meter.get_meter("e2e").create_histogram("http.server.duration", unit="ms") for meter in meters]
    stop = threading.Event()

    def send() -> None:
        while not stop.wait(1.0):
            with tracer.start_as_current_span("run_batch_evaluation"), \
                    tracer.start_as_current_span("evaluate_single_case"):
                tracer.start_span("llm_invoke").end()
            for duration in durations:
                duration.record(120, {"http.method": "POST", "http.status_code": 200})

    thread = threading.Thread(target=send, name="e2e-apps", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        tracing.shutdown()
        for meter in meters:
            meter.shutdown()


@pytest.fixture(scope="module")
def prometheus(stack) -> Prometheus:
    return Prometheus(stack.prometheus_url)


def report(stack, prometheus):
    from helpers import REPO

    allowed = verifying.load_allow_empty(REPO, [])
    return verifying.verify(prometheus, REPO, allowed, window=60, step=2, rate_interval=RATE_INTERVAL)


@pytest.fixture(scope="module")
def ready(stack, prometheus):
    """The stack once every rate window has samples: the verify report then, which must be clean."""
    latest = {}

    def healthy() -> bool:
        latest["report"] = report(stack, prometheus)
        return not latest["report"].failed

    assert wait_until(healthy, timeout=60, interval=2), verifying.format_table(latest["report"])
    return latest["report"]


def panel_targets(uid: str, title: str) -> tuple[dict, list[dict]]:
    """The compiled dashboard and the targets of its panel `title`."""
    from helpers import REPO

    document = json.loads((REPO / DASHBOARD_DIR / f"{uid}.json").read_text())
    [panel] = [p for p in document["panels"] if p.get("title") == title]
    return document, panel["targets"]


def panel_expr(prometheus: Prometheus, uid: str, title: str, *, window: str = "60s", ref: str = "A") -> str:
    """A panel's query with its variables filled in as Grafana would ("All", the suite's rate interval)."""
    document, targets = panel_targets(uid, title)
    [target] = [t for t in targets if t["refId"] == ref]
    values = verifying.variable_values(prometheus, document)
    return substitute(target["expr"], {**values, "__rate_interval": RATE_INTERVAL, "__range": window})


def panel_values(prometheus: Prometheus, uid: str, title: str, *, window: str = "60s",
                 ref: str = "A") -> list[tuple[dict[str, str], float]]:
    """What a panel's query returns now, as Grafana would run it: (labels, value) per series."""
    expr = panel_expr(prometheus, uid, title, window=window, ref=ref)
    result = prometheus.get("/api/v1/query", query=expr, time=time.time())["result"]
    return [(series["metric"], float(series["value"][1])) for series in result]


def panel_series(prometheus: Prometheus, uid: str, title: str, start: float, end: float, *, step: float = 1.0,
                 ref: str = "A") -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    """What a time-series panel draws from `start` to `end`, as Grafana runs it (a range query, a point a
    `step`): (labels, [(time, value)...]) per series."""
    expr = panel_expr(prometheus, uid, title, ref=ref)
    result = prometheus.get("/api/v1/query_range", query=expr, start=start, end=end, step=step)["result"]
    return [(series["metric"], [(float(at), float(value)) for at, value in series["values"]]) for series in result]


def alert_states(prometheus: Prometheus) -> dict[str, str]:
    return {a["labels"]["alertname"]: a["state"] for a in prometheus.get("/api/v1/alerts")["alerts"]}


def by_name(rows: list[tuple[dict[str, str], float]]) -> dict[str, float]:
    return {labels.get("name", ""): value for labels, value in rows}


# --- Every panel, rule and target ------------------------------------------------------------------------------

def test_every_panel_shows_data_rules_evaluate_and_targets_meet_the_contract(ready):
    from catalog import jobs

    result = ready
    assert {p.status for p in result.panels} <= {"ok", "allowed-empty", "skipped"}
    assert sum(p.status == "ok" for p in result.panels) >= 60
    assert [p.panel for p in result.panels if p.status == "allowed-empty"] == ["Firing alerts"]
    assert result.rules and all(rule.health == "ok" for rule in result.rules)
    assert not result.missing_groups
    assert {t["job"] for t in result.targets} == {job.name for job in jobs.SCRAPE_JOBS}
    # check-metrics on every target, the real Prometheus, Alertmanager and node-exporter included.
    assert {m.job: m.status for m in result.metrics} == {job.name: "ok" for job in jobs.SCRAPE_JOBS}
    assert result.prometheus_version.startswith(("2.", "3."))


def test_the_stack_runs_the_pinned_prometheus_and_alertmanager(stack, prometheus):
    """What answers on the stack's ports is the release catalog/versions.py pins, as the running servers say."""
    from catalog import versions

    for name in ("prometheus", "alertmanager"):
        pinned_tool(name)  # where only Debian's older release is there: skipped, and a failure where tools are required
    assert prometheus.get("/api/v1/status/buildinfo")["version"] == versions.PROMETHEUS_VERSION
    with urllib.request.urlopen(f"{stack.alertmanager_url}/api/v2/status", timeout=5) as response:
        status = json.load(response)
    assert status["versionInfo"]["version"] == versions.ALERTMANAGER_VERSION
    assert (stack.programs["prometheus"].pinned, stack.programs["alertmanager"].pinned) == (
        versions.PROMETHEUS_VERSION, versions.ALERTMANAGER_VERSION)


def test_the_apps_otlp_metrics_keep_their_job_as_exported_job(prometheus, ready):
    """The Collector's exporter writes the app's `job`; the scrape's own job wins (honor_labels: false)."""
    result = prometheus.get("/api/v1/query", query="http_server_duration_milliseconds_count")["result"]
    assert {s["metric"]["job"] for s in result} == {"otel-collector"}
    assert {s["metric"]["exported_job"] for s in result} == {"api-gateway", "celery-worker"}


def test_obs_verify_command_reports_json(stack, ready, repo):
    from helpers import run_obs

    result = run_obs("verify", "--root", str(repo), "--prometheus-url", stack.prometheus_url, "--range", "60",
                     "--rate-interval", RATE_INTERVAL, "--format", "json")
    assert result.exit_code == 0, result.stdout
    document = json.loads(result.stdout)
    assert document["ok"] is True
    compiled = sum(len([p for p in json.loads(path.read_text())["panels"] if p["type"] != "row"])
                   for path in (repo / DASHBOARD_DIR).glob("*.json"))
    assert len(document["panels"]) == compiled
    assert len(document["metrics"]) == 10 and {m["status"] for m in document["metrics"]} == {"ok"}


def test_obs_verify_fails_on_a_panel_with_a_wrong_label(stack, ready, project):
    from helpers import run_obs

    path = project / "monitoring/grafana/dashboards/obs-evaluation-analytics.json"
    path.write_text(path.read_text().replace('job=\\"celery-worker\\"', 'job=\\"celery-workers\\"', 1))
    result = run_obs("verify", "--root", str(project), "--prometheus-url", stack.prometheus_url, "--range", "60",
                     "--rate-interval", RATE_INTERVAL)
    assert result.exit_code == 1
    empty = [line for line in result.stdout.splitlines() if re.search(r"\s{2,}empty\s{2,}", line)]
    assert len(empty) == 1, result.stdout
    [line] = empty
    assert line.startswith("obs-evaluation-analytics / Evaluations ") and "A: no data" in line


# --- The truth injected through the demo exporters ---------------------------------------------------------

def test_restarts_are_counted_once_and_memory_is_not_doubled(stack, prometheus, ready):
    """grafana restarted by the restart policy (a new set of series, container_label_restartcount="1"), tempo
    restarted by hand (same series, counters from zero). grafana's memory is pinned at 60 MiB across its restart:
    with cAdvisor's own timestamps honoured, the old series would linger for 5 minutes and count it twice. The
    "Container restarts" time series counts each restart once, in the rate windows that hold it, and nothing else."""
    cadvisor = stack.exporters["cadvisor"].simulation
    cadvisor.set_memory("grafana", 60 * MIB)
    time.sleep(5)  # a few scrapes of the pinned value under the old labels
    restarted_at = time.time()
    cadvisor.restart("grafana", policy=True)
    cadvisor.restart("tempo", policy=False)

    def restarts() -> dict[str, float]:
        return by_name(panel_values(prometheus, "obs-container-overview", "Restarts by container", window="30s"))

    assert wait_until(lambda: restarts().get("obs-monitoring-tempo-1") == 1, timeout=20, interval=1), restarts()
    counted = restarts()
    assert counted["obs-monitoring-grafana-1"] == 1
    assert counted["obs-monitoring-tempo-1"] == 1
    assert {name: value for name, value in counted.items() if "grafana" not in name and "tempo" not in name} == \
        dict.fromkeys(set(counted) - {"obs-monitoring-grafana-1", "obs-monitoring-tempo-1"}, 0)
    assert panel_values(prometheus, "obs-container-overview", "Restarts in range", window="30s")[0][1] == 2

    memory = by_name(panel_values(prometheus, "obs-container-overview", "Memory usage per container"))
    assert memory["obs-monitoring-grafana-1"] == 60 * MIB
    grafana = 'container_memory_working_set_bytes{name="obs-monitoring-grafana-1"}'
    series = prometheus.get("/api/v1/query", query=grafana)
    assert [s["metric"].get("container_label_restartcount") for s in series["result"]] == ["1"]

    # "Container restarts" draws, at each time t, the restarts in its rate window (t - 10 s, t]: a restart shows
    # while the window holds both the last sample before it (timestamp L) and the first after it (F), from F to
    # L + 10 s, as exactly 1. cAdvisor stamps a sample with its collection time, at most one housekeeping period
    # and a tick before the scrape that reads it, so L is later than the restart minus one scrape interval minus
    # that (`stale`), and F is at the latest the first scrape after the restart. Hence: 0 before the restart and
    # from a window after it; 1 throughout [restart + scrape interval, restart + window - scrape interval -
    # stale), half a second in from each end for the simulation's and Prometheus's scheduling on the shared cores;
    # never 2 (a restart counted twice); 0 for every other container all along.
    window, scrape = seconds(RATE_INTERVAL), seconds(SCRAPE_INTERVAL)
    stale, slack = CadvisorSimulation.HOUSEKEEPING_SECONDS + TICK_SECONDS, 0.5
    start, end = restarted_at - 2 * scrape, restarted_at + window + 2 * scrape
    time.sleep(max(0.0, end + scrape - time.time()))  # the last point's samples scraped
    drawn = {labels.get("name", ""): points for labels, points in
             panel_series(prometheus, "obs-container-overview", "Container restarts", start, end)}
    assert set(drawn) == set(counted), drawn.keys()
    for name, points in drawn.items():
        if name not in ("obs-monitoring-grafana-1", "obs-monitoring-tempo-1"):
            assert {value for _, value in points} == {0}, (name, points)
            continue
        assert max(value for _, value in points) == 1, (name, points)
        assert all(value == 0 for at, value in points if at < restarted_at or at >= restarted_at + window), \
            (name, points)
        shown = [value for at, value in points
                 if restarted_at + scrape + slack <= at < restarted_at + window - scrape - stale - slack]
        assert shown and set(shown) == {1}, (name, points)


def test_oom_kills_are_counted(stack, prometheus, ready):
    stack.exporters["cadvisor"].simulation.oom_kill("prometheus")
    assert wait_until(lambda: by_name(panel_values(prometheus, "obs-container-overview", "OOM kills by container",
                                                   window="30s")).get("obs-monitoring-prometheus-1") == 1,
                      timeout=20, interval=1)


def test_degraded_worker_drives_the_evaluation_alerts(stack, prometheus, ready):
    before = alert_states(prometheus)
    assert "HighEvaluationFailureRate" not in before and "LowEvaluationSuccessRate" not in before
    stack.degrade(failure_rate=0.9)
    try:
        wanted = {"HighEvaluationFailureRate", "LowEvaluationSuccessRate"}
        assert wait_until(lambda: wanted <= set(alert_states(prometheus)), timeout=60, interval=2), \
            alert_states(prometheus)
        states = alert_states(prometheus)
        # `for: 5m` keeps them pending here; promtool test rules checks the exact timing.
        assert {states[name] for name in wanted} <= {"pending", "firing"}
    finally:
        stack.degrade(failure_rate=0.005)


def test_a_known_failure_share_and_latency_distribution_come_out_of_the_panels(stack, prometheus, ready):
    """The worker fails exactly one evaluation in ten, evaluations take uniform(20 s, 40 s) (P95 = 39 s, in the
    30-45 s bucket), 20 a second. Once the evaluations started before the change have completed, the panels read
    the truth: the failure and success rates to within 2 points, P95 in the bucket of the truth (or the next one),
    the in-flight count near rate x mean duration; and the time series draw it at every point of a settled window:
    evaluations per minute by outcome, the success and failure rates."""
    from catalog import metrics as m

    worker = stack.exporters["celery-worker"]
    per_second, share, latency = 20, 0.1, Latency("uniform", 20, 40)
    injected = time.time()
    worker.settings.update(failure_rate=share, evaluations_per_second=per_second, latency=latency)
    try:
        time.sleep(40 + 12)  # the slowest evaluation of before has completed, and a rate window has passed since
        [(_, failure)] = panel_values(prometheus, "obs-evaluation-analytics", "Failure rate now")
        [(_, success)] = panel_values(prometheus, "obs-evaluation-analytics", "Success rate now")
        [(_, p95)] = panel_values(prometheus, "obs-evaluation-analytics", "P95 processing time now")
        [(_, in_flight)] = panel_values(prometheus, "obs-evaluation-analytics", "Evaluations in flight")
        [(_, throughput)] = panel_values(prometheus, "obs-evaluation-analytics", "Throughput")
        assert abs(failure - 0.1) < 0.02, failure
        assert abs(success - 0.9) < 0.05, success
        truth = 39.0  # in the 30-45 s bucket; within one bucket of it is 20-60 s
        bounds = (0.0, *m.DURATION_BUCKETS)
        bucket = next(i for i, bound in enumerate(bounds) if bound >= truth)
        assert bounds[bucket - 2] < p95 <= bounds[bucket + 1], p95
        assert abs(throughput - 1200) < 120, throughput
        assert abs(in_flight - 20 * 30) < 120, in_flight
        by_model = {labels["model"]: value for labels, value in
                    panel_values(prometheus, "obs-evaluation-analytics", "P95 processing time by model")}
        assert set(by_model) == {"gpt-4o", "claude-sonnet-4"}
        assert all(30 < value <= 45 for value in by_model.values()), by_model

        # The time series, point by point over a full rate window once every window holds only the new regime
        # (the evaluations of before done, the completion rate steady: the slowest takes `latency.b`).
        #   A rate over the 10 s window is the increase between its first and last samples, 4 scrape intervals
        # (8 s, `span`) apart, over that span: Prometheus's extrapolation adds back exactly the 2 s the window holds
        # beyond the samples (neither end is more than 1.1 intervals from a sample). 20 a second is 160 starts in
        # the span, 16 of them failing. A reading lags the exporter's count by less than its tick period, and on
        # the shared cores a tick may run one period late: the two readings of a span are off by up to 2 ticks,
        # `per_second x 2 x TICK_SECONDS` = 10 evaluations, 75 a minute. A completion is a start one duration
        # earlier, the durations the golden-ratio quantiles of the latency (obs/run/demo_exporter.py Latency):
        # their spread moves up to 5 more completions in or out of a span (a simulation of the exporter at every
        # scrape phase: at most 5.3). Failures are one start in ten, so 10 evaluations of lag hold at most one at
        # each end, and the spread moves up to 2: 4 failures, 30 a minute. The success and failure rates are the
        # "now" stats' queries, with their tolerances: a share moves with the spread only (the lag moves starts,
        # successes and failures alike): 3 failures of 160 is 0.019 (< 0.02), 8 of 160 starts is 0.05.
        span = seconds(RATE_INTERVAL) - seconds(SCRAPE_INTERVAL)
        lag = per_second * 2 * TICK_SECONDS
        settled = injected + latency.b + seconds(RATE_INTERVAL)
        time.sleep(max(0.0, settled + seconds(RATE_INTERVAL) - time.time()))
        end = time.time()

        def drawn(title: str, ref: str = "A") -> list[float]:
            [(_, points)] = panel_series(prometheus, "obs-evaluation-analytics", title, settled, end, ref=ref)
            assert len(points) >= seconds(RATE_INTERVAL), (title, ref, points)
            return [value for _, value in points]

        expected = {"started": (60 * per_second, 60 * lag / span),
                    "succeeded": (60 * per_second * (1 - share), 60 * (lag + 5) / span),
                    "failed": (60 * per_second * share, 60 * 4 / span)}
        _, targets = panel_targets("obs-evaluation-analytics", "Evaluations per minute by outcome")
        assert {target["legendFormat"] for target in targets} == set(expected)
        for target in targets:
            truth, tolerance = expected[target["legendFormat"]]
            values = drawn("Evaluations per minute by outcome", target["refId"])
            assert all(abs(value - truth) <= tolerance for value in values), (target["legendFormat"], truth, values)
        assert all(abs(value - (1 - share)) <= 0.05 for value in drawn("Success rate")), drawn("Success rate")
        assert all(abs(value - share) <= 0.02 for value in drawn("Failure rate")), drawn("Failure rate")
    finally:
        worker.settings.update(failure_rate=0.005, evaluations_per_second=4, latency=Latency())


def test_the_error_budget_and_burn_rates_read_a_known_failure_share_over_the_slo_windows(stack, prometheus, ready):
    """The error budget and the burn rates are ratios over the SLO's long windows (1h, 6h, 3d, 30d), which here hold
    the whole life of the stack, whatever the tests before injected. The worker reports a bulk of evaluations
    completed at once, failing in a known share, a quarter of the budget, and so many that the history does not
    count: every long window's error ratio is then that share, the burn rates a quarter, the budget 75% left."""
    from catalog import promql as q
    from catalog import thresholds as t

    slo = t.EVALUATION_SLO
    worker = stack.exporters["celery-worker"]
    share, count = slo.budget / 4, 10**9
    # What the windows hold besides the bulk: every evaluation this worker started before it (the worker is the
    # stack's own: the test that replaces it runs later), at most `history`, failing in any share. The bulk
    # fails exactly floor(share x count) +- 1 (the exporter's rule), the evaluations after it fail in the share
    # to within one. So failed / completed is the share to within (history + 2) / count. rate() over a window
    # scales each series' increase by the same extrapolation (the worker's series share their scrapes), except
    # at the start, where it extrapolates a series whose first sample v0 is above zero by at most
    # v0 / increase <= history / count of the span: up to that much again, on each side of the ratio.
    history = worker.simulation.started
    ratio_tolerance = (history + 2) / count + 2 * history / count
    assert ratio_tolerance < share / 10, (history, count)  # the bulk drowns the history
    worker.settings.update(failure_rate=share)
    try:
        worker.simulation.complete_at_once(count)

        def recorded(name: str) -> list[float]:
            return [float(s["value"][1]) for s in prometheus.get("/api/v1/query", query=name)["result"]]

        # Scraped, and the SLO's recording rules evaluated on it (one group: its rules see the same samples).
        assert wait_until(lambda: all(min(recorded(q.slo_completed(row.long)), default=0) >= count
                                      for row in slo.windows), timeout=30, interval=1), \
            {row.long: recorded(q.slo_completed(row.long)) for row in slo.windows}
        recorded_at = time.time()
        time.sleep(2 * seconds(SCRAPE_INTERVAL))  # a few points for the time series, each on a recorded value
        end = time.time()

        burn, left = share / slo.budget, 1 - share / slo.budget
        tolerance = ratio_tolerance / slo.budget
        [(_, remaining)] = panel_values(prometheus, "obs-evaluation-analytics", "Error budget remaining")
        assert abs(remaining - left) <= tolerance, (remaining, left, tolerance)
        for title, truth in (("Error budget remaining over time", left), ("Error budget burn rate", burn)):
            _, targets = panel_targets("obs-evaluation-analytics", title)
            for target in targets:
                [(_, points)] = panel_series(prometheus, "obs-evaluation-analytics", title, recorded_at, end,
                                             ref=target["refId"])
                assert points and all(abs(value - truth) <= tolerance for _, value in points), \
                    (title, target["legendFormat"], truth, tolerance, points)
    finally:
        worker.settings.update(failure_rate=0.005)


def test_the_watchdog_fires_and_reaches_the_dead_man_receiver(stack, prometheus, repo, ready):
    assert alert_states(prometheus).get("Watchdog") == "firing"
    expected = expected_receiver(repo, alertname="Watchdog", severity="none", component="monitoring")
    assert wait_until(lambda: (expected, "Watchdog", "firing") in set(stack.recorder.alerts()), timeout=30), \
        stack.recorder.alerts()


def test_panels_are_right_for_a_worker_that_exports_no_labels(stack, prometheus, ready):
    """The spec names no labels: a worker exporting the bare families (no model, no error_type) replaces the
    labelled one on the same port. The per-model and per-error-type panels still show data, under a word."""
    old = stack.exporters["celery-worker"]
    port = old.port
    old.stop()
    bare = DemoExporter("worker", port=port, labels=False, failure_rate=0.15)
    bare.settings.update(evaluations_per_second=10, latency=Latency("uniform", 0.5, 2.0))
    stack.exporters["celery-worker"] = bare.start()

    def legends(title: str, label: str) -> set[str]:
        return {labels.get(label, "") for labels, _ in panel_values(prometheus, "obs-evaluation-analytics", title)}

    assert wait_until(lambda: legends("P95 processing time by model", "model") == {"all models"}, timeout=30,
                      interval=2), legends("P95 processing time by model", "model")
    assert wait_until(lambda: legends("Failures by error type", "error_type") == {"unspecified"}, timeout=20)
    [(_, failure)] = panel_values(prometheus, "obs-evaluation-analytics", "Failure rate now")
    assert abs(failure - 0.15) < 0.05


# --- Routing ------------------------------------------------------------------------------------------------------

def expected_receiver(repo, **labels: str) -> str:
    """What the compiled routing tree says, asked of amtool."""
    command = [find_tool("amtool"), "config", "routes", "test", f"--config.file={repo / ALERTMANAGER_FILE}",
               *(f"{k}={v}" for k, v in labels.items())]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def post_alerts(stack, *alerts: dict[str, str]) -> None:
    now = datetime.now(UTC)
    body = [{"labels": labels, "annotations": {"summary": "e2e"}, "startsAt": now.isoformat(),
             "endsAt": (now + timedelta(minutes=5)).isoformat()} for labels in alerts]
    request = urllib.request.Request(f"{stack.alertmanager_url}/api/v2/alerts", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def test_alerts_reach_the_receiver_the_tree_names_and_only_the_repeat_is_inhibited(stack, repo):
    shared = {"component": "evaluations", "job": "e2e-worker"}
    critical = {"alertname": "HighEvaluationFailureRate", "severity": "critical", **shared}
    repeat = {"alertname": "LowEvaluationSuccessRate", "severity": "warning", **shared}
    other = {"alertname": "EvaluationLatencyHigh", "severity": "warning", **shared}
    post_alerts(stack, critical, repeat, other)

    critical_receiver = expected_receiver(repo, **critical)
    warning_receiver = expected_receiver(repo, **other)
    assert critical_receiver != warning_receiver, "critical and warning go to different receivers"
    delivered = lambda: set(stack.recorder.alerts())  # noqa: E731
    assert wait_until(lambda: {(critical_receiver, "HighEvaluationFailureRate", "firing"),
                               (warning_receiver, "EvaluationLatencyHigh", "firing")} <= delivered(), timeout=30)

    with urllib.request.urlopen(f"{stack.alertmanager_url}/api/v2/alerts", timeout=5) as response:
        states = {a["labels"]["alertname"]: a["status"] for a in json.load(response)
                  if a["labels"].get("job") == "e2e-worker"}
    assert states["LowEvaluationSuccessRate"]["state"] == "suppressed"
    assert states["LowEvaluationSuccessRate"]["inhibitedBy"]
    assert not states["EvaluationLatencyHigh"]["inhibitedBy"]
    time.sleep(2)  # a group_wait more: the inhibited warning must still not have been delivered
    assert not [a for a in stack.recorder.alerts() if a[1] == "LowEvaluationSuccessRate"]


def test_a_prometheus_alert_travels_to_its_receiver(stack, repo):
    """Stop the API gateway's exporter: ApiGatewayDown goes pending, fires after its `for`, and Prometheus
    sends it to Alertmanager, which delivers it to the receiver the tree names for it."""
    expected = expected_receiver(repo, alertname="ApiGatewayDown", severity="critical", component="targets",
                                 job="api-gateway")
    stack.exporters["api-gateway"].stop()
    assert wait_until(lambda: (expected, "ApiGatewayDown", "firing") in set(stack.recorder.alerts()),
                      timeout=110, interval=2), stack.recorder.alerts()


@pytest.mark.parametrize("stop_signal", ["SIGINT", "SIGTERM"])
def test_stack_local_command_stops_everything_on_ctrl_c(repo, stop_signal):
    import signal
    import sys

    process = subprocess.Popen([sys.executable, "-m", "obs.cli", "stack-local", "--root", str(repo)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C to stop" in line:
                break
        urls = [line.split()[1] for line in lines if line.startswith(("Prometheus", "Alertmanager"))]
        assert len(urls) == 2, lines
        for url in urls:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=5) as response:
                assert response.status == 200
        process.send_signal(getattr(signal, stop_signal))
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    for url in urls:
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{url}/-/ready", timeout=2)


@contextlib.contextmanager
def stack_local_command(repo):
    """`obs stack-local` as a user runs it: the lines it prints up to "Ctrl-C to stop"; stopped with Ctrl-C after."""
    import signal
    import sys

    process = subprocess.Popen([sys.executable, "-m", "obs.cli", "stack-local", "--root", str(repo)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if "Ctrl-C to stop" in line:
                break
        assert lines and lines[-1] == "Ctrl-C to stop", lines
        yield lines
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:  # a failed assertion: still stop it with Ctrl-C, so it stops what it started
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def accepted_spans(telemetry_url: str) -> dict[str, float]:
    """The Collector's own count of spans its OTLP receiver accepted, by transport (grpc, http)."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(telemetry_url, timeout=5) as response:
        text = response.read().decode()
    # The Collector writes the counter without _total; the parser names the family so and the samples with _total.
    return {sample.labels["transport"]: sample.value for family in text_string_to_metric_families(text)
            if family.name == "otelcol_receiver_accepted_spans"
            for sample in family.samples if sample.labels.get("receiver") == "otlp"}


def test_stack_local_prints_where_to_send_otlp_and_the_collector_receives_there(repo, monkeypatch):
    """The 'send OTLP to' line names the running Collector's own OTLP receivers: a span sent to the gRPC address and
    one sent with the printed OTEL_EXPORTER_OTLP_* example are both counted by that Collector."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from catalog import jobs, network, versions

    pinned_tool("otelcol")  # without the Collector, stack-local says "no Collector" instead (skipped; CI fails)
    with stack_local_command(repo) as lines:
        [index] = [i for i, line in enumerate(lines) if line.startswith("send OTLP to ")]
        grpc_port, http_port = network.COLLECTOR_OTLP_GRPC.port, network.COLLECTOR_OTLP_HTTP.port
        match = re.fullmatch(rf"send OTLP to +grpc (127\.0\.0\.1:\d+), http (http://127\.0\.0\.1:\d+) "
                             rf"\(otelcol {re.escape(versions.COLLECTOR_VERSION)}, for "
                             rf"{network.COLLECTOR_OTLP_GRPC.host}:{grpc_port}, "
                             rf"{network.COLLECTOR_OTLP_HTTP.host}:{http_port}\)", lines[index])
        assert match, lines[index]
        grpc, http = match.groups()
        assert lines[index + 1].split() == ["e.g.", f"OTEL_EXPORTER_OTLP_ENDPOINT={http}",
                                            "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"]
        telemetry = f"{network.COLLECTOR_TELEMETRY.host}:{network.COLLECTOR_TELEMETRY.port}"
        [telemetry_line] = [line for line in lines if line.startswith(f"{jobs.OTEL_COLLECTOR_TELEMETRY.name} ")]
        assert telemetry_line.endswith(f"(otelcol {versions.COLLECTOR_VERSION}, for {telemetry})"), telemetry_line
        telemetry_url = telemetry_line.split()[1]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/metrics", telemetry_url), telemetry_line
        before = accepted_spans(telemetry_url)  # {} until the first span: the counters appear with it

        finished = InMemorySpanExporter()
        tracing = TracerProvider()
        tracing.add_span_processor(SimpleSpanProcessor(finished))
        tracing.get_tracer("e2e").start_span("probe").end()
        spans = finished.get_finished_spans()
        assert GrpcSpanExporter(endpoint=grpc, insecure=True).export(spans) == SpanExportResult.SUCCESS
        for assignment in lines[index + 1].split()[1:]:  # the printed example, as an app would take it
            monkeypatch.setenv(*assignment.split("=", 1))
        assert HttpSpanExporter().export(spans) == SpanExportResult.SUCCESS

        def counted() -> bool:
            now = accepted_spans(telemetry_url)
            return all(now.get(t, 0) - before.get(t, 0) == len(spans) for t in ("grpc", "http"))

        assert wait_until(counted, timeout=15, interval=0.5), (before, accepted_spans(telemetry_url))
