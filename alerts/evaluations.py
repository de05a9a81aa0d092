"""Evaluation alerts: is the platform evaluating cases, and evaluating them well?

The spec's two ratio alerts divide by different things, so each says something the other does not:
LowEvaluationSuccessRate (warning) is succeeded / started, and falls when evaluations fail or are lost;
HighEvaluationFailureRate (critical) is failed / completed. A failure rate above 20% always brings the success
rate below 80%: only there does Alertmanager inhibit the warning (alerts/alertmanager.py).
"""

from alerts._common import COUNT, DURATION, JOB, PERCENT, RUNBOOKS
from catalog import grafana, jobs
from catalog import metrics as m
from catalog import promql as q
from catalog import thresholds as t
from obs.author.rules import AlertRule, PanelLink, RuleGroup

ANALYTICS = grafana.EVALUATION_ANALYTICS
MIN = t.MIN_COMPLETED_EVALUATIONS
WORKER_UP = f"sum by (job) ({q.selector(m.UP, q.APP)}) > 0"


def guarded(condition: str, count: str) -> str:
    """`condition`, only for jobs whose recorded `count` over the window reaches the minimum traffic."""
    return f"({condition}) and on (job) ({count} >= {MIN})"


groups = [
    RuleGroup(
        "evaluations",
        labels={"component": "evaluations"},
        runbooks=RUNBOOKS,
        rules=[
            # Spec: success rate < 80% for 5 minutes, warning.
            AlertRule(
                "LowEvaluationSuccessRate",
                expr=guarded(t.SUCCESS_RATE.breached(q.JOB_SUCCESS_RATIO), q.JOB_STARTED),
                for_=t.SUCCESS_RATE.for_,
                severity=t.SUCCESS_RATE.severity,
                summary=f"Evaluation success rate below {t.SUCCESS_RATE.value:.0%} on {JOB}",
                description=f"Only {PERCENT} of the evaluations {JOB} started in the last {q.RULE_WINDOW} succeeded "
                f"(alerts below {t.SUCCESS_RATE.value:.0%} for {t.SUCCESS_RATE.for_}, from {MIN} evaluations "
                "started). The rest failed or have not reported back.",
                panel=PanelLink(ANALYTICS, "Success rate", variables=("job",)),
            ),
            # Spec: failure rate > 20% for 5 minutes, critical.
            AlertRule(
                "HighEvaluationFailureRate",
                expr=guarded(t.FAILURE_RATE.breached(q.JOB_FAILURE_RATIO), q.JOB_COMPLETED),
                for_=t.FAILURE_RATE.for_,
                severity=t.FAILURE_RATE.severity,
                summary=f"Evaluation failure rate above {t.FAILURE_RATE.value:.0%} on {JOB}",
                description=f"{PERCENT} of the evaluations {JOB} completed in the last {q.RULE_WINDOW} failed "
                f"(alerts above {t.FAILURE_RATE.value:.0%} for {t.FAILURE_RATE.for_}, from {MIN} evaluations "
                "completed). The failures-by-error-type panel and the failed traces say why.",
                panel=PanelLink(ANALYTICS, "Failure rate", variables=("job",)),
            ),
            # Slow LLM calls are the first sign of provider trouble, long before evaluations fail. The histogram's
            # buckets have boundaries at 15 s and 30 s and go on to 300 s (catalog/metrics.py).
            AlertRule(
                "EvaluationLatencyHigh",
                expr=guarded(t.EVALUATION_P95_SECONDS.breached(q.job_latency_quantile(0.95)), q.JOB_COMPLETED),
                for_=t.EVALUATION_P95_SECONDS.for_,
                severity=t.EVALUATION_P95_SECONDS.severity,
                summary=f"Evaluations are slow on {JOB}",
                description=f"The P95 evaluation time on {JOB} is {DURATION} over the last {q.RULE_WINDOW} "
                f"(alerts above {t.EVALUATION_P95_SECONDS.value:g}s for {t.EVALUATION_P95_SECONDS.for_}).",
                panel=PanelLink(ANALYTICS, "Processing time P50 / P95 / P99", variables=("job",)),
            ),
            # A stuck worker fails nothing: with no completions there is no failure rate. Evaluations in flight
            # (started, reported neither way), none completed in the window, the worker up (else CeleryWorkerDown):
            # a batch that hangs keeps its evaluations in flight however long ago it started.
            AlertRule(
                "EvaluationsStalled",
                expr=f"((({q.JOB_IN_FLIGHT} > 0) unless on (job) ({q.JOB_COMPLETED} > 0)) "
                f"and on (job) ({WORKER_UP}))",
                for_=t.EVALUATIONS_STALLED.for_,
                severity=t.EVALUATIONS_STALLED.severity,
                summary=f"Evaluations on {JOB} are in flight but none completes",
                description=f"{COUNT} evaluations are in flight on {JOB} (started, not reported either way) and none "
                f"has completed, successfully or not, in {t.STALL_WINDOW}, for {t.EVALUATIONS_STALLED.for_}, while "
                "the worker is up: a stuck worker, a lost broker connection or a hung LLM call.",
                panel=PanelLink(ANALYTICS, "Evaluations in flight", variables=("job",)),
            ),
        ],
    ),
]

assert t.STALL_WINDOW == q.RULE_WINDOW, "EvaluationsStalled reads the completions recorded over RULE_WINDOW"
assert jobs.CELERY_WORKER in m.EVALUATIONS.exported_by
