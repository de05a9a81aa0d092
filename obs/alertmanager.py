"""Alertmanager routing as Python, compiled to monitoring/alertmanager.yml for Alertmanager 0.25.

alerts/alertmanager.py exposes `alertmanager = Alertmanager(...)`. Secrets never appear in the model: the SMTP
password and the Slack webhook URL are read by Alertmanager from files mounted at deploy time
(`smtp_auth_password_file`, `slack_api_url_file`); the schema has no field for an inline secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from obs.artifacts import ALERTMANAGER_FILE, checker
from obs.errors import Problem, iter_strings, json_path

# Alertmanager's matcher syntax, quoted form: name="value", name!="value", name=~"regex", name!~"regex".
MATCHER = re.compile(r'^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*$')
# What a secret looks like when someone pastes one into a template or an address.
SECRET_PATTERNS = re.compile(r"hooks\.slack\.com/services/|xox[abpr]-[0-9A-Za-z-]+|https?://[^/\s:@]+:[^/\s@]+@")

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
class Receiver:
    name: str
    email: Sequence[Email] = ()
    slack: Sequence[Slack] = ()


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


def _without_empty(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in ("", (), [], None)}


def compile_route(route: Route) -> dict[str, Any]:
    document = _without_empty({
        "receiver": route.receiver,
        "matchers": list(route.matchers),
        "group_by": list(route.group_by),
        "group_wait": route.group_wait,
        "group_interval": route.group_interval,
        "repeat_interval": route.repeat_interval,
    })
    if route.continue_:
        document["continue"] = True
    if route.routes:
        document["routes"] = [compile_route(child) for child in route.routes]
    return document


def compile_receiver(receiver: Receiver) -> dict[str, Any]:
    document: dict[str, Any] = {"name": receiver.name}
    if receiver.email:
        document["email_configs"] = [
            {"to": email.to, "send_resolved": email.send_resolved, "headers": {"Subject": email.subject}}
            for email in receiver.email
        ]
    if receiver.slack:
        document["slack_configs"] = [
            _without_empty({"channel": slack.channel, "send_resolved": slack.send_resolved,
                            "api_url_file": slack.api_url_file, "title": slack.title,
                            "title_link": slack.title_link, "text": slack.text})
            for slack in receiver.slack
        ]
    return document


def compile_alertmanager(config: Alertmanager) -> dict[str, Any]:
    settings = config.global_
    glob = _without_empty({
        "resolve_timeout": settings.resolve_timeout,
        "smtp_smarthost": settings.smtp_smarthost,
        "smtp_from": settings.smtp_from,
        "smtp_auth_username": settings.smtp_auth_username,
        "smtp_auth_password_file": settings.smtp_auth_password_file,
        "slack_api_url_file": settings.slack_api_url_file,
    })
    if settings.smtp_smarthost:
        glob["smtp_require_tls"] = settings.smtp_require_tls
    document: dict[str, Any] = {"global": glob, "route": compile_route(config.route)}
    if config.inhibit_rules:
        document["inhibit_rules"] = [
            _without_empty({"source_matchers": list(rule.source_matchers),
                            "target_matchers": list(rule.target_matchers), "equal": list(rule.equal)})
            for rule in config.inhibit_rules
        ]
    document["receivers"] = [compile_receiver(receiver) for receiver in config.receivers]
    return document


# --- Checks on the compiled file ------------------------------------------------------------------------

def describe_route(route: Any, path: Sequence[str | int]) -> str:
    if len(path) <= 1:
        return "route (root)"
    matchers = route.get("matchers") if isinstance(route, dict) else None
    return f"route {{{', '.join(matchers)}}}" if isinstance(matchers, list) and matchers else "route"


def routes_of(route: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], dict[str, Any]]]:
    if not isinstance(route, dict):
        return
    yield path, route
    children = route.get("routes")
    for index, child in enumerate(children if isinstance(children, list) else []):
        yield from routes_of(child, [*path, "routes", index])


def _object(document: Any, path: Sequence[str | int]) -> str:
    """Name the route, receiver or inhibit rule a JSON path points into."""
    if not path or not isinstance(document, dict):
        return "alertmanager"
    if path[0] == "route":
        node: Any = document.get("route")
        route_path: list[str | int] = ["route"]
        rest = list(path[1:])
        while len(rest) >= 2 and rest[0] == "routes" and isinstance(rest[1], int) and isinstance(node, dict):
            node = (node.get("routes") or [])[rest[1]]
            route_path += rest[:2]
            rest = rest[2:]
        return describe_route(node, route_path)
    if path[0] == "receivers" and len(path) > 1 and isinstance(path[1], int):
        receivers = document.get("receivers") or []
        receiver = receivers[path[1]] if path[1] < len(receivers) else None
        return f"receiver {receiver.get('name') if isinstance(receiver, dict) else '?'!r}"
    if path[0] == "inhibit_rules" and len(path) > 1:
        return f"inhibit rule {path[1]}"
    return str(path[0])


@checker(ALERTMANAGER_FILE)
def check_alertmanager(document: Any, file: str, path: str) -> list[Problem]:
    from obs.alerting import schema_validator

    problems = [Problem(file, _object(document, list(e.absolute_path)), json_path(list(e.absolute_path)), e.message)
                for e in schema_validator("alertmanager.schema.json").iter_errors(document)]
    if not isinstance(document, dict):
        return problems
    receivers = [r.get("name") for r in document.get("receivers") or [] if isinstance(r, dict)]
    for index, name in enumerate(receivers):
        if name in receivers[:index]:
            problems.append(Problem(file, f"receiver {name!r}", json_path(["receivers", index, "name"]),
                                    "duplicate receiver name"))
    for route_path, route in routes_of(document.get("route"), ["route"]):
        what = describe_route(route, route_path)
        receiver = route.get("receiver")
        if receiver is not None and receiver not in receivers:
            defined = ", ".join(map(str, receivers))
            problems.append(Problem(file, what, json_path([*route_path, "receiver"]),
                                    f"receiver {receiver!r} is not defined (receivers: {defined})"))
        for index, matcher in enumerate(route.get("matchers") or []):
            if not isinstance(matcher, str) or not MATCHER.match(matcher):
                problems.append(Problem(file, what, json_path([*route_path, "matchers", index]),
                                        f'matcher {matcher!r} is not name="value" (or !=, =~, !~)'))
    for index, rule in enumerate(document.get("inhibit_rules") or []):
        for key in ("source_matchers", "target_matchers"):
            for position, matcher in enumerate((rule.get(key) or []) if isinstance(rule, dict) else []):
                if not isinstance(matcher, str) or not MATCHER.match(matcher):
                    problems.append(Problem(file, f"inhibit rule {index}", json_path(["inhibit_rules", index, key,
                                                                                      position]),
                                            f'matcher {matcher!r} is not name="value" (or !=, =~, !~)'))
    for string_path, text in iter_strings(document, []):
        if SECRET_PATTERNS.search(text):
            problems.append(Problem(file, _object(document, string_path), json_path(string_path),
                                    "looks like a secret: read it from a file (*_file fields) mounted at deploy time"))
    return problems
