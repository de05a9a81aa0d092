"""The metrics contract and what is built from it: the catalog records refuse what cannot work, every query reads
the jobs that own its metrics, panels read well without the optional labels, and the stack around them (node-exporter
on the host's network, cAdvisor's timestamps, the Collector's telemetry, the exemplar and trace-to-metrics links)
is as the real systems need it."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import yaml

from catalog import jobs, thresholds
from catalog import metrics as m
from catalog._records import CatalogError
from obs.core.documents import panels_with_paths
from obs.core.paths import COLLECTOR_FILE, COMPOSE_FILE, DASHBOARD_DIR, DATASOURCES_FILE, RULES_DIR

from helpers import REPO, edit, failing_build

APP_METRICS = sorted({metric.name for metric in m.all_metrics() if metric.source == "app"}, key=len, reverse=True)
SELECTOR = re.compile(r"(?<![:\w])(" + "|".join(APP_METRICS) + r")(_bucket|_sum|_count)?(?![:\w])(\{[^}]*\})?")


def dashboards() -> dict[str, dict]:
    return {d["uid"]: d for d in (json.loads(p.read_text()) for p in (REPO / DASHBOARD_DIR).glob("*.json"))}


def exprs() -> list[tuple[str, str]]:
    """(where, expr) of every compiled query: panel targets and rules."""
    out = [(f"{uid} / {panel['title']}", target["expr"]) for uid, document in dashboards().items()
           for panel, _ in panels_with_paths(document) for target in panel.get("targets") or [] if "expr" in target]
    for path in sorted((REPO / RULES_DIR).glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            out += [(f"{path.name} {rule.get('alert') or rule.get('record')}", rule["expr"]) for rule in group["rules"]]
    return out


# --- The catalog ----------------------------------------------------------------------------------------

def test_every_metric_names_the_jobs_that_export_it():
    names = {job.name for job in jobs.SCRAPE_JOBS}
    for metric in m.all_metrics():
        assert {job.name for job in metric.exported_by} <= names, metric.name
        assert metric.exported_by or metric.name == "up", f"{metric.name}: which job exports it?"
    # Every job but the gateway (its families at zero belong to the worker) and the Collector's exporter (the apps'
    # OTLP metrics, which no panel reads) has its part of the contract.
    covered = {job.name for metric in m.all_metrics() for job in metric.exported_by}
    assert names - covered == {"api-gateway", "otel-collector"}


def test_the_evaluation_metrics_are_the_workers_and_their_labels_optional():
    for metric in m.all_metrics():
        if metric.source == "app":
            assert [job.name for job in metric.exported_by] == ["celery-worker"], metric.name
            assert all(not label.required for label in metric.labels), metric.name
            assert metric.closed
    assert m.EVALUATIONS_FAILED.label("error_type").values == m.ERROR_TYPES


def test_every_latency_level_is_a_bucket_boundary_with_buckets_above():
    levels = thresholds.histogram_levels()
    assert {level for _, level, _ in levels} == {5.0, 15.0, 30.0}
    for metric, level, reader in levels:
        assert level in metric.buckets and max(metric.buckets) > level, reader
    assert thresholds.unresolvable(30.0, (0.005, 0.1, 1.0, 10.0)) == \
        "30 is not a bucket boundary (buckets: 0.005, 0.1, 1, 10)"


@pytest.mark.parametrize("value, reason", [
    (35.0, "histogram: evaluation_duration_seconds: 35 is not a bucket boundary"),
    (300.0, "histogram: evaluation_duration_seconds: 300 is the largest finite bucket: a quantile above it reads "
            "as 300"),
])
def test_a_latency_threshold_the_buckets_cannot_resolve_is_refused(value, reason):
    with pytest.raises(CatalogError, match=re.escape(reason)):
        thresholds.Threshold(value=value, warn=15.0, bad_when="above", for_="10m", severity="warning",
                             histogram=m.EVALUATION_DURATION)


def test_a_threshold_off_the_buckets_fails_the_build_naming_the_constant(project):
    edit(project, "catalog/thresholds.py", 'EVALUATION_P95_SECONDS = Threshold(value=30.0',
         'EVALUATION_P95_SECONDS = Threshold(value=40.0')
    [line] = failing_build(project)
    assert "threshold EVALUATION_P95_SECONDS" in line and "40 is not a bucket boundary" in line


def test_a_histogram_without_buckets_is_refused():
    with pytest.raises(CatalogError, match="needs its bucket boundaries"):
        m.Metric("x_seconds", "histogram", "s", "x", "app", (jobs.CELERY_WORKER,))


def test_the_slo_rows_are_the_workbooks():
    slo = thresholds.EVALUATION_SLO
    assert slo.objective == 0.99 and slo.period == "30d" and slo.budget == 0.01
    rows = [(row.long, row.short, row.burn_rate, row.severity, slo.budget_consumed(row)) for row in slo.windows]
    assert rows == [("1h", "5m", 14.4, "critical", 0.02), ("6h", "30m", 6.0, "critical", 0.05),
                    ("3d", "6h", 1.0, "warning", 0.1)]
    with pytest.raises(CatalogError, match="can never be reached"):
        thresholds.Objective(name="x", objective=0.9, period="30d", min_events=1,
                             windows=(thresholds.BurnRateWindow("1h", "5m", 14.4, "critical", "2m"),))


# --- The queries ----------------------------------------------------------------------------------------

def test_every_query_of_an_evaluation_metric_reads_only_the_owning_job():
    """The gateway exports the same families at zero; a query without the worker's job would average its zeros
    in ($job's "All" is `.*`)."""
    found = 0
    for where, expr in exprs():
        for match in SELECTOR.finditer(expr):
            found += 1
            assert 'job="celery-worker"' in (match.group(3) or ""), f"{where}: {match.group(0)}"
    assert found > 100


def test_panels_by_model_or_error_type_read_well_without_the_label():
    for uid, document in dashboards().items():
        for panel, _ in panels_with_paths(document):
            for target in panel.get("targets") or []:
                for label, word in (("model", "all models"), ("error_type", "unspecified")):
                    if "{{" + label + "}}" in target.get("legendFormat", ""):
                        assert 'label_replace(' in target["expr"] and f'"{label}", "{word}", "{label}", ""' in \
                            target["expr"], (uid, panel["title"])


def test_titles_are_unique_within_each_dashboard():
    for uid, document in dashboards().items():
        titles = [p["title"] for p, _ in panels_with_paths(document) if p["type"] != "row"]
        assert len(titles) == len(set(titles)), uid


def test_failures_by_error_type_link_to_the_traces_of_their_error_type():
    """Read as a browser reads the link once Grafana has filled its variables (template_srv: `percentencode`
    encodes the value): the TraceQL's `&&` and the clicked value's own `&` stay inside the panes parameter."""
    document = dashboards()["obs-evaluation-analytics"]
    [panel] = [p for p, _ in panels_with_paths(document) if p["title"] == "Failures by error type"]
    links = panel["fieldConfig"]["defaults"]["links"]
    clicked = "rate_limit & retry"
    url = urlsplit(links[0]["url"].replace("${__field.labels.error_type:percentencode}", quote(clicked, safe=""))
                   .replace("${__from}", "1700000000000").replace("${__to}", "1700003600000"))
    query = parse_qs(url.query)
    assert url.path == "/explore" and query["schemaVersion"] == ["1"]  # the URL form Grafana 10.2+ writes
    [state] = json.loads(query["panes"][0]).values()
    assert state["queries"][0]["query"] == \
        f'{{name="evaluate_single_case" && status=error && span.error.type="{clicked}"}}'
    assert state["datasource"] == "obs-tempo" and state["queries"][0]["datasource"] == {"type": "tempo",
                                                                                      "uid": "obs-tempo"}
    assert state["range"] == {"from": "1700000000000", "to": "1700003600000"}


def test_restarts_count_both_kinds_and_firing_alerts_say_since_when():
    document = dashboards()["obs-container-overview"]
    [panel] = [p for p, _ in panels_with_paths(document) if p["title"] == "Restarts in range"]
    expr = panel["targets"][0]["expr"]
    assert "count by (name, id, container_label_restartcount)" in expr and "resets(container_cpu_usage" in expr
    assert "container_start_time_seconds" not in expr
    overview = dashboards()["obs-system-overview"]
    [table] = [p for p, _ in panels_with_paths(overview) if p["title"] == "Firing alerts"]
    assert table["targets"][0]["expr"].startswith("1000 * (ALERTS_FOR_STATE and ignoring (alertstate) ALERTS{")
    assert table["fieldConfig"]["defaults"]["unit"] == "dateTimeFromNow"


# --- The stack --------------------------------------------------------------------------------------------

def test_node_exporter_runs_on_the_hosts_network_and_is_scraped_through_the_host():
    compose = yaml.safe_load((REPO / COMPOSE_FILE).read_text())
    node = compose["services"]["node-exporter"]
    assert node["network_mode"] == "host" and "ports" not in node and "expose" not in node
    assert jobs.NODE_EXPORTER.address == "host.docker.internal:9100"
    prometheus = compose["services"]["prometheus"]
    assert prometheus["extra_hosts"] == ["host.docker.internal:host-gateway"]
    assert f"--storage.tsdb.retention.time={thresholds.EVALUATION_SLO.period}" in prometheus["command"]


def test_the_collector_serves_its_telemetry_to_other_containers():
    collector = yaml.safe_load((REPO / COLLECTOR_FILE).read_text())
    readers = collector["service"]["telemetry"]["metrics"]["readers"]
    assert readers == [{"pull": {"exporter": {"prometheus": {"host": "0.0.0.0", "port": 8888}}}}]
    compose = yaml.safe_load((REPO / COMPOSE_FILE).read_text())
    assert "8888" in compose["services"]["otel-collector"]["expose"]


def test_exemplars_link_by_both_trace_id_spellings_and_span_links_carry_the_span_name():
    datasources = {d["uid"]: d for d in yaml.safe_load((REPO / DATASOURCES_FILE).read_text())["datasources"]}
    destinations = datasources["obs-prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert {d["name"] for d in destinations} == {"trace_id", "traceID"}
    assert {d["datasourceUid"] for d in destinations} == {"obs-tempo"}
    queries = datasources["obs-tempo"]["jsonData"]["tracesToMetrics"]["queries"]
    # $$ in the provisioning file: Grafana expands environment variables there.
    assert queries and all('span_name="$${__span.name}"' in q["query"] for q in queries)
