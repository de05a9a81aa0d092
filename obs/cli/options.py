"""Options several commands share, defined once: the project (--root), and the Grafana connection of
`obs push` and `obs diff --grafana-url`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from obs.cli import exit_codes
from obs.cli.output import fail

F = TypeVar("F", bound=Callable[..., Any])


def _project(ctx: click.Context, param: click.Parameter, value: Path | None) -> Any:
    from obs.core.errors import ProjectError
    from obs.core.project import find_project

    if ctx.resilient_parsing:
        return None
    try:
        project = find_project(Path.cwd(), value)
        project.dashboard_schema  # noqa: B018 - a setting obs does not know stops every command, before any work
        return project
    except ProjectError as error:
        fail(str(error), exit_codes.USAGE)


def project_option(function: F) -> F:
    """--root, resolved to the obs.core.project.Project the command works on (passed as `project`)."""
    return click.option(
        "--root", "project", type=click.Path(file_okay=False, path_type=Path), default=None, callback=_project,
        help="Project folder (default: the nearest folder upwards whose pyproject.toml has a [tool.obs] table).",
    )(function)


def grafana_options(function: F) -> F:
    """--grafana-url, --token, --user, --password, --insecure, --timeout, --retries, --concurrency, --api.

    Secrets are never shown: no defaults printed, only the environment variable named."""
    options = [
        click.option("--grafana-url", envvar="GRAFANA_URL", show_envvar=True, metavar="URL",
                     help="Grafana base URL, sub-path included (https://host/grafana)."),
        click.option("--token", envvar="GRAFANA_TOKEN", show_envvar=True, metavar="TOKEN",
                     help="Service-account token (prefer the environment variable: arguments show in `ps`)."),
        click.option("--user", envvar="GRAFANA_USER", show_envvar=True, help="Basic-auth user (when no token)."),
        click.option("--password", envvar="GRAFANA_PASSWORD", show_envvar=True, help="Basic-auth password."),
        click.option("--insecure", is_flag=True, help="Do not verify the TLS certificate (off unless given)."),
        click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
                     help="Seconds to wait for each answer."),
        click.option("--retries", type=click.IntRange(min=0, max=10), default=4, show_default=True,
                     help="Retries, with exponential backoff, on connection errors, timeouts, 429 and 5xx."),
        click.option("--concurrency", type=click.IntRange(min=1, max=64), default=8, show_default=True,
                     help="Requests in flight at once (independent objects only)."),
        click.option("--api", type=click.Choice(["auto", "apis", "legacy"]), default="auto", show_default=True,
                     help="Dashboards and folders through Grafana 13's /apis (dashboard.grafana.app, "
                          "folder.grafana.app) or the legacy /api; auto asks the server (GET /apis)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def grafana_target(grafana_url: str | None, token: str | None, user: str | None, password: str | None,
                   insecure: bool, timeout: float, retries: int, api: str = "auto", *,
                   usage_code: int = exit_codes.USAGE) -> Any:
    """The obs.deploy.target.Target the options describe; a usage error when they cannot work."""
    from obs.deploy.target import UsageError, make_target

    try:
        return make_target(grafana_url or "", token, user, password, insecure=insecure, timeout=timeout,
                           retries=retries, api=api)
    except UsageError as error:
        fail(str(error), usage_code)
