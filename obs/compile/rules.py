"""The alerts stage: alerts/*.py compiled to the rule files (monitoring/prometheus/rules/<module>.yml),
prometheus.yml and alertmanager.yml.

Every module of alerts/ exposes `groups` (a list of RuleGroup) or, alerts/alertmanager.py, `alertmanager`. An
alert's dashboard link (PanelLink) is resolved against the dashboards compiled earlier in the same build, so it
cannot point at a dashboard or a panel that does not exist. Everything else about a compiled rule file (the
format, the required labels and annotations, the PromQL) is checked on the file (obs.check.rules), so
`obs validate` checks a hand-edited file exactly as the build checks a fresh one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obs.author.alertmanager import Alertmanager
from obs.author.rules import AlertRule, PanelLink, RecordingRule, RuleGroup
from obs.author.stack import RULE_FILES
from obs.check.rules import duplicate_names
from obs.compile.alertmanager import compile_alertmanager
from obs.compile.context import Context
from obs.core.artifacts import Artifact
from obs.core.content import import_package
from obs.core.documents import panels_with_paths
from obs.core.errors import Problem
from obs.core.paths import ALERTMANAGER_FILE, PROMETHEUS_FILE, rule_file
from obs.core.serialize import yaml_text

ALERTS_PACKAGE = "alerts"


@dataclass
class AlertContent:
    groups: list[tuple[str, RuleGroup]] = field(default_factory=list)  # (source module, group)
    alertmanagers: list[tuple[str, Alertmanager]] = field(default_factory=list)


def load_alert_content(root: Path) -> tuple[AlertContent, list[Problem]]:
    """Import each module of alerts/ once and take its `groups` and/or `alertmanager`."""
    content = AlertContent()
    problems: list[Problem] = []
    for source, module in import_package(root, ALERTS_PACKAGE, problems):
        if not hasattr(module, "groups") and not hasattr(module, "alertmanager"):
            problems.append(Problem(source, "module", "", "defines neither `groups` (a list of RuleGroup) nor "
                                                          "`alertmanager` (an Alertmanager)"))
        groups = getattr(module, "groups", [])
        for group in groups if isinstance(groups, list | tuple) else [groups]:
            if isinstance(group, RuleGroup):
                content.groups.append((source, group))
            else:
                problems.append(Problem(source, "module", "", f"`groups` must hold RuleGroups, got "
                                                              f"{type(group).__name__}"))
        if hasattr(module, "alertmanager"):
            if isinstance(module.alertmanager, Alertmanager):
                content.alertmanagers.append((source, module.alertmanager))
            else:
                problems.append(Problem(source, "module", "", f"`alertmanager` must be an Alertmanager, got "
                                                              f"{type(module.alertmanager).__name__}"))
    return content, problems


def resolve_panel_link(link: PanelLink, dashboards: Mapping[str, dict[str, Any]]) -> tuple[str, str | None]:
    """The panel's URL, and a reason when the dashboard or the panel does not exist (the URL then opens the
    dashboard, so the file stays well formed while the build fails on the reason)."""
    from catalog.grafana import GRAFANA_URL

    base = f"{GRAFANA_URL}{link.dashboard.path}"
    document = dashboards.get(link.dashboard.uid)
    if document is None:
        return base, f"links to dashboard {link.dashboard.uid!r}, which dashboards/ does not build"
    kind = f" {link.panel_type}" if link.panel_type else ""
    panels = [panel for panel, _ in panels_with_paths(document)
              if panel.get("type") != "row" and panel.get("title") == link.panel_title
              and link.panel_type in (None, panel.get("type"))]
    if not panels:
        return base, f"links to{kind} panel {link.panel_title!r}, which dashboard {link.dashboard.uid!r} does not have"
    if len(panels) > 1:
        found = ", ".join(f"{p.get('type')} id {p.get('id')}" for p in panels)
        return base, (f"panel title {link.panel_title!r} is ambiguous on dashboard {link.dashboard.uid!r} ({found}): "
                      "choose one with panel_type=")
    names = {v.get("name") for v in (document.get("templating") or {}).get("list") or []}
    missing = [name for name in link.variables if name not in names]
    if missing:
        return base, f"dashboard {link.dashboard.uid!r} has no variable {missing[0]!r}"
    query = "".join(f"&var-{name}={{{{ $labels.{name} | urlquery }}}}" for name in link.variables)
    return f"{base}?viewPanel={panels[0]['id']}{query}", None


def compile_alert(rule: AlertRule, group: RuleGroup, dashboard_url: str) -> dict[str, Any]:
    """Empty fields are left out, so the file's schema names what is missing."""
    labels = {"severity": rule.severity, **group.labels, **rule.labels}
    annotations = {"summary": rule.summary, "description": rule.description,
                   "runbook_url": group.runbook_url(rule), "dashboard_url": dashboard_url, **rule.annotations}
    document: dict[str, Any] = {"alert": rule.alert, "expr": rule.expr}
    if rule.for_:
        document["for"] = rule.for_
    document["labels"] = {key: value for key, value in labels.items() if value}
    document["annotations"] = {key: value for key, value in annotations.items() if value}
    return document


def compile_recording(rule: RecordingRule) -> dict[str, Any]:
    document: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
    if rule.labels:
        document["labels"] = dict(rule.labels)
    return document


def prometheus_document() -> dict[str, Any]:
    """prometheus.yml: the scrape jobs of catalog/jobs.py, the rule files as mounted in the Prometheus container,
    and the Alertmanager of catalog/network.py to send alerts to."""
    from catalog import jobs, network

    def scrape_config(job: jobs.ScrapeJob) -> dict[str, Any]:
        config: dict[str, Any] = {"job_name": job.name}
        if job.scrape_interval:
            config["scrape_interval"] = job.scrape_interval
        config["metrics_path"] = job.metrics_path
        if not job.honor_timestamps:
            config["honor_timestamps"] = False
        config["static_configs"] = [{"targets": [job.address]}]
        return config

    return {
        # Rules evaluate as often as the slowest job is scraped: a faster evaluation sees no new samples.
        "global": {"scrape_interval": jobs.GLOBAL_SCRAPE_INTERVAL, "evaluation_interval": jobs.GLOBAL_SCRAPE_INTERVAL},
        "rule_files": [RULE_FILES],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [str(network.ALERTMANAGER)]}]}]},
        "scrape_configs": [scrape_config(job) for job in jobs.SCRAPE_JOBS],
    }


def compile_alerts(ctx: Context) -> None:
    """alerts/*.py to the rule files, prometheus.yml and alertmanager.yml."""
    # A dashboard that failed to build is reported by the dashboards stage; the alerts linking to it are not
    # reported again, so the one line to read is the dashboard's own.
    dashboards_failed = ctx.failed("dashboards/")
    content, problems = load_alert_content(ctx.root)
    ctx.problems += problems
    by_source: dict[str, list[dict[str, Any]]] = {}
    for source, group in content.groups:
        rules: list[dict[str, Any]] = []
        for rule in group.rules:
            if isinstance(rule, RecordingRule):
                rules.append(compile_recording(rule))
                continue
            url = ""
            if rule.panel is not None:
                url, reason = resolve_panel_link(rule.panel, ctx.dashboards)
                if reason and not (dashboards_failed and rule.panel.dashboard.uid not in ctx.dashboards):
                    ctx.problems.append(Problem(source, f"alert {rule.alert!r}", "panel", reason))
            rules.append(compile_alert(rule, group, url))
        document: dict[str, Any] = {"name": group.name}
        if group.interval:
            document["interval"] = group.interval
        document["rules"] = rules
        by_source.setdefault(source, []).append(document)
    compiled: dict[str, dict[str, Any]] = {}
    for source, groups in by_source.items():
        path = rule_file(Path(source).stem)
        compiled[f"{source} -> {path}"] = {"groups": groups}
        ctx.artifacts.append(Artifact(path, yaml_text({"groups": groups}, source), source))
    ctx.problems += duplicate_names(compiled)
    ctx.artifacts.append(Artifact(PROMETHEUS_FILE, yaml_text(prometheus_document(), "catalog/jobs.py"),
                                  "catalog/jobs.py"))
    if len(content.alertmanagers) != 1:
        where = ", ".join(source for source, _ in content.alertmanagers) or f"{ALERTS_PACKAGE}/"
        ctx.problems.append(Problem(where, "alertmanager", "", f"exactly one module must define `alertmanager`, "
                                                               f"found {len(content.alertmanagers)}"))
    for source, config in content.alertmanagers[:1]:
        ctx.artifacts.append(Artifact(ALERTMANAGER_FILE, yaml_text(compile_alertmanager(config), source), source))
