"""The metrics catalog: every metric a dashboard, alert or recording rule refers to.

Dashboards and alerts name metrics only through these objects, so renaming a metric is one edit here.
`obs lint` checks that every metric a compiled query uses is in this catalog or is a recording rule.
"""

from __future__ import annotations

import re
from typing import Literal

from catalog._records import fail, record

MetricType = Literal["counter", "gauge", "histogram"]
Source = Literal["app", "node-exporter", "cadvisor", "prometheus"]
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@record("metric")
class Metric:
    name: str
    type: MetricType
    unit: str  # the Grafana unit id a panel showing the raw value uses
    help: str
    source: Source
    labels: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.name

    def check(self) -> None:
        if not METRIC_NAME.match(self.name):
            raise fail("name", f"{self.name!r} is not a Prometheus metric name")
        if self.type == "counter" and not self.name.endswith("_total"):
            raise fail("name", f"counter {self.name} must end in _total (Prometheus naming convention)")
        for label in self.labels:
            if not LABEL_NAME.match(label):
                raise fail("labels", f"{label!r} is not a Prometheus label name")

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


# --- The platform's own metrics (API gateway and Celery workers, client_python) -----------------------
# Labels: `model` is the LLM that ran the evaluation (the `llm.model` span attribute);
# `error_type` mirrors the `error.type` span attribute, so a failure spike links to its traces.

EVALUATIONS = Metric(
    "evaluations_total", "counter", "short", "Evaluations started.", "app", ("model",)
)
EVALUATIONS_SUCCESS = Metric(
    "evaluations_success_total", "counter", "short", "Evaluations that completed successfully.", "app",
    ("model",),
)
EVALUATIONS_FAILED = Metric(
    "evaluations_failed_total", "counter", "short", "Evaluations that failed.", "app",
    ("model", "error_type"),
)
EVALUATION_DURATION = Metric(
    "evaluation_duration_seconds", "histogram", "s", "Time to evaluate one medical case.", "app",
    ("model",),
)
EVALUATION_SUCCESS_RATE = Metric(
    "evaluation_success_rate", "gauge", "percentunit",
    "Success rate of recent evaluations as reported by the worker (0-1).", "app",
)
CASES_FLAGGED = Metric(
    "cases_flagged_total", "counter", "short", "Cases the evaluation flagged for clinical review.", "app",
    ("model",),
)
TOKENS_INPUT = Metric(
    "tokens_input_total", "counter", "short", "LLM prompt (input) tokens consumed.", "app", ("model",)
)
TOKENS_OUTPUT = Metric(
    "tokens_output_total", "counter", "short", "LLM completion (output) tokens produced.", "app",
    ("model",),
)
TOKENS = Metric(
    "tokens_total", "counter", "short", "LLM tokens, input plus output.", "app", ("model",)
)

# --- Scrape health (Prometheus itself) --------------------------------------------------------------
UP = Metric("up", "gauge", "bool_on_off", "1 if the last scrape of the target succeeded.", "prometheus",
            ("job", "instance"))

# --- node-exporter ----------------------------------------------------------------------------------
NODE_CPU_SECONDS = Metric(
    "node_cpu_seconds_total", "counter", "s", "Seconds the CPUs spent in each mode.", "node-exporter",
    ("cpu", "mode"),
)
NODE_MEMORY_AVAILABLE = Metric(
    "node_memory_MemAvailable_bytes", "gauge", "bytes", "Memory available for new work.", "node-exporter"
)
NODE_MEMORY_TOTAL = Metric(
    "node_memory_MemTotal_bytes", "gauge", "bytes", "Total usable memory.", "node-exporter"
)
NODE_FILESYSTEM_AVAIL = Metric(
    "node_filesystem_avail_bytes", "gauge", "bytes", "Filesystem space available to non-root users.",
    "node-exporter", ("device", "fstype", "mountpoint"),
)
NODE_FILESYSTEM_SIZE = Metric(
    "node_filesystem_size_bytes", "gauge", "bytes", "Filesystem size.", "node-exporter",
    ("device", "fstype", "mountpoint"),
)
NODE_NETWORK_RECEIVE = Metric(
    "node_network_receive_bytes_total", "counter", "bytes", "Bytes received per network device.",
    "node-exporter", ("device",),
)
NODE_NETWORK_TRANSMIT = Metric(
    "node_network_transmit_bytes_total", "counter", "bytes", "Bytes sent per network device.",
    "node-exporter", ("device",),
)

# --- cAdvisor ---------------------------------------------------------------------------------------
# Root and system cgroups carry no `name` label; every container query filters `name!=""`.
CONTAINER_CPU = Metric(
    "container_cpu_usage_seconds_total", "counter", "s", "CPU time consumed by the container.", "cadvisor",
    ("id", "name", "image"),
)
CONTAINER_MEMORY = Metric(
    "container_memory_working_set_bytes", "gauge", "bytes",
    "Container working-set memory (what the OOM killer looks at).", "cadvisor", ("id", "name", "image"),
)
CONTAINER_NETWORK_RECEIVE = Metric(
    "container_network_receive_bytes_total", "counter", "bytes", "Bytes received by the container.",
    "cadvisor", ("id", "name", "image", "interface"),
)
CONTAINER_NETWORK_TRANSMIT = Metric(
    "container_network_transmit_bytes_total", "counter", "bytes", "Bytes sent by the container.",
    "cadvisor", ("id", "name", "image", "interface"),
)
CONTAINER_LAST_SEEN = Metric(
    "container_last_seen", "gauge", "dateTimeFromNow", "Last time cAdvisor saw the container.", "cadvisor",
    ("id", "name", "image"),
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
