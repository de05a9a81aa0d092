"""`obs stack-local`, `obs verify` and `obs demo-exporter`: the stack on loopback, and proof on a real
Prometheus that every panel and rule works."""

from __future__ import annotations

import click

from obs.cli import exit_codes
from obs.cli.options import project_option
from obs.cli.output import fail


@click.command("demo-exporter")
@project_option
@click.option("--role", type=click.Choice(["worker", "gateway", "cadvisor", "collector"]), default="worker",
              show_default=True, help="Which scrape target to stand in for.")
@click.option("--port", type=int, required=True, help="Port to serve /metrics on (loopback).")
@click.option("--failure-rate", type=click.FloatRange(0, 1), default=0.05, show_default=True)
@click.option("--slow", is_flag=True, help="Evaluations take about 8x longer.")
def demo_exporter(project, role: str, port: int, failure_rate: float, slow: bool) -> None:
    """Serve the platform's metrics with realistic values; POST /control?failure_rate=0.6 degrades it."""
    import time

    from obs.core.content import activate
    from obs.run.demo_exporter import DemoExporter

    activate(project.root)
    with DemoExporter(role, port=port, failure_rate=failure_rate, slow=slow) as exporter:
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
            click.echo(f"{'Prometheus':<14} {stack.prometheus_url} ({stack.programs['prometheus']})")
            click.echo(f"{'Alertmanager':<14} {stack.alertmanager_url} ({stack.programs['alertmanager']})")
            for job, target in stack.jobs():
                click.echo(f"{job:<14} http://{stack.addresses[target]}/metrics ({stack.served_by[target]}, "
                           f"for {target})")
            if stack.otlp_grpc:
                click.echo(f"{'send OTLP to':<14} grpc {stack.otlp_grpc}, http {stack.otlp_http} "
                           f"({stack.programs['otelcol']}, for otel-collector:4317/4318)")
                click.echo(f"{'':<14} e.g. OTEL_EXPORTER_OTLP_ENDPOINT={stack.otlp_http} "
                           "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf")
                sink = "" if traces_to else f" (a second Collector standing in for Tempo, logging to " \
                                            f"{stack.workdir / 'tempo.log'})"
                click.echo(f"{'traces go to':<14} {stack.traces_to}{sink}")
            else:
                click.echo(f"{'no Collector':<14} otelcol is not built (python3 scripts/build_tools.py otelcol): "
                           "nothing receives OTLP; the demo exporter stands in for its metrics")
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
