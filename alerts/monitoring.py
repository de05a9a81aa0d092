"""The monitoring stack watching itself: a heartbeat for the dead-man receiver, and the failures that leave the
other alerts silent (a rule that does not evaluate, a notification that does not get out, spans the Collector
cannot export)."""

from alerts._common import COUNT, RUNBOOKS, VALUE
from catalog import grafana, jobs
from catalog import metrics as m
from catalog import promql as q
from catalog import thresholds as t
from obs.author.rules import AlertRule, PanelLink, RuleGroup

SYSTEM = grafana.SYSTEM_OVERVIEW


def failing(metric: m.Metric, by: str) -> str:
    """How many failures in the window, where there were any: the value reads as a count, not as 100m a second."""
    return f"sum by ({by}) ({q.increase(metric, m.owner_matcher(metric), window=q.RULE_WINDOW)}) > 0"


IN_WINDOW = f"in the last {q.RULE_WINDOW}"


groups = [
    RuleGroup(
        "monitoring",
        labels={"component": "monitoring"},
        runbooks=RUNBOOKS,
        rules=[
            # Always firing. Alertmanager sends it to the dead-man receiver every few minutes; the service behind it
            # alerts the on-call when the pings stop: Prometheus, its rules or Alertmanager are down, or the two
            # cannot talk. Severity "none": not a problem, and left out of the firing-alerts panels.
            AlertRule(
                "Watchdog",
                expr="vector(1)",
                for_="0s",
                severity="none",
                summary="The alerting pipeline is alive",
                description=f"Always firing ({VALUE}): proves that Prometheus evaluates rules and that Alertmanager "
                "delivers them. If the dead-man receiver stops hearing it, the alerting is broken.",
                panel=PanelLink(SYSTEM, jobs.PROMETHEUS.title),
            ),
            AlertRule(
                "PrometheusRuleEvaluationFailures",
                expr=failing(m.PROMETHEUS_RULE_EVALUATION_FAILURES, "rule_group"),
                for_=t.RULE_FAILURES.for_,
                severity=t.RULE_FAILURES.severity,
                summary="Prometheus fails to evaluate rules of {{ $labels.rule_group }}",
                description=f"Rules of {{{{ $labels.rule_group }}}} failed {COUNT} times {IN_WINDOW}: the alerts and "
                "recorded series they compute are missing, silently. `obs verify` names the rule and its error.",
                panel=PanelLink(SYSTEM, "Rule evaluation failures"),
            ),
            AlertRule(
                "PrometheusNotificationsFailing",
                expr=f"{failing(m.PROMETHEUS_NOTIFICATIONS_ERRORS, 'alertmanager')} "
                f"or {failing(m.PROMETHEUS_NOTIFICATIONS_DROPPED, 'job')}",
                for_=t.NOTIFICATION_FAILURES.for_,
                severity=t.NOTIFICATION_FAILURES.severity,
                summary="Prometheus cannot send alerts to Alertmanager",
                description=f"Prometheus failed to send (or dropped) {COUNT} alert notifications {IN_WINDOW} on "
                "their way to Alertmanager: firing alerts reach no one. Only the dead-man receiver notices this one "
                "for sure.",
                panel=PanelLink(SYSTEM, "Notification failures"),
            ),
            AlertRule(
                "AlertmanagerNotificationsFailing",
                expr=failing(m.ALERTMANAGER_NOTIFICATIONS_FAILED, "integration"),
                for_=t.NOTIFICATION_FAILURES.for_,
                severity=t.NOTIFICATION_FAILURES.severity,
                summary="Alertmanager fails to deliver {{ $labels.integration }} notifications",
                description=f"{COUNT} {{{{ $labels.integration }}}} notifications failed {IN_WINDOW}: alerts routed "
                "there reach no one. Check the receiver's credentials and the service's status.",
                panel=PanelLink(SYSTEM, "Notification failures"),
            ),
            AlertRule(
                "OtelCollectorExportFailing",
                expr=f"{failing(m.OTELCOL_EXPORTER_SEND_FAILED_SPANS, 'exporter')} "
                f"or {failing(m.OTELCOL_EXPORTER_SEND_FAILED_METRIC_POINTS, 'exporter')}",
                for_=t.COLLECTOR_EXPORT_FAILURES.for_,
                severity=t.COLLECTOR_EXPORT_FAILURES.severity,
                summary="The Collector fails to export through {{ $labels.exporter }}",
                description=f"The OpenTelemetry Collector failed to export {COUNT} spans or metric points {IN_WINDOW} "
                "through {{ $labels.exporter }}: traces (or the apps' OTLP metrics) are being lost.",
                panel=PanelLink(SYSTEM, "Collector export failures"),
            ),
        ],
    ),
]
