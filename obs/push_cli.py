"""`obs push`: deploy datasources, the folder and dashboards to a running Grafana (see obs/push.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from obs import push as pushing
from obs.grafana_api import UsageError, make_target


def grafana_options(function):
    """--grafana-url, --token, --user, --password, --insecure, --timeout, --retries, --concurrency.

    Shared with `obs diff --grafana-url`; secrets are never shown (no defaults printed, env only named)."""
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
    ]
    for option in reversed(options):
        function = option(function)
    return function


def target_from_options(grafana_url, token, user, password, insecure, timeout, retries):
    try:
        return make_target(grafana_url or "", token, user, password, insecure=insecure, timeout=timeout,
                           retries=retries)
    except UsageError as error:
        raise click.UsageError(str(error)) from None


@click.command()
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project folder (default: the nearest folder upwards with pyproject.toml and dashboards/).")
@grafana_options
@click.option("--dry-run", is_flag=True, help="Print the plan (create / update / unchanged per object); write nothing.")
@click.option("--prune", is_flag=True,
              help="Also delete dashboards in the obs folder carrying the obs-managed tag that the code no longer has.")
@click.option("-v", "--verbose", is_flag=True, help="List unchanged objects too, and what changes per panel.")
def push(root, grafana_url, token, user, password, insecure, timeout, retries, concurrency, dry_run, prune,
         verbose) -> None:
    """Deploy datasources, the folder and dashboards to a running Grafana.

    Everything is built and validated first: if anything is invalid, nothing is sent. Then datasources
    (upsert by uid), the folder, and the dashboards; unchanged objects are not written. A dashboard edited
    in Grafana since the last push is saved to .obs-backups/ before it is overwritten.

    Exit codes: 0 pushed; 1 something failed (see the FAILED lines); 2 usage; 3 invalid content, nothing
    sent; 4 Grafana unusable (unreachable, TLS, not a Grafana, credentials rejected), nothing sent.
    """
    from obs.cli import resolve_root

    target = target_from_options(grafana_url, token, user, password, insecure, timeout, retries)
    project = resolve_root(root)
    sys.exit(pushing.push(project, target, dry_run=dry_run, prune=prune, concurrency=concurrency, verbose=verbose))
