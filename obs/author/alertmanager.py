"""Alertmanager routing as content: alerts/alertmanager.py exposes `alertmanager = Alertmanager(...)`,
compiled to monitoring/alertmanager.yml.

Secrets never appear in the model: the SMTP password and the Slack webhook URL are read by Alertmanager from
files mounted at deploy time (`smtp_auth_password_file`, `slack_api_url_file`); the model has no field for an
inline secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# Notification texts. They rely on the annotations every alert carries (obs.alerting.REQUIRED_ANNOTATIONS).
EMAIL_SUBJECT = "[{{ .Status | toUpper }}] {{ .CommonLabels.severity }}: {{ .CommonLabels.alertname }}"
SLACK_TITLE = ('[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
               "{{ .CommonLabels.alertname }}")
SLACK_TITLE_LINK = "{{ (index .Alerts 0).Annotations.dashboard_url }}"
SLACK_TEXT = ("{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n"
              "<{{ .Annotations.dashboard_url }}|Dashboard> | <{{ .Annotations.runbook_url }}|Runbook>\n{{ end }}")


@dataclass(frozen=True)
class Global:
    resolve_timeout: str = "5m"
    smtp_smarthost: str = ""  # host:port
    smtp_from: str = ""
    smtp_auth_username: str = ""
    smtp_auth_password_file: str = ""  # mounted at deploy time
    smtp_require_tls: bool = True
    slack_api_url_file: str = ""  # the Slack incoming-webhook URL, mounted at deploy time


@dataclass(frozen=True)
class Email:
    to: str
    send_resolved: bool = True
    subject: str = EMAIL_SUBJECT


@dataclass(frozen=True)
class Slack:
    channel: str
    send_resolved: bool = True
    api_url_file: str = ""  # default: the global slack_api_url_file
    title: str = SLACK_TITLE
    title_link: str = SLACK_TITLE_LINK
    text: str = SLACK_TEXT


@dataclass(frozen=True)
class Webhook:
    """An HTTP POST of the alerts' JSON to `url` (a dead-man's-switch service, for instance). The URL is not a
    secret; a bearer token, if the service needs one, is read from `bearer_token_file` (Alertmanager 0.25 has no
    url_file for webhooks, so a service whose URL is the secret cannot be used)."""

    url: str
    bearer_token_file: str = ""
    send_resolved: bool = False
    max_alerts: int = 0  # 0: all of the group's alerts


@dataclass(frozen=True)
class Receiver:
    name: str
    email: Sequence[Email] = ()
    slack: Sequence[Slack] = ()
    webhook: Sequence[Webhook] = ()


@dataclass(frozen=True)
class Route:
    receiver: str = ""  # default: the parent route's
    matchers: Sequence[str] = ()  # 'severity="critical"'
    group_by: Sequence[str] = ()
    group_wait: str = ""
    group_interval: str = ""
    repeat_interval: str = ""
    continue_: bool = False
    routes: Sequence[Route] = ()


@dataclass(frozen=True)
class InhibitRule:
    """While an alert matching `source_matchers` fires, alerts matching `target_matchers` that have the same
    values for the `equal` labels are not notified."""

    source_matchers: Sequence[str]
    target_matchers: Sequence[str]
    equal: Sequence[str] = ()


@dataclass(frozen=True)
class Alertmanager:
    route: Route
    receivers: Sequence[Receiver]
    inhibit_rules: Sequence[InhibitRule] = ()
    global_: Global = field(default_factory=Global)


