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


@main.command("demo-exporter")
@click.option("--role", type=click.Choice(["worker", "gateway", "cadvisor", "collector"]), default="worker",
              show_default=True, help="Which scrape target to stand in for.")
@click.option("--port", type=int, required=True, help="Port to serve /metrics on (loopback).")
@click.option("--failure-rate", type=click.FloatRange(0, 1), default=0.05, show_default=True)
@click.option("--slow", is_flag=True, help="Evaluations take about 8x longer.")
def demo_exporter(role: str, port: int, failure_rate: float, slow: bool) -> None:
    """Serve the platform's metrics with realistic values; POST /control?failure_rate=0.6 degrades it."""
    import time

    from obs.demo_exporter import DemoExporter

    with DemoExporter(role, port=port, failure_rate=failure_rate, slow=slow) as exporter:
        click.echo(f"{role} metrics on {exporter.url}/metrics; Ctrl-C to stop")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


@main.command("stack-local")
@root_option
@click.option("--interval", default=None, help="Override scrape and rule evaluation intervals (e.g. 5s).")
def stack_local(root: Path | None, interval: str | None) -> None:
    """Run Prometheus, Alertmanager, node-exporter and demo exporters on loopback from the compiled config."""
    import signal
    import time

    from obs.local_stack import LocalStack, LocalStackError

    def show(receiver: str, body: dict) -> None:
        for alert in body.get("alerts") or []:
            click.echo(f"alert {alert.get('status')}: {alert['labels'].get('alertname')} "
                       f"(severity {alert['labels'].get('severity')}) -> receiver {receiver}")

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM and SIGHUP stop the stack as cleanly as Ctrl-C

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    try:
        with LocalStack(resolve_root(root), interval=interval, on_alert=show) as stack:
            click.echo(f"{'Prometheus':<14} {stack.prometheus_url}")
            click.echo(f"{'Alertmanager':<14} {stack.alertmanager_url}")
            for job, target in stack.jobs():
                exporter = stack.exporters.get(job)
                what = f"demo exporter, role {exporter.role}" if exporter else "prometheus-node-exporter"
                click.echo(f"{job:<14} http://{stack.addresses[target]}/metrics ({what}, for {target})")
            worker = stack.exporters.get("celery-worker")
            if worker is not None:
                click.echo(f"{'degrade:':<14} curl -X POST '{worker.url}/control?failure_rate=0.6'")
            click.echo(f"{'verify:':<14} obs verify --prometheus-url {stack.prometheus_url}")
            click.echo("Ctrl-C to stop")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                click.echo("stopping")
    except LocalStackError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:  # during start-up: the stack has already been stopped by its __exit__
        sys.exit(130)


@main.command()
@root_option
@click.option("--prometheus-url", required=True, envvar="PROMETHEUS_URL", help="Prometheus to query.")
@click.option("--allow-empty", "allow_empty", multiple=True, metavar="UID/PANEL=REASON",
              help="A panel that may be empty, with the reason (adds to verify-allow-empty.yml).")
@click.option("--range", "window", default=300.0, show_default=True, help="Seconds of history to query.")
@click.option("--rate-interval", default="1m", show_default=True,
              help="What $__rate_interval stands for (Grafana: 4x the scrape interval).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
def verify(root: Path | None, prometheus_url: str, allow_empty: tuple[str, ...], window: float,
           rate_interval: str, output_format: str) -> None:
    """Run every panel query, check every rule and scrape target, against a real Prometheus."""
    from obs import verify as verifying

    project = resolve_root(root)
    try:
        allowed = verifying.load_allow_empty(project, list(allow_empty))
        report = verifying.verify(verifying.Prometheus(prometheus_url), project, allowed, window=window,
                                  rate_interval=rate_interval)
    except (ValueError, verifying.PrometheusError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    click.echo(report.to_json() if output_format == "json" else verifying.format_table(report))
    sys.exit(1 if report.failed else 0)


from obs.diff_cli import diff, preview  # noqa: E402  (the commands live in their own module)

main.add_command(diff)
main.add_command(preview)

from obs.push_cli import push  # noqa: E402  (obs push: obs/push.py)

main.add_command(push)


if __name__ == "__main__":
    main()
