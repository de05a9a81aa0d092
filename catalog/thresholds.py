"""Every alerting threshold, in one place.

An alert's expression and the red/amber steps of the dashboard panel that shows the same quantity are
both built from these objects; tests/test_thresholds.py proves they agree.
Ratios are fractions (0-1): panels show them with Grafana's `percentunit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Threshold:
    value: float  # the alerting threshold (red on dashboards)
    warn: float  # the early-warning level shown amber on dashboards; it does not alert
    bad_when: Literal["above", "below"]
    for_: str  # how long the condition must hold before the alert fires
    severity: Literal["warning", "critical"]

    def __post_init__(self) -> None:
        earlier = self.warn < self.value if self.bad_when == "above" else self.warn > self.value
        if not earlier:
            raise ValueError(f"warn level {self.warn} must come before the threshold {self.value}")

    @property
    def comparison(self) -> str:
        """The PromQL comparison operator that is true when the condition is bad."""
        return ">" if self.bad_when == "above" else "<"


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

# Spec, TraceQL examples: "Find slow evaluations: {duration>5s}". The trace panels use it as is.
SLOW_EVALUATION = "5s"
