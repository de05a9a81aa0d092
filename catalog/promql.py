"""PromQL building blocks shared by dashboards and rules.

A dashboard asks for `success_ratio(window=RATE_INTERVAL, selector=...)`; the recording rule that the
alert uses asks for `success_ratio(window="5m")`. Both come from the same function, so the panel and the
alert always compute the same quantity.
"""

from __future__ import annotations

from catalog import metrics as m
from catalog.metrics import Metric

# Grafana's own variable: at least four scrape intervals, so rate() always has two samples.
RATE_INTERVAL = "$__rate_interval"
# The window recording rules and alerts use (Grafana variables do not exist there).
RULE_WINDOW = "5m"

# --- Recorded series ----------------------------------------------------------------------------------
# Recording rules, named level:metric:operations (the Prometheus naming practice). alerts/recording.py
# records each from the builders below over RULE_WINDOW; alerts, and any panel that must show exactly what an
# alert sees, select them by these names.
JOB_SUCCESS_RATIO = f"job:evaluations_success:ratio_rate{RULE_WINDOW}"
JOB_FAILURE_RATIO = f"job:evaluations_failed:ratio_rate{RULE_WINDOW}"
LATENCY_QUANTILES = (0.5, 0.95, 0.99)
INSTANCE_CPU_UTILISATION = f"instance:node_cpu_utilisation:rate{RULE_WINDOW}"
INSTANCE_MEMORY_UTILISATION = "instance:node_memory_utilisation:ratio"


def job_latency_quantile(quantile: float) -> str:
    """The recorded evaluation-duration percentile: job:evaluation_duration_seconds:p95_rate5m for 0.95."""
    if quantile not in LATENCY_QUANTILES:
        raise ValueError(f"quantile {quantile} is not recorded; recorded: {LATENCY_QUANTILES}")
    return f"job:evaluation_duration_seconds:p{round(quantile * 100)}_rate{RULE_WINDOW}"

# Pseudo-filesystems that would make "disk usage" meaningless.
REAL_FILESYSTEMS = 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"'
# Root and system cgroups carry no `name`: keep only containers.
NAMED_CONTAINERS = 'name!=""'


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


def outcome_rate(outcome: Metric, *matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    """The rate of one outcome (success or failure), 0 rather than absent where only the other one happened.

    client_python exports a labelled counter only once it has been incremented: with no failure since the
    worker started, evaluations_failed_total does not exist, and `success + failed` would be empty (no success
    rate at all); in an outage right after a restart evaluations_success_total does not exist, and the failure
    rate would be empty, so the critical alert could not fire. `x or 0 * other` fills the gap with 0.
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


def outcome_ratio(outcome: Metric, *matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    """The share of completed evaluations that ended in `outcome`."""
    return (
        f"{outcome_rate(outcome, *matchers, by=by, window=window)}"
        f" / ({completed_rate(*matchers, by=by, window=window)})"
    )


def success_ratio(*matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    return outcome_ratio(m.EVALUATIONS_SUCCESS, *matchers, by=by, window=window)


def failure_ratio(*matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    return outcome_ratio(m.EVALUATIONS_FAILED, *matchers, by=by, window=window)


def latency_quantile(quantile: float, *matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    grouping = ", ".join(part for part in (by, "le") if part)
    return (
        f"histogram_quantile({quantile}, "
        f"sum by ({grouping}) ({rate(m.EVALUATION_DURATION.bucket, *matchers, window=window)}))"
    )


def host_cpu_usage(*matchers: str, window: str = RATE_INTERVAL) -> str:
    """Fraction of CPU time not idle, averaged over the host's CPUs."""
    idle = rate(m.NODE_CPU_SECONDS, 'mode="idle"', *matchers, window=window)
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
