"""End to end, the traces: an app instrumented with the OpenTelemetry Python SDK sends the spec's span tree
(POST /api/test/start -> run_batch_evaluation -> evaluate_single_case x N -> llm_invoke, parse_evaluation_result)
over OTLP/gRPC to the pinned Collector running from the compiled config; the Collector's Tempo exporter is pointed
at this test's own OTLP/gRPC receiver (grpcio with opentelemetry-proto's TraceService), which decodes exactly what
the Collector sends. Prometheus, from the compiled prometheus.yml, scrapes the Collector's exporter (8889: a
metric the app sends over OTLP/HTTP) and its own telemetry (8888).

Run alone with `pytest -m e2e tests/e2e/test_traces.py`.
"""

from __future__ import annotations

import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog import network
from obs.core.paths import PROMETHEUS_FILE
from obs.run.local_stack import LocalStack, missing_binaries
from obs.run.verify import Prometheus, wait_until

from helpers import copy_project, pinned_tool, run_obs, tools_required

pytestmark = pytest.mark.e2e

if missing_binaries():
    reason = f"needs {', '.join(missing_binaries())} (make test builds or installs them)"
    if tools_required():
        raise RuntimeError(reason)
    pytest.skip(reason, allow_module_level=True)

grpc = pytest.importorskip("grpc")
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc  # noqa: E402
from opentelemetry.proto.trace.v1 import trace_pb2  # noqa: E402

SERVICE = "api-gateway"
CASES = [  # (case id, model, flagged, fails)
    ("case-001", "gpt-4o", True, False),
    ("case-002", "gpt-4o", False, False),
    ("case-003", "claude-sonnet", False, True),
    ("case-004", "claude-sonnet", True, False),
]
# The spec's batch processor: 10 spans or 100 ms. A tree smaller than 10 spans waits for the timeout; the test
# allows that plus a second for two gRPC hops on a busy machine, well short of any retry or queue delay.
BATCH_TIMEOUT = 0.1
DELIVERY_SLACK = 1.0
TELEMETRY_JOB = "otel-collector-telemetry"


# --- The receiver standing where Tempo would ---------------------------------------------------------------------

@dataclass
class OtlpReceiver:
    """An OTLP/gRPC TraceService that records every export request the Collector makes, with its arrival time."""

    requests: list[tuple[float, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def start(self) -> OtlpReceiver:
        receiver = self

        class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):  # noqa: N802 (the generated service's name)
                with receiver.lock:
                    receiver.requests.append((time.monotonic(), request))
                return trace_service_pb2.ExportTraceServiceResponse()

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop(grace=None)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def spans(self, trace_id: bytes) -> list[tuple[float, Any, Any]]:
        """(arrival, resource, span) of every span of one trace received so far."""
        with self.lock:
            return [(arrived, resource_spans.resource, span)
                    for arrived, request in self.requests for resource_spans in request.resource_spans
                    for scope_spans in resource_spans.scope_spans for span in scope_spans.spans
                    if span.trace_id == trace_id]


# --- The app: the platform's tracing as the spec writes it ---------------------------------------------------------

class EvaluationFailed(ValueError):
    pass


def run_test_evaluation(tracer, cases) -> bytes:
    """What POST /api/test/start does: one batch, each case evaluated by an LLM call and a parse of its answer.
    Returns the trace id."""
    from opentelemetry.trace import SpanKind, Status, StatusCode

    with tracer.start_as_current_span("POST /api/test/start", kind=SpanKind.SERVER) as request:
        request.set_attribute("http.request.method", "POST")
        request.set_attribute("http.route", "/api/test/start")
        with tracer.start_as_current_span("run_batch_evaluation") as batch:
            batch.set_attribute("batch.size", len(cases))
            for case_id, model, flagged, fails in cases:
                with tracer.start_as_current_span("evaluate_single_case",
                                                  record_exception=False, set_status_on_exception=False) as span:
                    span.set_attribute("case_id", case_id)
                    span.set_attribute("llm.model", model)
                    try:
                        with tracer.start_as_current_span("llm_invoke", kind=SpanKind.CLIENT) as llm:
                            llm.set_attribute("llm.model", model)
                            llm.set_attribute("llm.tokens.input", 812)
                        with tracer.start_as_current_span("parse_evaluation_result"):
                            if fails:
                                raise EvaluationFailed(f"{case_id}: the model's answer is not valid JSON")
                        span.set_attribute("result.flagged", flagged)
                        span.set_attribute("error", False)
                        span.set_status(Status(StatusCode.OK))
                    except EvaluationFailed as error:  # the spec's error handling, on the evaluation's span
                        span.set_status(Status(StatusCode.ERROR, str(error)))
                        span.set_attribute("error", True)
                        span.set_attribute("error.type", type(error).__name__)
                        span.record_exception(error)
        return request.get_span_context().trace_id.to_bytes(16, "big")


def send_traces(endpoint: str, cases) -> tuple[bytes, float]:
    """Run one test evaluation in an SDK-instrumented app and export its spans to the Collector over OTLP/gRPC
    in one request; returns the trace id and when the Collector had answered the export."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE, "service.version": "e2e"}))
    # A long delay and a big batch: the spans leave only at force_flush, together.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True),
                                                   schedule_delay_millis=60_000, max_export_batch_size=512))
    try:
        trace_id = run_test_evaluation(provider.get_tracer("medical-evaluation"), cases)
        assert provider.force_flush(10_000), "the SDK could not export to the Collector"
        return trace_id, time.monotonic()
    finally:
        provider.shutdown()


def send_metrics(endpoint: str, cases) -> None:
    """The app counts its evaluations with the SDK and exports the counter over OTLP/HTTP."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"),
                                           export_interval_millis=60_000)
    provider = MeterProvider(resource=Resource.create({"service.name": SERVICE}), metric_readers=[reader])
    try:
        counter = provider.get_meter("medical-evaluation").create_counter(
            "e2e.evaluations", unit="1", description="Evaluations the e2e app ran.")
        for _, model, _, _ in cases:
            counter.add(1, {"model": model})
        assert provider.force_flush(10_000), "the SDK could not export metrics to the Collector"
    finally:
        provider.shutdown()


# --- The stack -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The project, its compiled prometheus.yml scraping the Collector's exporter and its own telemetry."""
    root = copy_project(tmp_path_factory.mktemp("traces") / "project")
    jobs = {job["job_name"]: job for job in yaml.safe_load((root / PROMETHEUS_FILE).read_text())["scrape_configs"]}
    assert jobs[TELEMETRY_JOB]["static_configs"] == [{"targets": [str(network.COLLECTOR_TELEMETRY)]}]
    return root


@pytest.fixture(scope="module")
def receiver():
    pinned_tool("otelcol")
    running = OtlpReceiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stack(project, receiver):
    with LocalStack(project, interval="1s", traces_to=receiver.address) as running:
        yield running


@pytest.fixture(scope="module")
def prometheus(stack) -> Prometheus:
    return Prometheus(stack.prometheus_url)


@pytest.fixture(scope="module")
def delivered(stack, receiver):
    """The whole tree of the four-case evaluation as the receiver got it: (seconds from the app's export to the
    last span's arrival, [(arrival, resource, span)])."""
    trace_id, flushed = send_traces(stack.otlp_grpc, CASES)
    expected = 2 + 3 * len(CASES)
    assert wait_until(lambda: len(receiver.spans(trace_id)) >= expected, timeout=10, interval=0.02), (
        f"{len(receiver.spans(trace_id))} of {expected} spans arrived; collector: {stack.log_tail('otel-collector')}")
    spans = receiver.spans(trace_id)
    return max(arrived for arrived, _, _ in spans) - flushed, spans


# --- What arrives ---------------------------------------------------------------------------------------------

def attributes(item) -> dict[str, Any]:
    """Attribute values with their OTLP types: a bool must stay a bool, a string a string."""
    out = {}
    for attribute in item.attributes:
        kind = attribute.value.WhichOneof("value")
        out[attribute.key] = (kind, getattr(attribute.value, kind))
    return out


def test_the_whole_tree_arrives_with_its_structure(delivered):
    _, received = delivered
    spans = [span for _, _, span in received]
    assert len(spans) == 2 + 3 * len(CASES)
    assert len({span.span_id for span in spans}) == len(spans), "every span arrives once"
    [root] = [s for s in spans if not s.parent_span_id]
    assert (root.name, root.kind) == ("POST /api/test/start", trace_pb2.Span.SPAN_KIND_SERVER)
    assert attributes(root) == {"http.request.method": ("string_value", "POST"),
                                "http.route": ("string_value", "/api/test/start")}
    [batch] = [s for s in spans if s.parent_span_id == root.span_id]
    assert batch.name == "run_batch_evaluation"
    assert attributes(batch) == {"batch.size": ("int_value", len(CASES))}
    cases = [s for s in spans if s.parent_span_id == batch.span_id]
    assert [s.name for s in cases] == ["evaluate_single_case"] * len(CASES)
    for case in cases:
        children = sorted((s for s in spans if s.parent_span_id == case.span_id),
                          key=lambda s: s.start_time_unix_nano)
        assert [s.name for s in children] == ["llm_invoke", "parse_evaluation_result"]
        assert children[0].kind == trace_pb2.Span.SPAN_KIND_CLIENT
        assert case.start_time_unix_nano <= children[0].start_time_unix_nano
        assert children[1].end_time_unix_nano <= case.end_time_unix_nano


def test_each_evaluation_keeps_its_attributes_and_status(delivered):
    _, received = delivered
    spans = [span for _, _, span in received]
    cases = sorted((s for s in spans if s.name == "evaluate_single_case"), key=lambda s: s.start_time_unix_nano)
    ok, error = trace_pb2.Status.STATUS_CODE_OK, trace_pb2.Status.STATUS_CODE_ERROR
    for span, (case_id, model, flagged, fails) in zip(cases, CASES, strict=True):
        found = attributes(span)
        assert found["case_id"] == ("string_value", case_id)
        assert found["llm.model"] == ("string_value", model)
        assert found["error"] == ("bool_value", fails)
        if fails:
            assert "result.flagged" not in found
            assert found["error.type"] == ("string_value", "EvaluationFailed")
            assert (span.status.code, span.status.message) == (
                error, f"{case_id}: the model's answer is not valid JSON")
            [event] = span.events
            assert event.name == "exception"
            qualified = f"{EvaluationFailed.__module__}.{EvaluationFailed.__qualname__}"  # as the SDK writes it
            assert attributes(event)["exception.type"] == ("string_value", qualified)
        else:
            assert found["result.flagged"] == ("bool_value", flagged)
            assert "error.type" not in found
            assert span.status.code == ok
        llm = next(s for s in spans if s.parent_span_id == span.span_id and s.name == "llm_invoke")
        assert attributes(llm) == {"llm.model": ("string_value", model), "llm.tokens.input": ("int_value", 812)}


def test_the_resource_says_which_service_sent_it(delivered):
    _, received = delivered
    for _, resource, _ in received:
        found = attributes(resource)
        assert found["service.name"] == ("string_value", SERVICE)
        assert found["telemetry.sdk.language"] == ("string_value", "python")


def test_a_tree_of_ten_spans_or_more_leaves_at_once(delivered):
    delay, received = delivered
    assert len({arrived for arrived, _, _ in received}) == 1, "the 14 spans went on as one export"
    assert delay < DELIVERY_SLACK, f"{delay:.3f} s"


def test_a_smaller_tree_leaves_within_the_batch_timeout(stack, receiver, delivered):
    trace_id, flushed = send_traces(stack.otlp_grpc, CASES[:1])  # 5 spans: the batch timeout sends them
    assert wait_until(lambda: len(receiver.spans(trace_id)) == 5, timeout=BATCH_TIMEOUT + DELIVERY_SLACK,
                      interval=0.01), f"{len(receiver.spans(trace_id))} of 5 spans"
    received = receiver.spans(trace_id)
    assert len({arrived for arrived, _, _ in received}) == 1, "one batch"
    assert max(arrived for arrived, _, _ in received) - flushed < BATCH_TIMEOUT + DELIVERY_SLACK


# --- What Prometheus scrapes from the Collector ------------------------------------------------------------------

def value(prometheus: Prometheus, query: str) -> float | None:
    result = prometheus.get("/api/v1/query", query=query)["result"]
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_what_the_app_sent_through_the_collectors_exporter(stack, prometheus):
    send_metrics(stack.otlp_http, CASES)
    # The exporter's series carry the app's service.name as `job`, which the scrape renames exported_job.
    query = f'sum by (model) (e2e_evaluations_total{{job="otel-collector", exported_job="{SERVICE}"}})'

    def counted() -> dict[str, float]:
        result = prometheus.get("/api/v1/query", query=query)["result"]
        return {series["metric"]["model"]: float(series["value"][1]) for series in result}

    assert wait_until(lambda: counted() == {"gpt-4o": 2.0, "claude-sonnet": 2.0}, timeout=20, interval=0.5), \
        counted()


def test_the_real_collector_meets_the_metrics_contract(stack, delivered):
    """catalog/metrics.py's Collector families are the pinned Collector's, names, types and labels: what the
    dashboards and alerts read is there (the demo exporter's collector-telemetry role copies this)."""
    url = f"http://{stack.addresses[str(network.COLLECTOR_TELEMETRY)]}/metrics"
    result = run_obs("check-metrics", f"{TELEMETRY_JOB}={url}")
    assert result.exit_code == 0, result.output
    assert "0 problems" in result.output


def test_prometheus_scrapes_the_collectors_own_telemetry(stack, prometheus, delivered):
    _, received = delivered
    selector = f'job="{TELEMETRY_JOB}"'

    # Collector 0.165's telemetry reader, as configured, exposes its counters without a _total suffix (text
    # format 0.0.4, even when OpenMetrics is asked for), and the exporter label is the component id.
    def counts() -> tuple[float | None, float | None]:
        accepted = value(prometheus, f'sum(otelcol_receiver_accepted_spans{{{selector}, receiver="otlp", '
                                     'transport="grpc"})')
        sent = value(prometheus, f'sum(otelcol_exporter_sent_spans{{{selector}, exporter="otlp_grpc/tempo"}})')
        return accepted, sent

    # At least the four-case tree; the one-case tree of another test may have gone through as well.
    assert wait_until(lambda: all(c is not None and c >= len(received) for c in counts()), timeout=20,
                      interval=0.5), counts()
    accepted, sent = counts()
    assert accepted == sent, "every span the Collector accepted it delivered"
    up = prometheus.get("/api/v1/query", query=f"up{{{selector}}}")["result"]
    assert [series["value"][1] for series in up] == ["1"]


def test_without_a_receiver_a_second_collector_stands_in_for_tempo(project):
    """What `obs stack-local` runs: the Tempo exporter sends to a second Collector, which logs each batch."""
    import re

    pinned_tool("otelcol")
    with LocalStack(project) as local:
        assert local.traces_to and local.traces_to != str(network.TEMPO_OTLP_GRPC)
        send_traces(local.otlp_grpc, CASES[:1])
        log = local.workdir / "tempo.log"
        batch = re.compile(r'"otelcol.component.id": "debug".*"spans": 5\b')
        assert wait_until(lambda: any(batch.search(line) for line in log.read_text().splitlines()), timeout=10,
                          interval=0.1), local.log_tail("tempo")
