"""check-metrics' judgement of a /metrics page against the contract, on pages the official client library
writes itself (prometheus_client's generate_latest / OpenMetrics) and on cAdvisor-style text."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from catalog import metrics as m
from catalog import thresholds
from obs.check import exposition

LEVELS = exposition.levels_of(thresholds.histogram_levels())
WORKER = "celery-worker"


def app(*, buckets=m.DURATION_BUCKETS, labels=("model",), error_labels=("model", "error_type"), pre_initialise=True,
        extra_label: str | None = None, skip: str = "", success_rate_as_counter: bool = False) -> CollectorRegistry:
    """A worker instrumented with prometheus_client, the way the contract asks (or not, per the arguments)."""
    registry = CollectorRegistry()
    labels = (*labels, extra_label) if extra_label else labels
    families = {}
    for metric in (m.EVALUATIONS, m.EVALUATIONS_SUCCESS, m.CASES_FLAGGED, m.TOKENS_INPUT, m.TOKENS_OUTPUT, m.TOKENS):
        if metric.name != skip:
            families[metric.name] = Counter(metric.name.removesuffix("_total"), metric.help, labels,
                                            registry=registry)
    failed = Counter("evaluations_failed", "failed", error_labels, registry=registry)
    duration = Histogram(m.EVALUATION_DURATION.name, "d", labels, buckets=buckets, registry=registry)
    if success_rate_as_counter:
        Counter("evaluation_success_rate", "r", registry=registry)
    else:
        Gauge(m.EVALUATION_SUCCESS_RATE.name, "r", registry=registry).set(1)
    if pre_initialise and labels:
        for model in ("gpt-4o", "claude-sonnet-4"):
            extra = {extra_label: "x"} if extra_label else {}
            for counter in families.values():
                counter.labels(model=model, **extra)
            duration.labels(model=model, **extra)
            for error_type in m.ERROR_TYPES:
                failed.labels(model=model, error_type=error_type)
    elif labels:
        families[m.EVALUATIONS.name].labels(model="gpt-4o").inc()
        families[m.EVALUATIONS_SUCCESS.name].labels(model="gpt-4o").inc()
        duration.labels(model="gpt-4o").observe(3)
    return registry


def problems(registry: CollectorRegistry, job: str = WORKER, *, openmetrics: bool = False):
    if openmetrics:
        families = exposition.parse(generate_openmetrics(registry).decode(), OPENMETRICS)
    else:
        families = exposition.parse(generate_latest(registry).decode())
    return exposition.check(families, job, m.all_metrics(), LEVELS)


def errors(found) -> list[str]:
    return [str(p) for p in found if p.severity == "error"]


@pytest.mark.parametrize("openmetrics", [False, True], ids=["text-0.0.4", "openmetrics"])
def test_an_app_as_the_contract_asks_passes(openmetrics):
    assert errors(problems(app(), openmetrics=openmetrics)) == []


def test_an_app_without_any_label_passes():
    """The spec names no labels: the contract's are optional."""
    assert errors(problems(app(labels=(), error_labels=()))) == []


def test_default_buckets_cannot_resolve_the_latency_thresholds():
    found = errors(problems(app(buckets=Histogram.DEFAULT_BUCKETS)))
    assert found == [
        "evaluation_duration_seconds: cannot resolve 15 (the EVALUATION_P95_SECONDS warning level): no bucket "
        "boundary there (buckets: 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10); use the "
        "contract's buckets",
        "evaluation_duration_seconds: cannot resolve 30 (the EVALUATION_P95_SECONDS alert threshold): no bucket "
        "boundary there (buckets: 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10); use the "
        "contract's buckets",
    ]


def test_a_threshold_on_the_top_bucket_cannot_be_resolved():
    found = errors(problems(app(buckets=(1.0, 5.0, 15.0, 30.0))))
    assert found == ["evaluation_duration_seconds: cannot resolve 30 (the EVALUATION_P95_SECONDS alert threshold): "
                     "it is the largest finite bucket, so a quantile above it reads as 30"]


def test_other_adequate_buckets_are_only_a_note():
    found = problems(app(buckets=(1.0, 5.0, 15.0, 30.0, 60.0, 600.0)))
    assert errors(found) == []
    assert [p.kind for p in found if p.severity == "note"] == ["buckets"]


def test_children_created_on_first_use_are_reported():
    found = errors(problems(app(pre_initialise=False)))
    assert "evaluations_failed_total: exported with no series: its labelled children are created on first use, so " \
           "the series is missing, not 0, until then; create each child at start-up" in found
    assert any(line.startswith("tokens_total: exported with no series") for line in found)
    # The histogram and the success counter have a gpt-4o child only; the first-used model is everywhere it is.
    assert not any(line.startswith("evaluations_total:") for line in found)


def test_a_missing_value_of_a_finite_label_is_reported():
    registry = app()
    failed = registry._names_to_collectors["evaluations_failed"]
    failed.remove("claude-sonnet-4", "ParseError")
    found = errors(problems(registry))
    assert found == ["evaluations_failed_total: no child for model=claude-sonnet-4, error_type=ParseError: not "
                     "pre-initialised, so those series are missing until their first event"]


def test_a_value_outside_the_finite_set_is_reported():
    registry = app()
    registry._names_to_collectors["evaluations_failed"].labels(model="gpt-4o", error_type="Oops")
    found = errors(problems(registry))
    assert any("error_type value(s) 'Oops' outside the contract's set" in line for line in found), found


def test_an_unexpected_label_on_the_platforms_metrics_is_reported():
    found = errors(problems(app(extra_label="case_id")))
    assert "evaluations_total: unexpected label case_id (the contract names model): every extra label multiplies " \
           "the series and splits each sum" in found


def test_a_missing_metric_and_a_wrong_type_are_reported():
    found = errors(problems(app(skip="tokens_total", success_rate_as_counter=True)))
    assert "tokens_total: not exported (the contract says job celery-worker exports this counter)" in found
    assert "evaluation_success_rate: exported as a counter, the contract says gauge" in found


# cAdvisor's page, if its CPU counter were typed as the old demo exporter typed it (a gauge). Lines as cAdvisor writes
# them: labels sorted, a timestamp in milliseconds.
CADVISOR_GAUGE = """# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.
# TYPE container_cpu_usage_seconds_total gauge
container_cpu_usage_seconds_total{cpu="total",id="/system.slice/docker-1.scope",image="i",name="obs-a-1"} 12 \
1733036400123
# HELP container_memory_working_set_bytes Current working set in bytes.
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{extra="ok",id="/system.slice/docker-1.scope",image="i",name="obs-a-1"} 1.2e+08 \
1733036400123
container_memory_working_set_bytes{id="/",image="",name=""} 3.2e+09 1733036400100
"""


def test_an_exporter_counter_typed_as_a_gauge_is_reported_but_its_extra_labels_are_not():
    families = exposition.parse(CADVISOR_GAUGE, "text/plain; version=0.0.4; charset=utf-8")
    found = exposition.check(families, "cadvisor", m.all_metrics(), LEVELS)
    assert "container_cpu_usage_seconds_total: exported as a gauge, the contract says counter" in errors(found)
    assert not any("memory_working_set" in line for line in errors(found))
    assert "container_oom_events_total: not exported (the contract says job cadvisor exports this counter)" in \
        errors(found)


def test_a_missing_required_label_is_reported():
    text = CADVISOR_GAUGE.replace('image="i",name="obs-a-1"} 1.2e+08', 'image="i"} 1.2e+08')
    found = exposition.check(exposition.parse(text), "cadvisor", m.all_metrics(), LEVELS)
    assert "container_memory_working_set_bytes: label name missing (the contract requires it on every series)" in \
        errors(found)


def test_families_of_another_job_are_a_note():
    found = problems(app(), job="api-gateway")
    assert errors(found) == []
    assert {p.metric for p in found if p.kind == "other-job"} == {metric.name for metric in m.exported_by(WORKER)}


def test_metrics_that_appear_after_their_first_event_are_notes():
    families = exposition.parse("# TYPE otelcol_process_uptime counter\n"
                                "otelcol_process_uptime 3\n")
    found = exposition.check(families, "otel-collector-telemetry", m.all_metrics(), LEVELS)
    assert errors(found) == [] and {p.severity for p in found} == {"note"}


def test_the_job_is_inferred_from_what_the_page_exports():
    families = exposition.parse(generate_latest(app()).decode())
    assert exposition.infer_job(families, m.all_metrics()) == WORKER
    assert exposition.infer_job(exposition.parse(CADVISOR_GAUGE), m.all_metrics()) == "cadvisor"
    assert exposition.infer_job(exposition.parse("foo 1\n"), m.all_metrics()) is None


def test_a_page_that_is_not_an_exposition_is_one_clear_error():
    with pytest.raises(exposition.ExpositionError, match="not a Prometheus exposition .* it starts with '<html>"):
        exposition.parse("<html>\n<body>Grafana</body>\n</html>\n")


def test_a_counter_exposed_under_another_name_than_the_contracts_is_a_breach():
    """The parsers name the family the same with or without _total; Prometheus stores what the page writes, so a
    query for the contract's name would find nothing (the Collector's telemetry is exposed without _total)."""
    contract = [metric for metric in m.all_metrics() if metric.name == "evaluations_total"]
    as_written = exposition.parse("# TYPE evaluations_total counter\nevaluations_total 3\n")
    assert errors(exposition.check(as_written, WORKER, contract, LEVELS)) == []
    without_suffix = exposition.parse("# TYPE evaluations counter\nevaluations 3\n")
    [problem] = [p for p in exposition.check(without_suffix, WORKER, contract, LEVELS) if p.severity == "error"]
    assert problem.kind == "name"
    assert problem.message == ("exposed as evaluations: Prometheus stores the samples under that name, so a query "
                               "for evaluations_total finds nothing")
