"""`obs stack-local`, `obs verify`, `obs check-metrics` and `obs demo-exporter`: the stack on loopback, proof on a
real Prometheus that every panel and rule works, and running services held against the metrics contract."""

from __future__ import annotations

import click

from obs.cli import exit_codes
from obs.cli.options import project_option
from obs.cli.output import fail


@click.command("check-metrics")
@project_option
@click.argument("targets", nargs=-1, required=True, metavar="[JOB=]URL...")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds to wait for each page.")
def check_metrics(project, targets: tuple[str, ...], timeout: float) -> None:
    """Scrape each URL's /metrics and check it against the metrics contract (catalog/metrics.py).

    Reports missing metrics, wrong types, missing or unexpected labels, histogram buckets that cannot resolve a
    threshold, and labelled children not created at start-up. The job is inferred from the metrics a page exports,
    or named: celery-worker=http://host:8006/metrics. Exit 1 on any breach."""
    from obs.core.content import activate
    from obs.run.check_metrics import check_target, metrics_url, split_argument

    activate(project.root)
    failed = False
    for argument in targets:
        job, url = split_argument(argument)
        result = check_target(metrics_url(url), job, timeout)
        failed |= result.failed
        for line in target_report(result):
            click.echo(line, err=line.startswith("error:"))
    raise SystemExit(exit_codes.FAILED if failed else exit_codes.OK)


def target_report(result) -> list[str]:
    """One summary line per target, then an `error:` or `note:` line per problem."""
    if result.error:
        return [f"error: {result.url}: {result.error}"]
    errors = sum(p.severity == "error" for p in result.problems)
    lines = [f"{result.url} (job {result.job}): {result.checked} contract metrics, "
             f"{errors} problem{'s' if errors != 1 else ''}"]
    lines += [f"{'error' if p.severity == 'error' else 'note'}: {result.url}: {p}" for p in result.problems]
    return lines


@click.command("demo-exporter")
@project_option
@click.option("--role", type=click.Choice(["worker", "gateway", "cadvisor", "collector", "collector-telemetry",
                                           "grafana", "tempo"]), default="worker",
              show_default=True, help="Which scrape target to stand in for.")
@click.option("--port", type=int, required=True, help="Port to serve /metrics on (loopback).")
@click.option("--failure-rate", type=click.FloatRange(0, 1), default=0.005, show_default=True)
@click.option("--slow", is_flag=True, help="Evaluations take about 8x longer.")
@click.option("--default-buckets", is_flag=True,
              help="Use prometheus_client's default histogram buckets (they end at 10 s), not the contract's.")
@click.option("--lazy-children", is_flag=True,
              help="Create labelled children on first use, as client_python does unless told otherwise.")
@click.option("--no-labels", is_flag=True,
              help="Export the platform's metrics with no labels (as the spec names them).")
def demo_exporter(project, role: str, port: int, failure_rate: float, slow: bool, default_buckets: bool,
                  lazy_children: bool, no_labels: bool) -> None:
    """Serve a scrape target's metrics as the real system does; POST /control?failure_rate=0.6 degrades the
    worker, /control?restart=grafana&policy=1 restarts a container for cAdvisor."""
    import time

    from obs.core.content import activate
    from obs.run.demo_exporter import DemoExporter

    activate(project.root)
    with DemoExporter(role, port=port, failure_rate=failure_rate, slow=slow, labels=not no_labels,
                      buckets="default" if default_buckets else "contract",
                      pre_initialise=not lazy_children) as exporter:
        click.echo(f"{role} metrics on {exporter.url}/metrics; Ctrl-C to stop")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


@click.command("stack-local")
@project_option
@click.option("--interval", default=None, help="Override scrape and rule evaluation intervals (e.g. 5s).")
@click.option("--traces-to", default=None, metavar="HOST:PORT",
              help="An OTLP/gRPC endpoint for the Collector's Tempo exporter (default: a second Collector standing "
                   "in for Tempo, which logs every batch).")
def stack_local(project, interval: str | None, traces_to: str | None) -> None:
    """Run Prometheus, Alertmanager, the OpenTelemetry Collector, node-exporter and demo exporters on loopback from
    the compiled config."""
    import signal
    import time

    from obs.core.content import activate
    from obs.run.local_stack import LocalStack, LocalStackError

    def show(receiver: str, body: dict) -> None:
        for alert in body.get("alerts") or []:
            click.echo(f"alert {alert.get('status')}: {alert['labels'].get('alertname')} "
                       f"(severity {alert['labels'].get('severity')}) -> receiver {receiver}")

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM and SIGHUP stop the stack as cleanly as Ctrl-C

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    activate(project.root)
    try:
        with LocalStack(project.root, interval=interval, on_alert=show, traces_to=traces_to) as stack:
            width = max(len(job) for job, _ in stack.jobs()) + 1
            click.echo(f"{'Prometheus':<{width}} {stack.prometheus_url} ({stack.programs['prometheus']})")
            click.echo(f"{'Alertmanager':<{width}} {stack.alertmanager_url} ({stack.programs['alertmanager']})")
            for job, target in stack.jobs():
                click.echo(f"{job:<{width}} http://{stack.addresses[target]}/metrics ({stack.served_by[target]}, "
                           f"for {target})")
            if stack.otlp_grpc:
                click.echo(f"{'send OTLP to':<{width}} grpc {stack.otlp_grpc}, http {stack.otlp_http} "
                           f"({stack.programs['otelcol']}, for {stack.otlp_stands_for})")
                click.echo(f"{'':<{width}} e.g. OTEL_EXPORTER_OTLP_ENDPOINT={stack.otlp_http} "
                           "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf")
                sink = "" if traces_to else f" (a second Collector standing in for Tempo, logging to " \
                                            f"{stack.workdir / 'tempo.log'})"
                click.echo(f"{'traces go to':<{width}} {stack.traces_to}{sink}")
            else:
                click.echo(f"{'no Collector':<{width}} otelcol is not built (python3 scripts/build_tools.py otelcol): "
                           "nothing receives OTLP; the demo exporter stands in for its metrics")
            worker = stack.exporters.get("celery-worker")
            if worker is not None:
                click.echo(f"{'degrade:':<{width}} curl -X POST '{worker.url}/control?failure_rate=0.6'")
            cadvisor = stack.exporters.get("cadvisor")
            if cadvisor is not None:
                click.echo(f"{'restart:':<{width}} curl -X POST '{cadvisor.url}/control?restart=grafana&policy=1'")
            click.echo(f"{'verify:':<{width}} obs verify --prometheus-url {stack.prometheus_url}")
            click.echo("Ctrl-C to stop")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                click.echo("stopping")
    except LocalStackError as error:
        fail(str(error), exit_codes.FAILED)
    except KeyboardInterrupt:  # during start-up: the stack has already been stopped by its __exit__
        raise SystemExit(130) from None


@click.command()
@project_option
@click.option("--prometheus-url", required=True, envvar="PROMETHEUS_URL", help="Prometheus to query.")
@click.option("--allow-empty", "allow_empty", multiple=True, metavar="UID/PANEL=REASON",
              help="A panel that may be empty, with the reason (adds to verify-allow-empty.yml).")
@click.option("--range", "window", default=300.0, show_default=True, help="Seconds of history to query.")
@click.option("--rate-interval", default="1m", show_default=True,
              help="What $__rate_interval stands for (Grafana: 4x the scrape interval).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
def verify(project, prometheus_url: str, allow_empty: tuple[str, ...], window: float, rate_interval: str,
           output_format: str) -> None:
    """Run every panel query, check every rule and scrape target, against a real Prometheus."""
    from obs.run import verify as verifying

    try:
        allowed = verifying.load_allow_empty(project.root, list(allow_empty))
        report = verifying.verify(verifying.Prometheus(prometheus_url), project.root, allowed, window=window,
                                  rate_interval=rate_interval)
    except (ValueError, verifying.PrometheusError) as error:
        fail(str(error), exit_codes.USAGE)
    click.echo(report.to_json() if output_format == "json" else verifying.format_table(report))
    raise SystemExit(exit_codes.FAILED if report.failed else exit_codes.OK)
