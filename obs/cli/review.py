"""`obs diff` and `obs preview`: what a change does to the compiled monitoring, for review.

    obs diff                      the working tree against the merge base with main (origin/main if any)
    obs diff --base REV           ... against any revision
    obs diff --grafana-url URL    ... against a live Grafana (what `obs push` would change)
    obs preview --out DIR         SVG pictures of each dashboard's layout and an index page
"""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from obs.cli import exit_codes
from obs.cli.options import grafana_options, grafana_target, project_option
from obs.cli.output import fail, report_problems


def render(report, output_format: str, name_only: bool = False) -> str:
    from obs.diff import render as r

    if output_format == "markdown":
        return r.render_markdown(report, name_only=name_only)
    if output_format == "json":
        return r.render_json(report)
    return r.render_text(report, name_only=name_only)


@click.command("diff")
@project_option
@click.option("--base", "base", metavar="REV", default=None,
              help="Git revision to compare with (default: the merge base with origin/main or main).")
@click.option("--grafana", "live", is_flag=True,
              help="Compare with the Grafana at --grafana-url (or GRAFANA_URL) instead of a git revision; "
                   "giving --grafana-url implies it.")
@grafana_options
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="text for a terminal, markdown for a pull-request comment, json for tools.")
@click.option("--name-only", is_flag=True, help="Only which dashboards and files changed, and the summary.")
@click.option("--preview", "preview_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write before/after SVG pictures of each changed dashboard and an index.html here.")
@click.pass_context
def diff(ctx: click.Context, project, base: str | None, live: bool, grafana_url: str | None, token: str | None,
         user: str | None, password: str | None, insecure: bool, timeout: float, retries: int, concurrency: int,
         api: str, output_format: str, name_only: bool, preview_dir: Path | None) -> None:
    """What the working tree changes in the compiled dashboards, rules and routes, by meaning; or, with
    --grafana-url, what a push would change in Grafana.

    Exit code: 0 no changes, 1 changes, 2 error.
    """
    # GRAFANA_URL in the environment (set for `obs push`) does not turn a review diff into a live one.
    live = live or ctx.get_parameter_source("grafana_url") is ParameterSource.COMMANDLINE
    if live:
        if base is not None or preview_dir is not None:
            fail("a diff against Grafana takes no --base or --preview", exit_codes.DIFF_ERROR)
        target = grafana_target(grafana_url, token, user, password, insecure, timeout, retries, api,
                                usage_code=exit_codes.DIFF_ERROR)
        _live_diff(project, target, concurrency, output_format, name_only)
        return
    from obs.review.revision import RevisionError, compare_with_revision

    try:
        comparison = compare_with_revision(project.root, base)
    except RevisionError as error:
        fail(str(error), exit_codes.DIFF_ERROR)
    click.echo(render(comparison.report, output_format, name_only), nl=False)
    if preview_dir is not None:
        from obs.review.preview import write_diff_preview

        written = write_diff_preview(comparison.old, comparison.new, comparison.report, preview_dir)
        click.echo(f"preview: {len(written)} files in {preview_dir} (open {preview_dir / 'index.html'})", err=True)
    raise SystemExit(exit_codes.DIFF_CHANGED if comparison.report.changed else exit_codes.DIFF_SAME)


def _live_diff(project, target, concurrency: int, output_format: str, name_only: bool) -> None:
    from obs.core.errors import BuildError
    from obs.deploy.client import GrafanaError
    from obs.deploy.desired import desired_state
    from obs.review.live import compare_with_grafana

    try:
        desired = desired_state(project.root)
    except BuildError as error:
        report_problems(error.problems, "nothing compared")
        raise SystemExit(exit_codes.DIFF_ERROR) from None
    try:
        comparison = compare_with_grafana(target, desired, concurrency=concurrency, schema=project.dashboard_schema)
    except GrafanaError as error:
        fail(str(error), exit_codes.DIFF_ERROR)
    if comparison.failure:
        fail(comparison.failure, exit_codes.DIFF_ERROR)
    click.echo(render(comparison.report, output_format, name_only), nl=False)
    raise SystemExit(exit_codes.DIFF_CHANGED if comparison.differs else exit_codes.DIFF_SAME)


@click.command("preview")
@project_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the pictures (default: build/preview under the project).")
def preview(project, out_dir: Path | None) -> None:
    """Draw each compiled dashboard's layout as SVG (24-column grid, panels, rows) with an index.html."""
    from obs.compile.pipeline import build
    from obs.core.errors import BuildError
    from obs.review.preview import write_preview
    from obs.review.revision import parse_files

    try:
        artifacts = build(project.root)
    except BuildError as error:
        report_problems(error.problems, "nothing drawn")
        raise SystemExit(exit_codes.FAILED) from None
    documents = parse_files({a.path: a.text for a in artifacts})
    target = out_dir if out_dir is not None else project.root / "build" / "preview"
    written = write_preview(documents, target)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"{len(written) - 1} dashboards drawn; open {target / 'index.html'}")
