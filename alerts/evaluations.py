"""Evaluation alerts: is the platform evaluating cases, and evaluating them well?"""

from alerts._common import COUNT, DURATION, JOB, PERCENT, RUNBOOKS
from catalog import grafana, jobs
from catalog import metrics as m
from catalog import promql as q
from catalog import thresholds as t
from obs.author.rules import AlertRule, PanelLink, RuleGroup

ANALYTICS = grafana.EVALUATION_ANALYTICS
WORKER = q.selector(m.UP, f'job="{jobs.CELERY_WORKER.name}"')
WORKER_UP = f"sum({WORKER}) > 0"
STARTED = f"sum({q.increase(m.EVALUATIONS, window=q.RULE_WINDOW)})"

groups = [
    RuleGroup(
        "evaluations",
        labels={"component": "evaluations"},
        runbooks=RUNBOOKS,
        rules=[
            # Spec: success rate < 80% for 5 minutes, warning.
            AlertRule(
                "LowEvaluationSuccessRate",
                expr=t.SUCCESS_RATE.breached(q.JOB_SUCCESS_RATIO),
                for_=t.SUCCESS_RATE.for_,
                severity=t.SUCCESS_RATE.severity,
                summary=f"Evaluation success rate below {t.SUCCESS_RATE.value:.0%} on {JOB}",
                description=f"Only {PERCENT} of the evaluations {JOB} completed in the last {q.RULE_WINDOW} "
                f"succeeded (alerts below {t.SUCCESS_RATE.value:.0%} for {t.SUCCESS_RATE.for_}).",
                panel=PanelLink(ANALYTICS, "Success rate", panel_type="timeseries", variables=("job",)),
            ),
            # Spec: failure rate > 20% for 5 minutes, critical. It fires together with the warning above (the two
            # rates add up to 1); Alertmanager's inhibition keeps only this one.
            AlertRule(
                "HighEvaluationFailureRate",
                expr=t.FAILURE_RATE.breached(q.JOB_FAILURE_RATIO),
                for_=t.FAILURE_RATE.for_,
                severity=t.FAILURE_RATE.severity,
                summary=f"Evaluation failure rate above {t.FAILURE_RATE.value:.0%} on {JOB}",
                description=f"{PERCENT} of the evaluations {JOB} completed in the last {q.RULE_WINDOW} failed "
                f"(alerts above {t.FAILURE_RATE.value:.0%} for {t.FAILURE_RATE.for_}). The failures-by-error-type "
                "panel and the failed traces say why.",
                panel=PanelLink(ANALYTICS, "Failure rate", panel_type="timeseries", variables=("job",)),
            ),
            # Slow LLM calls are the first sign of provider trouble, long before evaluations fail.
            AlertRule(
                "EvaluationLatencyHigh",
                expr=t.EVALUATION_P95_SECONDS.breached(q.job_latency_quantile(0.95)),
                for_=t.EVALUATION_P95_SECONDS.for_,
                severity=t.EVALUATION_P95_SECONDS.severity,
                summary=f"Evaluations are slow on {JOB}",
                description=f"The P95 evaluation time on {JOB} is {DURATION} over the last {q.RULE_WINDOW} "
                f"(alerts above {t.EVALUATION_P95_SECONDS.value:g}s for {t.EVALUATION_P95_SECONDS.for_}).",
                panel=PanelLink(ANALYTICS, "Processing time P50 / P95 / P99", variables=("job",)),
            ),
            # A stuck worker fails nothing: with no completions there is no success or failure rate, so neither
            # alert above can fire. Started but never finished, with the worker up (else CeleryWorkerDown fires).
            AlertRule(
                "EvaluationsStalled",
                expr=f"(({STARTED} > 0) unless on () ({q.completed_rate(window=q.RULE_WINDOW)} > 0)) "
                f"and on () ({WORKER_UP})",
                for_=t.EVALUATIONS_STALLED.for_,
                severity=t.EVALUATIONS_STALLED.severity,
                summary="Evaluations are started but none completes",
                description=f"{COUNT} evaluations were started in the last {q.RULE_WINDOW} and none completed, "
                f"successfully or not, for {t.EVALUATIONS_STALLED.for_}, while the Celery worker is up: a stuck "
                "worker, a lost broker connection or a hung LLM call.",
                panel=PanelLink(ANALYTICS, "Evaluations per minute by outcome"),
            ),
        ],
    ),
]
