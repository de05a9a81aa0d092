"""PromQL building blocks shared by dashboards and rules.

A dashboard asks for `success_ratio(window=RATE_INTERVAL, selector=...)`; the recording rule that the
alert uses asks for `success_ratio(window="5m")`. Both come from the same function, so the panel and the
alert always compute the same quantity.

Written for Prometheus 2.42 and 3.x alike: windows are at least four scrape intervals (3.x range selectors are
left-open, so a window of one interval holds one sample and rate() is empty), and no query matches a literal
`le` (3.x normalises `le="30"` to `le="30.0"` on ingestion).
"""

from __future__ import annotations

from catalog import metrics as m
from catalog import thresholds as t
from catalog.metrics import Metric

# Grafana's own variable: at least four scrape intervals, so rate() always has two samples.
RATE_INTERVAL = "$__rate_interval"
# The window recording rules and alerts use (Grafana variables do not exist there).
RULE_WINDOW = "5m"
# The jobs that own the platform's metrics (catalog/metrics.py APP_OWNER). The API gateway exports the same
# families at zero; selecting only the owners keeps its zeros out of every ratio.
APP = m.owner_matcher(m.EVALUATIONS)

# --- Recorded series ----------------------------------------------------------------------------------
# Recording rules, named level:metric:operations (the Prometheus naming practice). alerts/recording.py
# records each from the builders below over RULE_WINDOW; alerts, and any panel that must show exactly what an
# alert sees, select them by these names.
JOB_SUCCESS_RATIO = f"job:evaluations_success:ratio_rate{RULE_WINDOW}"
JOB_FAILURE_RATIO = f"job:evaluations_failed:ratio_rate{RULE_WINDOW}"
JOB_STARTED = f"job:evaluations_started:increase{RULE_WINDOW}"
JOB_COMPLETED = f"job:evaluations_completed:increase{RULE_WINDOW}"
JOB_IN_FLIGHT = "job:evaluations_in_flight:sum"
LATENCY_QUANTILES = (0.5, 0.95, 0.99)
INSTANCE_CPU_UTILISATION = f"instance:node_cpu_utilisation:rate{RULE_WINDOW}"
INSTANCE_MEMORY_UTILISATION = "instance:node_memory_utilisation:ratio"


def job_latency_quantile(quantile: float) -> str:
    """The recorded evaluation-duration percentile: job:evaluation_duration_seconds:p95_rate5m for 0.95."""
    if quantile not in LATENCY_QUANTILES:
        raise ValueError(f"quantile {quantile} is not recorded; recorded: {LATENCY_QUANTILES}")
    return f"job:evaluation_duration_seconds:p{round(quantile * 100)}_rate{RULE_WINDOW}"


def slo_error_ratio(window: str) -> str:
    """The recorded error ratio of the evaluation SLO over `window` (Sloth's naming: slo:<sli>:ratio_rate<w>)."""
    return f"slo:evaluation_errors:ratio_rate{window}"


def slo_completed(window: str) -> str:
    return f"slo:evaluations_completed:increase{window}"


# Pseudo-filesystems that would make "disk usage" meaningless.
REAL_FILESYSTEMS = 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"'
# The host's own network devices, for every query of node_network_*. node-exporter exports every device: its
# --collector.netdev.device-exclude has no default (collector/netdev_common.go), so loopback and Docker's devices
# are there too, and it runs on the host's network here (stack/compose.py). A container's traffic crosses its veth,
# the bridge (docker0, or br-<id> for a compose network) and the host's uplink: summed over the devices, it counts
# two or three times. node-mixin's recording rules drop only lo (instance:node_network_*_excluding_lo); on a
# Docker host the veth and bridge devices go as well (node-exporter's netdev documentation excludes the same
# prefixes, among others, for "virtual and container interfaces"). PromQL anchors the regex: `br-.*`, not `.*br-`.
EXCLUDED_NETWORK_DEVICES = "lo|veth.*|docker.*|br-.*"
HOST_NETWORK_DEVICES = f'device!~"{EXCLUDED_NETWORK_DEVICES}"'
# Root and system cgroups carry no `name`: keep only containers.
NAMED_CONTAINERS = 'name!=""'
# What a legend says where the app exports no such label (the spec names none).
NO_MODEL = "all models"
NO_ERROR_TYPE = "unspecified"
# A regex `\.` inside a PromQL double-quoted string: the string needs the backslash doubled.
ESCAPED_DOT = "\\\\."
IDLE = 'mode="idle"'


def selector(metric: Metric | str, *matchers: str) -> str:
    """`metric{a="b", c=~"d"}` with empty matchers dropped."""
    kept = [matcher for matcher in matchers if matcher]
    return f"{metric}{{{', '.join(kept)}}}" if kept else str(metric)


def rate(metric: Metric | str, *matchers: str, window: str = RATE_INTERVAL) -> str:
    return f"rate({selector(metric, *matchers)}[{window}])"


def increase(metric: Metric | str, *matchers: str, window: str) -> str:
    return f"increase({selector(metric, *matchers)}[{window}])"


def sum_rate(metric: Metric | str, *matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    grouping = f" by ({by}) " if by else ""
    return f"sum{grouping}({rate(metric, *matchers, window=window)})"


def or_label(expr: str, label: str, word: str) -> str:
    """`expr` with `label` set to `word` on the series that do not have it, so `{{label}}` in a legend reads as a
    word for an app that exports no such label. label_replace's regex is anchored: "" matches only the empty value."""
    return f'label_replace({expr}, "{label}", "{word}", "{label}", "")'


def per_model(expr: str) -> str:
    return or_label(expr, "model", NO_MODEL)


def outcome_rate(outcome: Metric, *matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    """The rate of one outcome (success or failure), 0 rather than absent where only the other one happened.

    client_python exports a labelled counter only once a child exists: an app that does not create its children at
    start-up (catalog/metrics.py says it must; check-metrics reports it) has no evaluations_failed_total before its
    first failure, and `success + failed` would be empty. `x or 0 * other` fills the gap with 0.
    """
    other = m.EVALUATIONS_FAILED if outcome == m.EVALUATIONS_SUCCESS else m.EVALUATIONS_SUCCESS
    return (
        f"({sum_rate(outcome, *matchers, by=by, window=window)}"
        f" or 0 * {sum_rate(other, *matchers, by=by, window=window)})"
    )


def completed_rate(*matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    """Evaluations that finished, either way; in-flight evaluations do not count against the ratio."""
    return (
        f"{outcome_rate(m.EVALUATIONS_SUCCESS, *matchers, by=by, window=window)}"
        f" + {outcome_rate(m.EVALUATIONS_FAILED, *matchers, by=by, window=window)}"
    )


def completed_increase(*matchers: str, by: str = "", window: str) -> str:
    """How many evaluations finished in `window` (the minimum-traffic guard)."""
    return f"({completed_rate(*matchers, by=by, window=window)}) * {int(t.seconds(window))}"


def started_increase(*matchers: str, by: str = "", window: str) -> str:
    """How many evaluations started in `window` (the success-rate alert's minimum-traffic guard)."""
    grouping = f" by ({by}) " if by else ""
    return f"sum{grouping}({increase(m.EVALUATIONS, *matchers, window=window)})"


def success_ratio(*matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    """The share of the evaluations started that succeeded: failures and evaluations that never report back both
    lower it. Completions of evaluations started before the window can push it past 1 when a batch ends: capped.
    With no evaluation started it is +Inf capped to 1 ("nothing went wrong"), and 0/0 (idle) is no value."""
    grouping = f" by ({by}) " if by else ""
    succeeded = outcome_rate(m.EVALUATIONS_SUCCESS, *matchers, by=by, window=window)
    started = f"sum{grouping}({rate(m.EVALUATIONS, *matchers, window=window)})"
    return f"clamp_max({succeeded} / {started}, 1)"


def failure_ratio(*matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    """The share of the completed evaluations that failed."""
    return (
        f"{outcome_rate(m.EVALUATIONS_FAILED, *matchers, by=by, window=window)}"
        f" / ({completed_rate(*matchers, by=by, window=window)})"
    )


def in_flight(*matchers: str, by: str = "") -> str:
    """Evaluations started and not (yet) reported either way: the counters' difference. A worker restart resets
    all three together. A code path that neither succeeds nor fails leaves it above zero for good."""
    grouping = f" by ({by}) " if by else ""
    fallback = f"0 * sum{grouping}({selector(m.EVALUATIONS, *matchers)})"
    return (
        f"sum{grouping}({selector(m.EVALUATIONS, *matchers)})"
        f" - (sum{grouping}({selector(m.EVALUATIONS_SUCCESS, *matchers)}) or {fallback})"
        f" - (sum{grouping}({selector(m.EVALUATIONS_FAILED, *matchers)}) or {fallback})"
    )


def latency_quantile(quantile: float, *matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    grouping = ", ".join(part for part in (by, "le") if part)
    return (
        f"histogram_quantile({quantile}, "
        f"sum by ({grouping}) ({rate(m.EVALUATION_DURATION.bucket, *matchers, window=window)}))"
    )


def le(bound: float) -> str:
    """A matcher for one bucket that holds on Prometheus 2 and 3: client_python writes le="5.0", Go clients le="5",
    and Prometheus 3 normalises both to "5.0"."""
    text = f"{bound:g}"
    forms = [text, f"{text}.0"] if "." not in text and "e" not in text else [text]
    escaped = "|".join(form.replace(".", ESCAPED_DOT) for form in forms)
    return f'le=~"{escaped}"'


def share_slower_than(bound: float, *matchers: str, window: str = RATE_INTERVAL) -> str:
    """The share of evaluations that took longer than `bound` seconds (a bucket boundary, catalog-checked)."""
    within = sum_rate(m.EVALUATION_DURATION.bucket, *matchers, le(bound), window=window)
    total = sum_rate(m.EVALUATION_DURATION.count, *matchers, window=window)
    return f"1 - {within} / {total}"


# --- The SLO --------------------------------------------------------------------------------------------

def slo_ratio(window: str) -> str:
    """The SLI's error ratio over `window`, across the owning jobs: failed / completed."""
    return failure_ratio(APP, window=window)


def burn_condition(row: t.BurnRateWindow, slo: t.Objective = t.EVALUATION_SLO) -> str:
    """One row of the multi-window, multi-burn-rate alert: the budget burns at `row.burn_rate` or faster over both
    windows, and the long window saw enough evaluations to mean it. Its value is the long window's burn rate."""
    threshold = f"{slo.threshold(row):g}"
    return (
        f"(({slo_error_ratio(row.long)} / {slo.budget:g} > {row.burn_rate:g})"
        f" and ({slo_error_ratio(row.short)} > {threshold})"
        f" and ({slo_completed(row.long)} >= {slo.min_events}))"
    )


def budget_remaining(slo: t.Objective = t.EVALUATION_SLO) -> str:
    """The share of the period's error budget not yet spent (negative once it is overspent)."""
    return f"1 - {slo_error_ratio(slo.period)} / {slo.budget:g}"


# --- Hosts ----------------------------------------------------------------------------------------------

def host_cpu_usage(*matchers: str, window: str = RATE_INTERVAL) -> str:
    """Fraction of CPU time not idle, averaged over the host's CPUs."""
    idle = rate(m.NODE_CPU_SECONDS, IDLE, *matchers, window=window)
    return f"1 - avg by (instance) ({idle})"


def host_memory_usage(*matchers: str) -> str:
    return (
        f"1 - {selector(m.NODE_MEMORY_AVAILABLE, *matchers)}"
        f" / {selector(m.NODE_MEMORY_TOTAL, *matchers)}"
    )


def host_disk_usage(*matchers: str) -> str:
    return (
        f"1 - {selector(m.NODE_FILESYSTEM_AVAIL, REAL_FILESYSTEMS, *matchers)}"
        f" / {selector(m.NODE_FILESYSTEM_SIZE, REAL_FILESYSTEMS, *matchers)}"
    )


def host_load_per_core(*matchers: str) -> str:
    """The 1-minute load average divided by the number of CPUs: above 1, work queues for a CPU."""
    cpus = f"count by (instance) ({selector(m.NODE_CPU_SECONDS, IDLE, *matchers)})"
    return f"sum by (instance) ({selector(m.NODE_LOAD1, *matchers)}) / {cpus}"


# --- Containers (cAdvisor) ------------------------------------------------------------------------------

def container_restarts(window: str, *matchers: str) -> str:
    """Restarts per container name in `window`, of both kinds cAdvisor 0.49 shows:

    - a restart by Docker's restart policy: cAdvisor reads the new RestartCount into container_label_restartcount,
      so the container's series start again under a new label set (and `docker compose up` recreating a container
      gives it a new `id`): each incarnation seen in the window beyond the first is a restart. Counted on the memory
      gauge, which every running container has (the CPU counter is absent until it first uses CPU);
    - a manual `docker restart`: same labels, but the cgroup is new and its CPU counter starts again from zero, a
      reset within one series (the larger over a cgroup-v1 host's per-CPU series).

    container_start_time_seconds cannot tell: in 0.49 it is the container's creation time, which a restart keeps.
    """
    incarnation = f"name, id, {m.RESTART_COUNT_LABEL}"
    seen = f"count_over_time({selector(m.CONTAINER_MEMORY, NAMED_CONTAINERS, *matchers)}[{window}])"
    new_series = f"(count by (name) (count by ({incarnation}) ({seen})) - 1)"
    resets = (f"sum by (name) (max by ({incarnation}) "
              f"(resets({selector(m.CONTAINER_CPU, NAMED_CONTAINERS, *matchers)}[{window}])))")
    return f"({new_series} + ({resets} or 0 * {new_series}))"


# --- TraceQL (Tempo) ----------------------------------------------------------------------------------
# The span of one evaluation (spec, "Trace Structure"): a trace also holds the HTTP request, the batch and the LLM
# call, so a bare {duration>5s} or {status=error} matches every slow request and every batch around a failure.
EVALUATION_SPAN = "evaluate_single_case"


def evaluation_spans(*conditions: str) -> str:
    return "{" + " && ".join((f'name="{EVALUATION_SPAN}"', *conditions)) + "}"


def failed_evaluation_spans(error_type: str | None = None) -> str:
    """Failed evaluations; with `error_type`, those whose span has that `error.type` attribute."""
    conditions = ["status=error"] + ([f'span.error.type="{error_type}"'] if error_type is not None else [])
    return evaluation_spans(*conditions)


def slow_evaluation_spans() -> str:
    return evaluation_spans(f"duration>{t.SLOW_EVALUATION}")
