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


def completed_rate(*matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    """Evaluations that finished, either way; in-flight evaluations do not count against the ratio."""
    return (
        f"{sum_rate(m.EVALUATIONS_SUCCESS, *matchers, by=by, window=window)}"
        f" + {sum_rate(m.EVALUATIONS_FAILED, *matchers, by=by, window=window)}"
    )


def success_ratio(*matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    return (
        f"{sum_rate(m.EVALUATIONS_SUCCESS, *matchers, by=by, window=window)}"
        f" / ({completed_rate(*matchers, by=by, window=window)})"
    )


def failure_ratio(*matchers: str, by: str = "", window: str = RATE_INTERVAL) -> str:
    return (
        f"{sum_rate(m.EVALUATIONS_FAILED, *matchers, by=by, window=window)}"
        f" / ({completed_rate(*matchers, by=by, window=window)})"
    )


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
