"""Recording rules: the ratios, counts and percentiles the alerts read.

The names (level:metric:operations) live in catalog/promql.py; each is computed by the same builder the
dashboards use, over RULE_WINDOW where a panel uses Grafana's $__rate_interval, so a panel and the alert on it
show the same quantity. Only the jobs that own the evaluation metrics are read (catalog/metrics.py APP_OWNER).
"""

from catalog import promql as q
from catalog import thresholds as t
from obs.author.rules import RecordingRule, RuleGroup

SLO = t.EVALUATION_SLO

groups = [
    RuleGroup(
        "evaluations.recording",
        rules=[
            RecordingRule(q.JOB_SUCCESS_RATIO, q.success_ratio(q.APP, by="job", window=q.RULE_WINDOW)),
            RecordingRule(q.JOB_FAILURE_RATIO, q.failure_ratio(q.APP, by="job", window=q.RULE_WINDOW)),
            RecordingRule(q.JOB_STARTED, q.started_increase(q.APP, by="job", window=q.RULE_WINDOW)),
            RecordingRule(q.JOB_COMPLETED, q.completed_increase(q.APP, by="job", window=q.RULE_WINDOW)),
            RecordingRule(q.JOB_IN_FLIGHT, q.in_flight(q.APP, by="job")),
            *[
                RecordingRule(q.job_latency_quantile(quantile),
                              q.latency_quantile(quantile, q.APP, by="job", window=q.RULE_WINDOW))
                for quantile in q.LATENCY_QUANTILES
            ],
        ],
    ),
    # The SLO's error ratio over every window its burn-rate alerts read, and the number of evaluations behind each
    # long window (the minimum-traffic guard). One series each: the SLO is the platform's, not a job's.
    RuleGroup(
        "slo.recording",
        rules=[
            *[RecordingRule(q.slo_error_ratio(window), q.slo_ratio(window)) for window in SLO.rate_windows],
            *[RecordingRule(q.slo_completed(window), q.completed_increase(q.APP, window=window))
              for window in SLO.long_windows],
            # The whole period, for the error-budget panels.
            RecordingRule(q.slo_error_ratio(SLO.period), q.slo_ratio(SLO.period)),
        ],
    ),
    RuleGroup(
        "host.recording",
        rules=[
            RecordingRule(q.INSTANCE_CPU_UTILISATION, q.host_cpu_usage(window=q.RULE_WINDOW)),
            RecordingRule(q.INSTANCE_MEMORY_UTILISATION, q.host_memory_usage()),
        ],
    ),
]
