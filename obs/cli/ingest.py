"""`obs import`: bring existing Grafana dashboards into code (obs.ingest), from files or a running Grafana."""

from __future__ import annotations

from pathlib import Path

import click

from obs.cli import exit_codes
from obs.cli.options import grafana_options, grafana_target, project_option
from obs.cli.output import fail, plural, report_problems


@click.command("import")
@project_option
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--uid", "uids", multiple=True, metavar="UID",
              help="Import this dashboard from the Grafana at --grafana-url (repeatable).")
@click.option("--folder", "folders", multiple=True, metavar="UID",
              help="Import every dashboard of this Grafana folder (repeatable).")
@click.option("--force", is_flag=True, help="Overwrite a module under dashboards/ that exists.")
@grafana_options
def import_command(project, files: tuple[Path, ...], uids: tuple[str, ...], folders: tuple[str, ...], force: bool,
                   grafana_url, token, user, password, insecure, timeout, retries, concurrency, api) -> None:
    """Write one module under dashboards/ for each dashboard of FILES (dashboard JSON of any schemaVersion, an
    /api/dashboards/uid answer, a dashboard.grafana.app v1 or v2 resource) and of --uid / --folder.

    Old dashboards are migrated as Grafana 13 migrates them; each module uses the project's builders, layout
    sections and catalog where they express the dashboard exactly, and an explicit pass-through where they do
    not, and is proven to build back to the same dashboard. Everything is planned first: on any error nothing
    is written. Panels Grafana had without a title, description or unit get an exclusion, with its reason, in
    lint-exclusions.yml.

    Exit codes: 0 imported; 1 a problem, nothing written; 2 usage; 4 Grafana unusable, nothing written.
    """
    from obs.core.content import activate, missing_catalog
    from obs.core.errors import Problem
    from obs.ingest.importer import Options, plan_imports, write_plan
    from obs.ingest.read import ReadError, parse_json, read_document
    from obs.review.lint import lint_dashboard

    if not files and not uids and not folders:
        raise click.UsageError("nothing to import: give dashboard files, or --uid / --folder with --grafana-url")
    if reason := missing_catalog(project.root):
        fail(reason, exit_codes.FAILED)
    problems: list[Problem] = []
    incoming = []
    for path in files:
        origin = _shown(path, project.root)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(origin, "", "", f"cannot be read: {getattr(error, 'strerror', None) or error}"))
            continue
        try:
            incoming.append(read_document(origin, parse_json(origin, text)))
        except ReadError as error:
            problems.append(error.problem)
    instance = None
    if uids or folders:
        target = grafana_target(grafana_url, token, user, password, insecure, timeout, retries, api)
        from obs.deploy.client import GrafanaError
        from obs.ingest.live import read_live

        try:
            live = read_live(target, uids, folders)
        except GrafanaError as error:
            fail(str(error), exit_codes.UNAVAILABLE)
        click.echo(f"reading from Grafana {live.version} at {target.url} ({target.auth_kind})")
        problems += live.problems
        incoming += live.incoming
        instance = live.datasources
    if problems:
        report_problems(problems, "nothing written")
        raise SystemExit(exit_codes.FAILED)
    activate(project.root)
    plan = plan_imports(incoming, Options(project.root, force=force, instance=instance,
                                          lint=lambda document, file: lint_dashboard(project.root, document, file),
                                          dashboard_schema=project.dashboard_schema))
    for planned in plan.planned:
        for warning in planned.warnings:
            click.echo(f"warning: {planned.incoming.origin}: {warning}", err=True)
    if plan.problems:
        report_problems(plan.problems, "nothing written")
        raise SystemExit(exit_codes.FAILED)
    if not plan.formatted:
        click.echo("warning: ruff is not installed: the modules are written unformatted (pip install ruff)",
                   err=True)
    written = write_plan(project.root, plan)
    for planned in plan.planned:
        verb = "overwrote" if planned.overwrites else "wrote"
        passed = len([p for p in planned.pass_through if p.startswith(("panel ", "row "))])
        click.echo(f"{verb} {planned.module} <- {planned.incoming.origin}: dashboard {planned.uid!r} "
                   f"{planned.title!r}, {plural(planned.panels, 'panel')} ({planned.builders} with builders, "
                   f"{passed} pass-through); {_version(planned.incoming)}")
        for entry in planned.exclusions:
            where = f" panel {entry['panel']!r}" if "panel" in entry else ""
            click.echo(f"  excluded {entry['rule']}{where} in lint-exclusions.yml (Grafana had none)")
        if planned.lint_findings:
            click.echo(f"  {plural(planned.lint_findings, 'obs lint finding')} listed as comments in the module")
    other = [path for path in written if not path.startswith("dashboards/")]
    also = f" and {', '.join(other)}" if other else ""
    click.echo(f"imported {plural(len(plan.planned), 'dashboard')}{also}; each builds back to the dashboard it was "
               "read from: run `obs build`")


def _version(incoming) -> str:
    from obs.compile.dashboard_json import SCHEMA_VERSION

    if "/v2 " in incoming.form:
        return "read from schema v2"
    version = incoming.dashboard.get("schemaVersion")
    return f"schemaVersion {version} migrated to {SCHEMA_VERSION}" if version != SCHEMA_VERSION else (
        f"schemaVersion {SCHEMA_VERSION}, nothing to migrate")


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
