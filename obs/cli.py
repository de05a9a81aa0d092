"""The `obs` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from obs import build as building
from obs.artifacts import TOOL_CHECKS, check_artifact, compiled_files
from obs.errors import BuildError


def find_root(start: Path) -> Path:
    """The project root: the nearest folder upwards holding pyproject.toml and dashboards/."""
    for candidate in (start, *start.parents):
        if (candidate / "pyproject.toml").is_file() and (candidate / "dashboards").is_dir():
            return candidate
    return start


root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project folder (default: the nearest folder upwards with pyproject.toml and dashboards/).",
)


def resolve_root(root: Path | None) -> Path:
    return (root or find_root(Path.cwd())).resolve()


def report_problems(error: BuildError, verb: str) -> None:
    for problem in error.problems:
        click.echo(f"error: {problem}", err=True)
    count = len(error.problems)
    click.echo(f"{count} problem{'s' if count != 1 else ''}; {verb}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="obs")
def main() -> None:
    """Observability as code: dashboards, alerts and their stack, from reviewed Python."""


@main.command()
@root_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the committed files differ from a fresh build.")
def build(root: Path | None, check: bool) -> None:
    """Compile every dashboard, datasource and rule into monitoring/.

    Everything is validated before anything is written: on any problem, no file changes.
    """
    project = resolve_root(root)
    try:
        artifacts = building.build_artifacts(project)
    except BuildError as error:
        report_problems(error, "nothing written")
        sys.exit(1)
    if check:
        changes = building.differences(project, artifacts)
        for change in changes:
            click.echo(f"{change.path}: {change.change} (run `make dashboards` and commit)", err=True)
        if changes:
            click.echo(f"{len(changes)} file(s) differ from a fresh build", err=True)
            sys.exit(1)
        click.echo(f"{len(artifacts)} files up to date")
        return
    changes = building.write_artifacts(project, artifacts)
    for change in changes:
        verb = {"missing": "created", "modified": "updated", "stale": "removed"}[change.change]
        click.echo(f"{verb} {change.path}")
    click.echo(f"{len(artifacts)} files built, {len(changes)} changed")


@main.command()
@root_option
def validate(root: Path | None) -> None:
    """Validate the compiled files in monitoring/: schemas, PromQL, grid, and the real tools
    (promtool, amtool) where the files need them."""
    project = resolve_root(root)
    building.load_plugins()
    files = compiled_files(project)
    problems = []
    for path in files:
        problems += check_artifact(path, (project / path).read_text(encoding="utf-8"))
    for tool in TOOL_CHECKS:
        problems += tool(project)
    if problems:
        report_problems(BuildError(problems), "invalid")
        sys.exit(1)
    click.echo(f"{len(files)} files valid" + (f", {len(TOOL_CHECKS)} tool checks passed" if TOOL_CHECKS else ""))


@main.command("lint")
@root_option
@click.option("--rule", "rules", multiple=True, help="Run only this rule (repeatable).")
@click.option("--list-rules", is_flag=True, help="List the rules with their reason and fix, and exit.")
def lint_command(root: Path | None, rules: tuple[str, ...], list_rules: bool) -> None:
    """Lint the compiled files with named rules (exclusions, each with a reason, in lint-exclusions.yml)."""
    from obs import lint

    if list_rules:
        for item in lint.RULES:
            click.echo(f"{item.name}\n  why: {item.reason}\n  fix: {item.fix}")
        return
    unknown = set(rules) - {item.name for item in lint.RULES}
    if unknown:
        raise click.BadParameter(f"unknown rule(s): {', '.join(sorted(unknown))}", param_hint="--rule")
    try:
        findings, excluded = lint.lint(resolve_root(root), set(rules) or None)
    except lint.LintConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    for finding in findings:
        click.echo(f"error: {finding}", err=True)
    summary = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}, {excluded} excluded"
    if findings:
        click.echo(summary, err=True)
        sys.exit(1)
    click.echo(summary)


if __name__ == "__main__":
    main()
