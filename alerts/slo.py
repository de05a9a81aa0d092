"""The evaluation SLO's error-budget alerts, from its one declaration (catalog/thresholds.py EVALUATION_SLO).

Multi-window, multi-burn-rate alerting as the Google SRE Workbook gives it ("Alerting on SLOs"): the page rows
are OR'ed into one paging alert, the ticket row is a warning. Each row needs the budget to burn at its rate over
both its long window (so a short blip does not page) and its short one (so the alert ends soon after the burning
does), and a long window with enough evaluations to mean it (a minimum-traffic guard).
"""

from alerts._common import RUNBOOKS, VALUE
from catalog import grafana
from catalog import promql as q
from catalog import thresholds as t
from obs.author.rules import AlertRule, PanelLink, RuleGroup

SLO = t.EVALUATION_SLO
PAGE = tuple(row for row in SLO.windows if row.severity == "critical")
TICKET = tuple(row for row in SLO.windows if row.severity == "warning")
LABELS = {"component": "evaluations", "slo": "evaluation-success"}


def rows_text(rows: tuple[t.BurnRateWindow, ...]) -> str:
    return " or ".join(f"{row.burn_rate:g}x over {row.long} and {row.short} ({SLO.budget_consumed(row):.0%} of the "
                       f"{SLO.period} budget)" for row in rows)


def burn_alert(name: str, rows: tuple[t.BurnRateWindow, ...], urgency: str) -> AlertRule:
    fors = {row.for_ for row in rows}
    severities = {row.severity for row in rows}
    assert len(fors) == 1 and len(severities) == 1, f"{name}: the rows of one alert share `for` and severity"
    return AlertRule(
        name,
        expr=" or ".join(q.burn_condition(row, SLO) for row in rows),
        for_=fors.pop(),
        severity=severities.pop(),
        summary=f"The evaluation error budget is burning {urgency}",
        description=f"Evaluations fail {VALUE} times as fast as the {SLO.objective:.0%} {SLO.name} SLO allows "
        f"(alerts at {rows_text(rows)}, from {SLO.min_events} completed evaluations in the long window).",
        panel=PanelLink(grafana.EVALUATION_ANALYTICS, "Error budget burn rate"),
    )


groups = [
    RuleGroup(
        "slo",
        labels=LABELS,
        runbooks=RUNBOOKS,
        rules=[
            burn_alert("EvaluationErrorBudgetBurnFast", PAGE, "fast: it will be gone in days"),
            burn_alert("EvaluationErrorBudgetBurnSlow", TICKET, "steadily: the SLO will be missed this period"),
        ],
    ),
]
