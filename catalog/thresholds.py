"""Every alerting threshold, and the evaluation SLO, in one place.

An alert's expression and the red/amber steps of the dashboard panel that shows the same quantity are
both built from these objects; tests/content/test_alerts.py proves the compiled alert and the compiled panel agree.
Ratios are fractions (0-1): panels show them with Grafana's `percentunit`.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from catalog import metrics as m
from catalog._records import fail, record
from catalog.metrics import Metric

# The one definition of severity: the rules' check, `obs lint` and Alertmanager's routes
# (alerts/alertmanager.py has a route for each) all take it from here.
#   critical  pages the on-call engineer: act now;
#   warning   goes to the team's channel: look at it today (an SLO "ticket");
#   none      is not a problem but a signal: the Watchdog, always firing, proves to the dead-man receiver that the
#             whole path from Prometheus to Alertmanager works. Dashboards leave severity="none" out of "firing".
Severity = Literal["critical", "warning", "none"]
SEVERITIES: tuple[str, ...] = get_args(Severity)
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(duration: str) -> float:
    """A Prometheus duration in seconds: 1h30m -> 5400."""
    return sum(float(n) * UNITS[unit] for n, unit in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", duration))


def check_duration(value: str, field: str = "for_") -> None:
    if not DURATION.match(value):
        raise fail(field, f"must be a Prometheus duration such as 5m, got {value!r}")


@record("threshold")
class Threshold:
    value: float  # the alerting threshold (red on dashboards)
    warn: float  # the early-warning level shown amber on dashboards; it does not alert
    bad_when: Literal["above", "below"]
    for_: str  # how long the condition must hold before the alert fires
    severity: Severity
    # A latency threshold read from a histogram: both levels must be bucket boundaries with a bucket above, or
    # histogram_quantile can only answer "somewhere in the bucket" (or "the top bucket", which never fires).
    histogram: Metric | None = None

    def check(self) -> None:
        check_duration(self.for_)
        earlier = self.warn < self.value if self.bad_when == "above" else self.warn > self.value
        if not earlier:
            raise fail("warn", f"warn level {self.warn} must come before the threshold {self.value} "
                               f"(the condition is bad {self.bad_when} it)")
        if self.histogram is not None:
            for level in (self.value, self.warn):
                reason = unresolvable(level, self.histogram.buckets)
                if reason:
                    raise fail("histogram", f"{self.histogram.name}: {reason}")

    @property
    def comparison(self) -> str:
        """The PromQL comparison operator that is true when the condition is bad."""
        return ">" if self.bad_when == "above" else "<"

    def breached(self, expr: str) -> str:
        """The alert condition: `expr` on the bad side of the threshold."""
        return f"{expr} {self.comparison} {self.value!r}"


def unresolvable(level: float, buckets: tuple[float, ...]) -> str | None:
    """Why a histogram with these finite bucket bounds cannot tell whether a quantile is above `level`, or None."""
    if level not in buckets:
        return f"{level:g} is not a bucket boundary (buckets: {', '.join(f'{b:g}' for b in buckets)})"
    if level >= max(buckets):
        return f"{level:g} is the largest finite bucket: a quantile above it reads as {level:g}"
    return None


@record("condition")
class Condition:
    """An alert without a numeric threshold (a target down, evaluations stalled): how long, how bad."""

    for_: str
    severity: Severity

    def check(self) -> None:
        check_duration(self.for_)


# Spec: "Success rate < 80% for 5 minutes, severity warning". The success rate is the share of the evaluations
# started that succeeded: it falls when evaluations fail and when they are lost (never reported back), so it is a
# different condition from the failure rate below, which divides by the completed ones only.
SUCCESS_RATE = Threshold(value=0.80, warn=0.90, bad_when="below", for_="5m", severity="warning")
# Spec: "Failure rate > 20% for 5 minutes, severity critical": failed / completed.
FAILURE_RATE = Threshold(value=0.20, warn=0.10, bad_when="above", for_="5m", severity="critical")
# A ratio of a handful of evaluations is noise: one success and one failure is not "50% failed". The ratio
# alerts (and the latency one) need this many completed evaluations in their 5-minute window.
MIN_COMPLETED_EVALUATIONS = 10
# Spec: "CPU > 90% for 5 minutes, severity warning".
HOST_CPU = Threshold(value=0.90, warn=0.75, bad_when="above", for_="5m", severity="warning")
# Spec: "Memory > 90% for 5 minutes, severity warning".
HOST_MEMORY = Threshold(value=0.90, warn=0.75, bad_when="above", for_="5m", severity="warning")
# Not in the spec: a full disk stops Prometheus and Tempo; warn well before it does.
HOST_DISK = Threshold(value=0.90, warn=0.80, bad_when="above", for_="15m", severity="warning")
# Not in the spec: P95 evaluation latency; slow LLM calls are the first sign of provider trouble.
EVALUATION_P95_SECONDS = Threshold(value=30.0, warn=15.0, bad_when="above", for_="10m", severity="warning",
                                   histogram=m.EVALUATION_DURATION)
# Not in the spec: load per core above 2 is a queue twice as long as the machine can serve (amber at 1).
HOST_LOAD_PER_CORE = Threshold(value=2.0, warn=1.0, bad_when="above", for_="15m", severity="warning")

# Not in the spec: the API gateway or the Celery worker cannot be scraped; evaluations stop. A minute is six
# failed scrapes at the app jobs' 10 s interval, so one slow scrape does not page anyone.
SERVICE_DOWN = Condition(for_="1m", severity="critical")
# Not in the spec: an exporter (node-exporter, cAdvisor, the collector) or a part of the monitoring stack cannot be
# scraped; the platform still works, but the alerts and panels that read it are blind.
EXPORTER_DOWN = Condition(for_="5m", severity="warning")
# Not in the spec: evaluations are in flight (started, not yet reported either way), the worker is up, and none
# has completed for this long. Neither rate alert can see this (no completions, no ratio).
EVALUATIONS_STALLED = Condition(for_="10m", severity="critical")
# How long without a single completion, with evaluations in flight, counts as "not completing": longer than the
# slowest evaluation the histogram measures (300 s).
STALL_WINDOW = "5m"
# Not in the spec: Prometheus failed to evaluate a rule: the alerts built on it are silently off.
RULE_FAILURES = Condition(for_="5m", severity="critical")
# Not in the spec: notifications do not get out (Prometheus to Alertmanager, or Alertmanager to a receiver).
NOTIFICATION_FAILURES = Condition(for_="5m", severity="warning")
# Not in the spec: the Collector fails to export spans or metrics: traces and the apps' OTLP metrics are lost.
COLLECTOR_EXPORT_FAILURES = Condition(for_="5m", severity="warning")

# Spec, TraceQL examples: "Find slow evaluations: {duration>5s}". The trace panel scopes it to the
# evaluate_single_case span, and the histogram has a boundary there.
SLOW_EVALUATION_SECONDS = 5.0
SLOW_EVALUATION = f"{SLOW_EVALUATION_SECONDS:g}s"
if unresolvable(SLOW_EVALUATION_SECONDS, m.EVALUATION_DURATION.buckets):
    raise ValueError(f"SLOW_EVALUATION: {unresolvable(SLOW_EVALUATION_SECONDS, m.EVALUATION_DURATION.buckets)}")


# --- The evaluation SLO ------------------------------------------------------------------------------------

@record("burn-rate alert")
class BurnRateWindow:
    """One row of the multi-window, multi-burn-rate table: alert when the error budget burns `burn_rate` times as
    fast as the SLO allows, over both the long window and the short one (which stops the alert soon after the
    burning stops)."""

    long: str
    short: str
    burn_rate: float
    severity: Severity
    for_: str

    def check(self) -> None:
        check_duration(self.long, "long")
        check_duration(self.short, "short")
        check_duration(self.for_)
        if seconds(self.short) >= seconds(self.long):
            raise fail("short", f"the short window {self.short} must be shorter than the long window {self.long}")
        if self.burn_rate <= 0:
            raise fail("burn_rate", f"must be positive, got {self.burn_rate}")


@record("objective")
class Objective:
    """A service-level objective on a ratio of good events, and the alerts that guard its error budget."""

    name: str  # the SLO's name in alerts and the README
    objective: float  # the share of good events promised, e.g. 0.99
    period: str  # the budget period the burn rates are relative to
    windows: tuple[BurnRateWindow, ...]
    # A long window with fewer events than this cannot alert: one failure among five evaluations is not a burn.
    min_events: int

    def check(self) -> None:
        if not 0 < self.objective < 1:
            raise fail("objective", f"must be between 0 and 1, got {self.objective}")
        check_duration(self.period, "period")
        for row in self.windows:
            if row.burn_rate * self.budget >= 1:
                raise fail("windows", f"burn rate {row.burn_rate:g} with a budget of {self.budget:.2%} is an error "
                                      "ratio of 100% or more: it can never be reached")
            if seconds(row.long) > seconds(self.period):
                raise fail("windows", f"long window {row.long} is longer than the period {self.period}")
        if self.min_events < 1:
            raise fail("min_events", f"must be at least 1, got {self.min_events}")

    @property
    def budget(self) -> float:
        """The error budget: the share of events allowed to fail."""
        return round(1 - self.objective, 12)

    def threshold(self, row: BurnRateWindow) -> float:
        """The error ratio at which `row` alerts: burn rate x budget."""
        return round(row.burn_rate * self.budget, 12)

    def budget_consumed(self, row: BurnRateWindow) -> float:
        """The share of the period's budget spent when `row` first fires: burn rate x long window / period."""
        return round(row.burn_rate * seconds(row.long) / seconds(self.period), 12)

    @property
    def rate_windows(self) -> tuple[str, ...]:
        """Every window the alerts read, shortest first."""
        found = {w for row in self.windows for w in (row.long, row.short)}
        return tuple(sorted(found, key=seconds))

    @property
    def long_windows(self) -> tuple[str, ...]:
        return tuple(sorted({row.long for row in self.windows}, key=seconds))


# The evaluation success SLO: 99% of the evaluations that complete succeed, over 30 days (failed / (succeeded +
# failed); an evaluation still running is neither). The rows are the Google SRE Workbook's Table 5-8 ("Alerting on
# SLOs", recommended parameters for a 99.9% SLO): two page rows and one ticket row. Each row fires when it has
# consumed the share of the 30-day budget shown; burn rate = share x period / long window.
#   page   14.4x over 1h, confirmed over 5m     2% of the budget
#   page    6x   over 6h, confirmed over 30m    5%
#   ticket  1x   over 3d, confirmed over 6h    10%
# The often-added ticket row 3x over 1d/2h is left out on purpose: it also fires at 10% of the budget, so for
# every burn rate of 3x or more it fires at the same moment as the 1x/3d row (10% x 30d / burn rate); it would only
# add a second ticket for the same burn.
EVALUATION_SLO = Objective(
    name="evaluation success",
    objective=0.99,
    period="30d",
    windows=(
        BurnRateWindow(long="1h", short="5m", burn_rate=14.4, severity="critical", for_="2m"),
        BurnRateWindow(long="6h", short="30m", burn_rate=6.0, severity="critical", for_="2m"),
        BurnRateWindow(long="3d", short="6h", burn_rate=1.0, severity="warning", for_="1h"),
    ),
    min_events=20,
)


def histogram_levels() -> tuple[tuple[Metric, float, str], ...]:
    """(histogram, level, what reads it) for every latency level a panel or an alert reads from a histogram: each
    must be one of its bucket boundaries, with a boundary above (check-metrics checks what an app really exports)."""
    levels: list[tuple[Metric, float, str]] = []
    for name, value in globals().items():
        if isinstance(value, Threshold) and value.histogram is not None:
            levels.append((value.histogram, value.value, f"the {name} alert threshold"))
            levels.append((value.histogram, value.warn, f"the {name} warning level"))
    levels.append((m.EVALUATION_DURATION, SLOW_EVALUATION_SECONDS, "the slow-evaluation panel"))
    return tuple(levels)
