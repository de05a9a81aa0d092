"""`obs lint`: named rules over the compiled files."""

from __future__ import annotations

import click

from obs.cli import exit_codes
from obs.cli.options import project_option
from obs.cli.output import fail, plural


@click.command("lint")
@project_option
@click.option("--rule", "rules", multiple=True, help="Run only this rule (repeatable).")
@click.option("--list-rules", is_flag=True, help="List the rules with their reason and fix, and exit.")
def lint_command(project, rules: tuple[str, ...], list_rules: bool) -> None:
    """Lint the compiled files with named rules (exclusions, each with a reason, in lint-exclusions.yml)."""
    from obs.compile.output import recover
    from obs.core.content import activate, missing_catalog
    from obs.review import lint

    if list_rules:
        for item in lint.RULES:
            click.echo(f"{item.name}\n  why: {item.reason}\n  fix: {item.fix}")
        return
    unknown = set(rules) - {item.name for item in lint.RULES}
    if unknown:
        raise click.BadParameter(f"unknown rule(s): {', '.join(sorted(unknown))}", param_hint="--rule")
    recover(project.root)
    if not lint.compiled_inputs(project.root):
        fail(f"{project.root} has no compiled files to lint: run `obs build` first", exit_codes.FAILED)
    if reason := missing_catalog(project.root):
        fail(reason, exit_codes.FAILED)
    activate(project.root)
    try:
        findings, excluded = lint.lint(project.root, set(rules) or None)
    except lint.LintConfigError as error:
        for line in error.lines:
            click.echo(f"error: {line}", err=True)
        raise SystemExit(exit_codes.FAILED) from None
    for finding in findings:
        click.echo(f"error: {finding}", err=True)
    summary = f"{plural(len(findings), 'finding')}, {excluded} excluded"
    if findings:
        click.echo(summary, err=True)
        raise SystemExit(exit_codes.FAILED)
    click.echo(summary)
