"""Alertmanager routing (obs.author.alertmanager) compiled to monitoring/alertmanager.yml."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from obs.author.alertmanager import Alertmanager, Receiver, Route, Webhook


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
    if receiver.webhook:
        document["webhook_configs"] = [compile_webhook(webhook) for webhook in receiver.webhook]
    return document


def compile_webhook(webhook: Webhook) -> dict[str, Any]:
    document: dict[str, Any] = {"url": webhook.url, "send_resolved": webhook.send_resolved}
    if webhook.max_alerts:
        document["max_alerts"] = webhook.max_alerts
    if webhook.bearer_token_file:
        document["http_config"] = {"authorization": {"type": "Bearer", "credentials_file": webhook.bearer_token_file}}
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


