"""The metrics contract: every metric a dashboard, alert or recording rule refers to, as its exporter exposes it.

For each metric: its type, its labels (required or optional, and the finite set of values where there is one, so
the app can create every child at zero when it starts), its histogram buckets, and the scrape jobs that export it.
Dashboards and alerts name metrics only through these objects, so renaming a metric is one edit here.

Who reads it:
- `obs lint` (metric-in-catalog): every metric a compiled query uses is here or is a recording rule;
- `obs check-metrics URL...` and `obs verify`: a running service's /metrics against its job's part of the contract
  (missing metrics, wrong types, missing or unexpected labels, buckets that cannot resolve a threshold, labelled
  children not pre-initialised);
- the demo exporter, which emits the app's families through prometheus_client with these labels and buckets;
- catalog/thresholds.py, whose latency thresholds must be bucket boundaries of the histogram they read.

The platform's labels are optional: the spec names none, so every panel must be right for an app that exports
`evaluations_total` with no label at all, and legends must still read well (catalog/promql.py fills a missing
label in with a word).
"""

from __future__ import annotations

import math
import re
from typing import Literal

from catalog import jobs
from catalog._records import fail, record
from catalog.jobs import ScrapeJob

MetricType = Literal["counter", "gauge", "histogram"]
Source = Literal["app", "node-exporter", "cadvisor", "collector", "prometheus", "alertmanager", "grafana", "tempo"]
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@record("label")
class Label:
    name: str
    # The complete set of values, where there is one: the app creates a child for each at start-up, and
    # check-metrics reports a value outside it and a value with no child. None: an open set (the LLM models the
    # deployment configures); every value seen on one family must then be on every family with the label.
    values: tuple[str, ...] | None = None
    # False: the exporter may leave the label out altogether (the spec names no app labels).
    required: bool = True

    def check(self) -> None:
        if not LABEL_NAME.match(self.name):
            raise fail("name", f"{self.name!r} is not a Prometheus label name")
        if self.values is not None and len(set(self.values)) != len(self.values):
            raise fail("values", f"{self.name}: a value is listed twice")


@record("metric")
class Metric:
    name: str
    type: MetricType
    unit: str  # the Grafana unit id a panel showing the raw value uses
    help: str
    source: Source
    exported_by: tuple[ScrapeJob, ...]  # the scrape jobs whose targets expose it (empty: Prometheus makes it)
    labels: tuple[Label, ...] = ()
    buckets: tuple[float, ...] = ()  # a histogram's finite upper bounds, ascending (+Inf is implied)
    # False: the family appears only once the thing it counts has happened (the Collector creates its exporter
    # counters at the first export). check-metrics notes its absence instead of failing.
    always_present: bool = True

    def __str__(self) -> str:
        return self.name

    def check(self) -> None:
        if not METRIC_NAME.match(self.name):
            raise fail("name", f"{self.name!r} is not a Prometheus metric name")
        if self.type == "counter" and self.source == "app" and not self.name.endswith("_total"):
            # The platform's own counters follow the convention; an exporter's are named as it names them.
            raise fail("name", f"counter {self.name} must end in _total (Prometheus naming convention)")
        names = [label.name for label in self.labels]
        if len(set(names)) != len(names):
            raise fail("labels", "a label is listed twice")
        if self.type == "histogram":
            if not self.buckets:
                raise fail("buckets", f"histogram {self.name} needs its bucket boundaries: a quantile is only as "
                                      "good as the buckets around it")
            if list(self.buckets) != sorted(set(self.buckets)) or not all(math.isfinite(b) for b in self.buckets):
                raise fail("buckets", "must be finite, ascending and distinct (+Inf is added by the client)")
            if "le" in names:
                raise fail("labels", "le is the histogram's own label")
        elif self.buckets:
            raise fail("buckets", f"only a histogram has buckets, {self.name} is a {self.type}")

    @property
    def closed(self) -> bool:
        """Whether a label the contract does not name is a breach: yes for the platform's own metrics (an extra label
        multiplies series and splits every sum), no for third-party exporters, which add labels between releases
        (node-exporter 1.8 added `device_error` to the filesystem metrics)."""
        return self.source == "app"

    def label(self, name: str) -> Label | None:
        return next((label for label in self.labels if label.name == name), None)

    @property
    def bucket(self) -> str:
        return self._series("_bucket")

    @property
    def sum(self) -> str:
        return self._series("_sum")

    @property
    def count(self) -> str:
        return self._series("_count")

    def _series(self, suffix: str) -> str:
        if self.type != "histogram":
            raise TypeError(f"{self.name} is a {self.type}, it has no {suffix} series")
        return self.name + suffix


# --- The platform's own metrics (client_python in the Celery workers) -----------------------------------
# The worker runs evaluate_single_case, so it owns every evaluation metric. The API gateway imports the same
# metrics module and exports the families at zero: the dashboards' $job variable and the rules select only the jobs
# listed here, or choosing the gateway would divide zero by zero.
APP_OWNER = (jobs.CELERY_WORKER,)
# `model` is the LLM that ran the evaluation (the `llm.model` span attribute): an open set, the deployment's models.
MODEL = Label("model", required=False)
# `error_type` mirrors the `error.type` span attribute, so a failure spike links to its traces. A closed set: the
# worker creates the failed counter's child for each at start, so the failure series exist before the first failure.
ERROR_TYPES = ("LLMTimeout", "RateLimited", "ProviderError", "ParseError", "InvalidCase")
ERROR_TYPE = Label("error_type", ERROR_TYPES, required=False)
# Boundaries at every latency threshold a panel or alert reads (catalog/thresholds.py checks it): 5 s (the slow
# evaluation of the trace panel), 15 s (amber) and 30 s (EvaluationLatencyHigh), with buckets above the highest, so
# a P95 of 45 s reads as 45 s and not as "the top bucket". client_python's defaults end at 10 s: a P95 above it
# can never be seen, and the alert never fires.
DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0)

EVALUATIONS = Metric(
    "evaluations_total", "counter", "short", "Evaluations started.", "app", APP_OWNER, (MODEL,),
)
EVALUATIONS_SUCCESS = Metric(
    "evaluations_success_total", "counter", "short", "Evaluations that completed successfully.", "app", APP_OWNER,
    (MODEL,),
)
EVALUATIONS_FAILED = Metric(
    "evaluations_failed_total", "counter", "short", "Evaluations that failed.", "app", APP_OWNER,
    (MODEL, ERROR_TYPE),
)
EVALUATION_DURATION = Metric(
    "evaluation_duration_seconds", "histogram", "s", "Time to evaluate one medical case.", "app", APP_OWNER,
    (MODEL,), buckets=DURATION_BUCKETS,
)
EVALUATION_SUCCESS_RATE = Metric(
    "evaluation_success_rate", "gauge", "percentunit",
    "Success rate of recent evaluations as reported by the worker (0-1).", "app", APP_OWNER,
)
CASES_FLAGGED = Metric(
    "cases_flagged_total", "counter", "short", "Cases the evaluation flagged for clinical review.", "app", APP_OWNER,
    (MODEL,),
)
TOKENS_INPUT = Metric(
    "tokens_input_total", "counter", "short", "LLM prompt (input) tokens consumed.", "app", APP_OWNER, (MODEL,),
)
TOKENS_OUTPUT = Metric(
    "tokens_output_total", "counter", "short", "LLM completion (output) tokens produced.", "app", APP_OWNER,
    (MODEL,),
)
TOKENS = Metric(
    "tokens_total", "counter", "short", "LLM tokens, input plus output.", "app", APP_OWNER, (MODEL,),
)

# --- Scrape health (Prometheus makes it for every target) ---------------------------------------------
UP = Metric("up", "gauge", "bool_on_off", "1 if the last scrape of the target succeeded.", "prometheus", (),
            (Label("job"), Label("instance")))

# --- node-exporter (collector/*_linux.go) --------------------------------------------------------------
NODE = (jobs.NODE_EXPORTER,)
DEVICE = Label("device")
NODE_CPU_SECONDS = Metric(
    "node_cpu_seconds_total", "counter", "s", "Seconds the CPUs spent in each mode.", "node-exporter", NODE,
    (Label("cpu"), Label("mode", ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"))),
)
NODE_LOAD1 = Metric("node_load1", "gauge", "short", "1m load average.", "node-exporter", NODE)
NODE_MEMORY_AVAILABLE = Metric(
    "node_memory_MemAvailable_bytes", "gauge", "bytes", "Memory available for new work.", "node-exporter", NODE,
)
NODE_MEMORY_TOTAL = Metric(
    "node_memory_MemTotal_bytes", "gauge", "bytes", "Total usable memory.", "node-exporter", NODE,
)
FILESYSTEM = (DEVICE, Label("fstype"), Label("mountpoint"))
NODE_FILESYSTEM_AVAIL = Metric(
    "node_filesystem_avail_bytes", "gauge", "bytes", "Filesystem space available to non-root users.",
    "node-exporter", NODE, FILESYSTEM,
)
NODE_FILESYSTEM_SIZE = Metric(
    "node_filesystem_size_bytes", "gauge", "bytes", "Filesystem size.", "node-exporter", NODE, FILESYSTEM,
)
# collector/netdev_common.go: node_network_<column of /proc/net/dev>_total{device}; note errs/drop, where cAdvisor
# says errors/packets_dropped.
NODE_NETWORK_RECEIVE = Metric(
    "node_network_receive_bytes_total", "counter", "bytes", "Bytes received per network device.", "node-exporter",
    NODE, (DEVICE,),
)
NODE_NETWORK_TRANSMIT = Metric(
    "node_network_transmit_bytes_total", "counter", "bytes", "Bytes sent per network device.", "node-exporter",
    NODE, (DEVICE,),
)
NODE_NETWORK_RECEIVE_ERRORS = Metric(
    "node_network_receive_errs_total", "counter", "short", "Receive errors per network device.", "node-exporter",
    NODE, (DEVICE,),
)
NODE_NETWORK_TRANSMIT_ERRORS = Metric(
    "node_network_transmit_errs_total", "counter", "short", "Transmit errors per network device.", "node-exporter",
    NODE, (DEVICE,),
)
NODE_NETWORK_RECEIVE_DROPS = Metric(
    "node_network_receive_drop_total", "counter", "short", "Received packets dropped per network device.",
    "node-exporter", NODE, (DEVICE,),
)
NODE_NETWORK_TRANSMIT_DROPS = Metric(
    "node_network_transmit_drop_total", "counter", "short", "Packets to send dropped per network device.",
    "node-exporter", NODE, (DEVICE,),
)
# collector/pressure_linux.go: seconds some task waited (the PSI "some" line), counters. Absent on a kernel without
# /proc/pressure (before 4.20, or booted with psi=0).
NODE_PRESSURE_CPU_WAITING = Metric(
    "node_pressure_cpu_waiting_seconds_total", "counter", "s", "Time processes waited for CPU.", "node-exporter",
    NODE, always_present=False,
)
NODE_PRESSURE_MEMORY_WAITING = Metric(
    "node_pressure_memory_waiting_seconds_total", "counter", "s", "Time processes waited for memory.",
    "node-exporter", NODE, always_present=False,
)
NODE_PRESSURE_IO_WAITING = Metric(
    "node_pressure_io_waiting_seconds_total", "counter", "s", "Time processes waited for IO.", "node-exporter",
    NODE, always_present=False,
)

# --- cAdvisor 0.49 (metrics/prometheus.go) -------------------------------------------------------------
# Every container series carries id, name and image; the root and system cgroups have name="" (filter name!="").
# Every Docker label becomes container_label_<sanitised name>: the compose service, and restartcount, which Docker's
# restart policy increments and cAdvisor reads when it creates the container's handler (container/docker/
# handler.go): each policy restart starts a new set of series. Dashboards aggregate it away.
CADVISOR = (jobs.CADVISOR,)
CONTAINER = (Label("id"), Label("name"), Label("image"),
             Label("container_label_com_docker_compose_service", required=False),
             Label("container_label_restartcount", required=False))
RESTART_COUNT_LABEL = "container_label_restartcount"
CONTAINER_CPU = Metric(
    # `cpu` is "total" on cgroup v2 hosts (no per-CPU usage there), cpu00, cpu01... on cgroup v1: always sum it.
    "container_cpu_usage_seconds_total", "counter", "s", "CPU time consumed by the container.", "cadvisor", CADVISOR,
    (*CONTAINER, Label("cpu")),
)
CONTAINER_MEMORY = Metric(
    "container_memory_working_set_bytes", "gauge", "bytes",
    "Container working-set memory (what the OOM killer looks at).", "cadvisor", CADVISOR, CONTAINER,
)
CONTAINER_NETWORK_RECEIVE = Metric(
    "container_network_receive_bytes_total", "counter", "bytes", "Bytes received by the container.", "cadvisor",
    CADVISOR, (*CONTAINER, Label("interface")),
)
CONTAINER_NETWORK_TRANSMIT = Metric(
    "container_network_transmit_bytes_total", "counter", "bytes", "Bytes sent by the container.", "cadvisor",
    CADVISOR, (*CONTAINER, Label("interface")),
)
CONTAINER_OOM_EVENTS = Metric(
    "container_oom_events_total", "counter", "short", "Out-of-memory kills in the container.", "cadvisor", CADVISOR,
    CONTAINER,
)
CONTAINER_LAST_SEEN = Metric(
    "container_last_seen", "gauge", "dateTimeFromNow", "Last time cAdvisor saw the container.", "cadvisor",
    CADVISOR, CONTAINER,
)

# --- The OpenTelemetry Collector's own telemetry (port 8888) -----------------------------------------------
# Names as the pinned Collector (0.165.0) serves them with the `readers: [pull: prometheus]` telemetry the compiled
# config sets, read off the running binary: counters without _total (text format 0.0.4), no otel_scope_* labels, the
# resource only on target_info; the exporter's span counters also carry server_address and server_port. Each counter
# appears with the first thing it counts: the sent counter at the first export, a failure counter at the first
# failure (read off the binary: a healthy Collector has no otelcol_exporter_send_failed_spans series at all).
TELEMETRY = (jobs.OTEL_COLLECTOR_TELEMETRY,)
EXPORTER = Label("exporter")
OTELCOL_EXPORTER_SENT_SPANS = Metric(
    "otelcol_exporter_sent_spans", "counter", "short", "Spans the Collector exported.", "collector", TELEMETRY,
    (EXPORTER,), always_present=False,
)
OTELCOL_EXPORTER_SEND_FAILED_SPANS = Metric(
    "otelcol_exporter_send_failed_spans", "counter", "short", "Spans the Collector failed to export.",
    "collector", TELEMETRY, (EXPORTER,), always_present=False,
)
OTELCOL_EXPORTER_SENT_METRIC_POINTS = Metric(
    "otelcol_exporter_sent_metric_points", "counter", "short", "Metric points the Collector exported.",
    "collector", TELEMETRY, (EXPORTER,), always_present=False,
)
OTELCOL_EXPORTER_SEND_FAILED_METRIC_POINTS = Metric(
    "otelcol_exporter_send_failed_metric_points", "counter", "short",
    "Metric points the Collector failed to export.", "collector", TELEMETRY, (EXPORTER,), always_present=False,
)
OTELCOL_EXPORTER_QUEUE_SIZE = Metric(
    "otelcol_exporter_queue_size", "gauge", "short", "Batches waiting in an exporter's sending queue.", "collector",
    TELEMETRY, (EXPORTER,), always_present=False,
)
OTELCOL_EXPORTER_QUEUE_CAPACITY = Metric(
    "otelcol_exporter_queue_capacity", "gauge", "short", "Capacity of an exporter's sending queue.", "collector",
    TELEMETRY, (EXPORTER,), always_present=False,
)
OTELCOL_RECEIVER_ACCEPTED_SPANS = Metric(
    "otelcol_receiver_accepted_spans", "counter", "short", "Spans the Collector accepted from the apps.",
    "collector", TELEMETRY, (Label("receiver"), Label("transport")), always_present=False,
)

# --- Prometheus itself ---------------------------------------------------------------------------------
PROMETHEUS = (jobs.PROMETHEUS,)
PROMETHEUS_RULE_EVALUATION_FAILURES = Metric(
    # rules/group.go: rule_group is "<rule file>;<group name>".
    "prometheus_rule_evaluation_failures_total", "counter", "short", "Rule evaluations that failed.", "prometheus",
    PROMETHEUS, (Label("rule_group"),),
)
PROMETHEUS_RULE_GROUP_ITERATIONS_MISSED = Metric(
    "prometheus_rule_group_iterations_missed_total", "counter", "short",
    "Rule group evaluations skipped because the previous one was still running.", "prometheus", PROMETHEUS,
    (Label("rule_group"),),
)
PROMETHEUS_NOTIFICATIONS_ERRORS = Metric(
    # notifier/notifier.go: alertmanager is the push URL.
    "prometheus_notifications_errors_total", "counter", "short", "Errors sending alerts to an Alertmanager.",
    "prometheus", PROMETHEUS, (Label("alertmanager"),),
)
PROMETHEUS_NOTIFICATIONS_DROPPED = Metric(
    "prometheus_notifications_dropped_total", "counter", "short", "Alerts dropped instead of sent to Alertmanager.",
    "prometheus", PROMETHEUS,
)
PROMETHEUS_CONFIG_RELOAD_SUCCESSFUL = Metric(
    "prometheus_config_last_reload_successful", "gauge", "bool", "Whether the last configuration reload worked.",
    "prometheus", PROMETHEUS,
)

# --- Alertmanager (notify/notify.go) -------------------------------------------------------------------
ALERTMANAGER = (jobs.ALERTMANAGER,)
ALERTMANAGER_NOTIFICATIONS = Metric(
    "alertmanager_notifications_total", "counter", "short", "Notifications attempted, per integration.",
    "alertmanager", ALERTMANAGER, (Label("integration"),),
)
ALERTMANAGER_NOTIFICATIONS_FAILED = Metric(
    # Every integration's series is created at zero. `reason` came after 0.25 (clientError, serverError, other...).
    "alertmanager_notifications_failed_total", "counter", "short", "Notifications that failed, per integration.",
    "alertmanager", ALERTMANAGER, (Label("integration"), Label("reason", required=False)),
)
ALERTMANAGER_CONFIG_RELOAD_SUCCESSFUL = Metric(
    "alertmanager_config_last_reload_successful", "gauge", "bool", "Whether the last configuration reload worked.",
    "alertmanager", ALERTMANAGER,
)

# --- Grafana (pkg/infra/metrics/metrics.go) and Tempo (modules/distributor/distributor.go) ---------------------
GRAFANA_BUILD_INFO = Metric(
    "grafana_build_info", "gauge", "none", "Grafana's version, as a constant 1 labelled by it.", "grafana",
    (jobs.GRAFANA,), (Label("version"), Label("edition")),
)
TEMPO_SPANS_RECEIVED = Metric(
    "tempo_distributor_spans_received_total", "counter", "short", "Spans Tempo's distributor received.", "tempo",
    (jobs.TEMPO,), (Label("tenant"),), always_present=False,
)


def all_metrics() -> tuple[Metric, ...]:
    return tuple(value for value in globals().values() if isinstance(value, Metric))


def series_names() -> frozenset[str]:
    """Every series name a query may select: metric names plus a histogram's _bucket/_sum/_count."""
    names: set[str] = set()
    for metric in all_metrics():
        names.add(metric.name)
        if metric.type == "histogram":
            names.update((metric.bucket, metric.sum, metric.count))
    return frozenset(names)


def exported_by(job_name: str) -> tuple[Metric, ...]:
    """The part of the contract a target of `job_name` must meet."""
    return tuple(metric for metric in all_metrics() if job_name in {job.name for job in metric.exported_by})


def owner_matcher(metric: Metric) -> str:
    """`job="celery-worker"` (or a regex for several): selects the jobs the contract says export `metric`."""
    names = sorted(job.name for job in metric.exported_by)
    if not names:
        raise ValueError(f"{metric.name} is made by Prometheus, not exported by a job")
    return f'job="{names[0]}"' if len(names) == 1 else f'job=~"{"|".join(names)}"'
