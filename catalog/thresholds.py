"""Every alerting threshold, in one place.

An alert's expression and the red/amber steps of the dashboard panel that shows the same quantity are
both built from these objects; tests/test_alerts.py proves the compiled alert and the compiled panel agree.
Ratios are fractions (0-1): panels show them with Grafana's `percentunit`.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from catalog._records import fail, record

# The one definition of severity: the rules' check, `obs lint` and Alertmanager's routes
# (alerts/alertmanager.py has a route for each) all take it from here. Critical pages the on-call, warning goes
# to the team.
Severity = Literal["critical", "warning"]
SEVERITIES: tuple[str, ...] = get_args(Severity)
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


def check_duration(value: str) -> None:
    if not DURATION.match(value):
        raise fail("for_", f"must be a Prometheus duration such as 5m, got {value!r}")


@record("threshold")
class Threshold:
    value: float  # the alerting threshold (red on dashboards)
    warn: float  # the early-warning level shown amber on dashboards; it does not alert
    bad_when: Literal["above", "below"]
    for_: str  # how long the condition must hold before the alert fires
    severity: Severity

    def check(self) -> None:
        check_duration(self.for_)
        earlier = self.warn < self.value if self.bad_when == "above" else self.warn > self.value
        if not earlier:
            raise fail("warn", f"warn level {self.warn} must come before the threshold {self.value} "
                               f"(the condition is bad {self.bad_when} it)")

    @property
    def comparison(self) -> str:
        """The PromQL comparison operator that is true when the condition is bad."""
        return ">" if self.bad_when == "above" else "<"

    def breached(self, expr: str) -> str:
        """The alert condition: `expr` on the bad side of the threshold."""
        return f"{expr} {self.comparison} {self.value!r}"


@record("condition")
class Condition:
    """An alert without a numeric threshold (a target down, evaluations stalled): how long, how bad."""

    for_: str
    severity: Severity

    def check(self) -> None:
        check_duration(self.for_)


# Spec: "Success rate < 80% for 5 minutes, severity warning".
SUCCESS_RATE = Threshold(value=0.80, warn=0.90, bad_when="below", for_="5m", severity="warning")
# Spec: "Failure rate > 20% for 5 minutes, severity critical".
FAILURE_RATE = Threshold(value=0.20, warn=0.10, bad_when="above", for_="5m", severity="critical")
# Spec: "CPU > 90% for 5 minutes, severity warning".
HOST_CPU = Threshold(value=0.90, warn=0.75, bad_when="above", for_="5m", severity="warning")
# Spec: "Memory > 90% for 5 minutes, severity warning".
HOST_MEMORY = Threshold(value=0.90, warn=0.75, bad_when="above", for_="5m", severity="warning")
# Not in the spec: a full disk stops Prometheus and Tempo; warn well before it does.
HOST_DISK = Threshold(value=0.90, warn=0.80, bad_when="above", for_="15m", severity="warning")
# Not in the spec: P95 evaluation latency; slow LLM calls are the first sign of provider trouble.
EVALUATION_P95_SECONDS = Threshold(value=30.0, warn=15.0, bad_when="above", for_="10m", severity="warning")

# Not in the spec: the API gateway or the Celery worker cannot be scraped; evaluations stop. A minute is six
# failed scrapes at the app jobs' 10 s interval, so one slow scrape does not page anyone.
SERVICE_DOWN = Condition(for_="1m", severity="critical")
# Not in the spec: an exporter (node-exporter, cAdvisor, the collector) cannot be scraped; the platform still
# works, but the alerts and panels that read it are blind.
EXPORTER_DOWN = Condition(for_="5m", severity="warning")
# Not in the spec: evaluations are being started and the worker is up, yet none completes, either way. Neither
# rate alert can see this (no completions, no ratio); ten minutes is far beyond the slowest evaluation.
EVALUATIONS_STALLED = Condition(for_="10m", severity="critical")

# Spec, TraceQL examples: "Find slow evaluations: {duration>5s}". The trace panels use it as is.
SLOW_EVALUATION = "5s"
