"""`obs build` and `obs validate`: compile the project into monitoring/, and check the compiled files."""

from __future__ import annotations

import click

from obs.cli import exit_codes
from obs.cli.options import project_option
from obs.cli.output import fail, plural, report_problems


@click.command()
@project_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the committed files differ from a fresh build.")
@click.option("--no-cache", is_flag=True, help="Build even when the last build had the same inputs.")
def build(project, check: bool, no_cache: bool) -> None:
    """Compile every dashboard, datasource and rule into monitoring/.

    Everything is validated before anything is written: on any problem, no file changes. When nothing the build
    reads has changed since a build that succeeded, its result is reused (--no-cache builds anyway).
    """
    from obs.compile import cache
    from obs.compile.output import differences, write_artifacts

    key = cache.inputs_key(project.root)
    artifacts = None if no_cache else cache.load(key)
    if artifacts is None:
        from obs.compile.pipeline import build as build_project
        from obs.core.errors import BuildError

        try:
            artifacts = build_project(project.root)
        except BuildError as error:
            report_problems(error.problems, "nothing written")
            raise SystemExit(exit_codes.FAILED) from None
        cache.store(key, artifacts)
    if check:
        changes = differences(project.root, artifacts)
        for change in changes:
            click.echo(f"{change.path}: {change.change} (run `make dashboards` and commit)", err=True)
        if changes:
            click.echo(f"{len(changes)} file(s) differ from a fresh build", err=True)
            raise SystemExit(exit_codes.FAILED)
        click.echo(f"{len(artifacts)} files up to date")
        return
    changes = write_artifacts(project.root, artifacts)
    for change in changes:
        verb = {"missing": "created", "modified": "updated", "stale": "removed"}[change.change]
        click.echo(f"{verb} {change.path}")
    click.echo(f"{len(artifacts)} files built, {len(changes)} changed")


@click.command()
@project_option
def validate(project) -> None:
    """Validate the compiled files: schemas, PromQL, grid, cross-references, and the real tools (promtool,
    amtool) where the files need them."""
    from obs.check.files import compiled_files, validate_project
    from obs.compile.output import recover
    from obs.core.content import activate, missing_catalog

    recover(project.root)
    if not compiled_files(project.root):
        fail(f"{project.root} has no compiled files: run `obs build` first", exit_codes.FAILED)
    if reason := missing_catalog(project.root):
        fail(reason, exit_codes.FAILED)
    activate(project.root)
    result = validate_project(project.root)
    if result.problems:
        report_problems(result.problems, "invalid")
        raise SystemExit(exit_codes.FAILED)
    tools = f"; checked with {', '.join(result.tools)}" if result.tools else ""
    click.echo(f"{plural(len(result.files), 'file')} valid{tools}")
