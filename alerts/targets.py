"""Scrape-target alerts: one per job of catalog/jobs.py, each linking to its service-health tile.

An app service that cannot be scraped is an outage (critical); an exporter that cannot be scraped leaves the
platform running but the alerts and panels that read it blind (warning).
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
        ],
    ),
]
