"""Recording rules: the ratios and percentiles the alerts read.

The names (level:metric:operations) live in catalog/promql.py; each is computed by the same builder the
dashboards use, over RULE_WINDOW where a panel uses Grafana's $__rate_interval, so a panel and the alert on it
show the same quantity.
"""

from catalog import promql as q
from obs.author.rules import RecordingRule, RuleGroup

groups = [
    RuleGroup(
        "evaluations.recording",
        rules=[
            RecordingRule(q.JOB_SUCCESS_RATIO, q.success_ratio(by="job", window=q.RULE_WINDOW)),
            RecordingRule(q.JOB_FAILURE_RATIO, q.failure_ratio(by="job", window=q.RULE_WINDOW)),
            *[
                RecordingRule(q.job_latency_quantile(quantile),
                              q.latency_quantile(quantile, by="job", window=q.RULE_WINDOW))
                for quantile in q.LATENCY_QUANTILES
            ],
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
