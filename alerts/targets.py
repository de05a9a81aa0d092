"""Scrape-target alerts: one per job of catalog/jobs.py, each linking to its service-health tile.

An app service that cannot be scraped is an outage (critical); an exporter or a part of the monitoring stack that
cannot be scraped leaves the platform running but the alerts and panels that read it blind (warning).
"""

from alerts._common import INSTANCE, JOB, RUNBOOKS, VALUE
from catalog import grafana, jobs
from catalog import metrics as m
from catalog import promql as q
from catalog import thresholds as t
from obs.author.rules import AlertRule, PanelLink, RuleGroup


def target_down(alert: str, job: jobs.ScrapeJob, condition: t.Condition, impact: str) -> AlertRule:
    up = q.selector(m.UP, f'job="{job.name}"')
    return AlertRule(
        alert,
        expr=f"{up} == 0",
        for_=condition.for_,
        severity=condition.severity,
        summary=f"{job.title} is down ({INSTANCE})",
        description=f"Prometheus has not been able to scrape {INSTANCE} (job {JOB}, up = {VALUE}) for "
        f"{condition.for_}: {impact}",
        panel=PanelLink(grafana.SYSTEM_OVERVIEW, job.title),
    )


groups = [
    RuleGroup(
        "targets",
        labels={"component": "targets"},
        runbooks=RUNBOOKS,
        rules=[
            target_down("ApiGatewayDown", jobs.API_GATEWAY, t.SERVICE_DOWN,
                        "evaluations cannot be submitted, and its metrics are missing."),
            target_down("CeleryWorkerDown", jobs.CELERY_WORKER, t.SERVICE_DOWN,
                        "queued evaluations are not processed, and the evaluation alerts are blind."),
            target_down("NodeExporterDown", jobs.NODE_EXPORTER, t.EXPORTER_DOWN,
                        "the host CPU, memory and disk alerts are blind."),
            target_down("CadvisorDown", jobs.CADVISOR, t.EXPORTER_DOWN,
                        "the container panels are empty."),
            target_down("OtelCollectorDown", jobs.OTEL_COLLECTOR, t.EXPORTER_DOWN,
                        "spans from the API gateway and the workers no longer reach Tempo."),
            target_down("PrometheusSelfScrapeDown", jobs.PROMETHEUS, t.EXPORTER_DOWN,
                        "Prometheus's own health (rule failures, notification errors) is not recorded."),
            target_down("AlertmanagerDown", jobs.ALERTMANAGER, t.EXPORTER_DOWN,
                        "alerts are not delivered; the dead-man receiver stops hearing the Watchdog."),
            target_down("GrafanaDown", jobs.GRAFANA, t.EXPORTER_DOWN,
                        "the dashboards are unavailable."),
            target_down("TempoDown", jobs.TEMPO, t.EXPORTER_DOWN,
                        "traces are not stored and the trace panels are empty."),
            target_down("OtelCollectorTelemetryDown", jobs.OTEL_COLLECTOR_TELEMETRY, t.EXPORTER_DOWN,
                        "the Collector's export failures and queues are not watched."),
        ],
    ),
]
