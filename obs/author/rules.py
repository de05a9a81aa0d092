"""Prometheus alerting and recording rules as content.

Every module of alerts/ but alerts/alertmanager.py exposes `groups`, a list of RuleGroup; the build compiles
the groups of alerts/<name>.py to monitoring/prometheus/rules/<name>.yml. An alert names the dashboard panel
that shows what it measures (PanelLink); the build resolves the link against the dashboards it compiled, so
it cannot point at a dashboard or a panel that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalog.grafana import DashboardRef


@dataclass(frozen=True)
class PanelLink:
    """The dashboard panel that shows what an alert measures; compiled to the `dashboard_url` annotation.

    `panel_type` picks one panel where several share the title (a stat and a timeseries "Success rate").
    `variables` are alert labels passed on as the dashboard variables of the same name (`&var-job=...`).
    """

    dashboard: DashboardRef
    panel_title: str
    panel_type: str | None = None
    variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    for_: str = ""
    severity: str = ""
    summary: str = ""
    description: str = ""  # a template; say what is wrong and by how much ({{ $value }})
    panel: PanelLink | None = None  # the dashboard panel that shows it
    runbook_url: str = ""  # default: the group's runbooks page, at the alert's section
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordingRule:
    record: str  # level:metric:operations
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: Sequence[AlertRule | RecordingRule]
    interval: str = ""  # default: Prometheus's evaluation_interval
    labels: Mapping[str, str] = field(default_factory=dict)  # added to every alert of the group
    runbooks: str = ""  # a page with one section per alert: an alert's runbook_url is <runbooks>#<alert name>

    def runbook_url(self, rule: AlertRule) -> str:
        if rule.runbook_url or not self.runbooks:
            return rule.runbook_url
        return f"{self.runbooks}#{rule.alert.lower()}"  # the anchor Markdown renderers give a heading
