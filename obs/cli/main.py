"""The `obs` command group: it only wires the commands, which live one family per module."""

from __future__ import annotations

import click

from obs.cli.build import build, validate
from obs.cli.ingest import import_command
from obs.cli.lint import lint_command
from obs.cli.push import push
from obs.cli.review import diff, preview
from obs.cli.run import check_metrics, demo_exporter, stack_local, verify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="obs")
def main() -> None:
    """Observability as code: dashboards, alerts and their stack, from reviewed Python."""


for command in (build, validate, lint_command, diff, preview, push, import_command, stack_local, verify,
                check_metrics, demo_exporter):
    main.add_command(command)
