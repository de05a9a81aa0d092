"""`obs push`: deploy datasources, the folder and dashboards to a running Grafana (obs.deploy)."""

from __future__ import annotations

import click

from obs.cli import exit_codes
from obs.cli.options import grafana_options, grafana_target, project_option
from obs.cli.output import fail, report_problems


@click.command()
@project_option
@grafana_options
@click.option("--dry-run", is_flag=True,
              help="Print the plan (create / update / unchanged per object); write nothing. Where Grafana serves "
                   "/apis, each planned dashboard and folder write is sent with dryRun=All, so Grafana's own "
                   "admission checks it.")
@click.option("--prune", is_flag=True,
              help="Also delete dashboards in the obs folder carrying the obs-managed tag that the code no longer has.")
@click.option("-v", "--verbose", is_flag=True, help="List unchanged objects too, and what changes per panel.")
def push(project, grafana_url, token, user, password, insecure, timeout, retries, concurrency, api, dry_run, prune,
         verbose) -> None:
    """Deploy datasources, the folder and dashboards to a running Grafana.

    Everything is built and validated first: if anything is invalid, nothing is sent. Then datasources
    (upsert by uid), the folder, and the dashboards; unchanged objects are not written. A dashboard edited
    in Grafana since the last push is saved to .obs-backups/ before it is overwritten; a dashboard another
    tool manages is skipped.

    Exit codes: 0 pushed; 1 something failed (see the FAILED lines); 2 usage; 3 invalid content, nothing
    sent; 4 Grafana unusable (unreachable, TLS, not a Grafana, credentials rejected), nothing sent.
    """
    from obs.core.errors import BuildError
    from obs.deploy.client import GrafanaError
    from obs.deploy.desired import desired_state
    from obs.deploy.report import render_push
    from obs.deploy.sync import push_options, run_sync

    target = grafana_target(grafana_url, token, user, password, insecure, timeout, retries, api)
    try:
        desired = desired_state(project.root)
    except BuildError as error:
        report_problems(error.problems, "nothing pushed")
        raise SystemExit(exit_codes.INVALID) from None
    options = push_options(project.root, dry_run=dry_run, prune=prune, concurrency=concurrency,
                           describe=verbose or dry_run, schema=project.dashboard_schema)
    mode = "dry run, nothing will be written" if dry_run else "pushing"
    click.echo(f"{mode}: {desired.describe()} (all built and validated) -> {target.url} ({target.auth_kind})")
    try:
        report = run_sync(target, desired, options)
    except GrafanaError as error:
        fail(str(error), exit_codes.UNAVAILABLE)
    click.echo(f"Grafana {report.grafana_version}: dashboards and folders through {report.api}")
    for line in render_push(report, root=project.root, verbose=verbose):
        click.echo(line.text, err=line.error)
    raise SystemExit(exit_codes.FAILED if report.fatal or report.failed else exit_codes.OK)
