"""The compiled dashboards are what the issue asks for: modern Grafana JSON, the panels the spec lists,
and queries that follow Prometheus practice."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator

import promql_parser
import pytest
import yaml

from catalog import grafana, jobs, thresholds
from catalog import promql as q
from catalog.metrics import all_metrics
from obs.check.dashboard import variable_samples
from obs.check.promql import RATE_FUNCTIONS, series_uses, substitute
from obs.check.tools import find_tool
from obs.compile.dashboard_json import SCHEMA_VERSION
from obs.core.documents import panels_with_paths
from obs.core.paths import RULES_DIR
from obs.review.lint import counted_series

LEGACY_KEYS = {"rows", "style", "hideControls", "sharedCrosshair", "__inputs", "__requires", "span", "height",
               "error", "intervalFactor", "step", "metric", "nullPointMode", "yaxes", "gnetId"}
COUNTER_SERIES = {m.name for m in all_metrics() if m.type == "counter"} | {
    f"{m.name}_{s}" for m in all_metrics() if m.type == "histogram" for s in ("bucket", "sum", "count")}
# Sentinels, so the parsed ranges can be told apart from literal windows.
WINDOW_SENTINELS = {"__rate_interval": "997s", "__range": "998s"}
UIDS = [grafana.SYSTEM_OVERVIEW.uid, grafana.EVALUATION_ANALYTICS.uid, grafana.CONTAINER_OVERVIEW.uid]


def load(repo, uid: str) -> dict:
    return json.loads((repo / f"monitoring/grafana/dashboards/{uid}.json").read_text())


def walk_keys(node, path=()) -> Iterator[tuple[tuple, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key
            yield from walk_keys(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk_keys(value, (*path, index))


def prometheus_targets(document: dict) -> Iterator[tuple[dict, dict]]:
    for panel, _ in panels_with_paths(document):
        for target in panel.get("targets") or []:
            if "expr" in target:
                yield panel, target


@pytest.fixture(params=UIDS)
def dashboard(request, repo) -> dict:
    return load(repo, request.param)


def test_modern_schema_version_and_no_legacy_keys(dashboard):
    assert dashboard["schemaVersion"] == SCHEMA_VERSION == 42
    assert not [(path, key) for path, key in walk_keys(dashboard) if key in LEGACY_KEYS]


def test_datasource_references_are_type_and_uid(dashboard):
    for path, key in walk_keys(dashboard):
        if key != "datasource":
            continue
        node = dashboard
        for part in path:
            node = node[part]
        assert isinstance(node["datasource"], dict) and set(node["datasource"]) == {"type", "uid"}, path


def test_every_panel_has_title_description_and_unit(dashboard):
    for panel, _ in panels_with_paths(dashboard):
        assert panel["title"]
        if panel["type"] != "row":
            assert panel["description"], panel["title"]
            assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]


def test_panels_fill_the_grid_without_gaps_at_the_right_edge(dashboard):
    """Not required by Grafana, but a row that ends short of column 24 is a layout slip."""
    rows: dict[int, int] = {}
    for panel, _ in panels_with_paths(dashboard):
        grid = panel["gridPos"]
        rows[grid["y"]] = max(rows.get(grid["y"], 0), grid["x"] + grid["w"])
    assert set(rows.values()) == {24}


def test_counters_are_rated_over_the_rate_interval_or_range(dashboard):
    """Except where only the series are counted (CPUs per host), and the in-flight panel: started minus completed
    at one instant (lint-exclusions.yml says why)."""
    samples = {**variable_samples(dashboard), **WINDOW_SENTINELS}
    for panel, target in prometheus_targets(dashboard):
        if panel["title"] == "Evaluations in flight":
            continue
        counted = counted_series(target["expr"], variable_samples(dashboard))
        for use in series_uses(target["expr"], samples):
            if use.name in COUNTER_SERIES and use.name not in counted:
                assert use.function in RATE_FUNCTIONS, (panel["title"], use)
                if use.function in ("rate", "irate"):
                    assert use.range == "16m37s", (panel["title"], "rate() must use $__rate_interval")
                else:
                    assert use.range in ("16m37s", "16m38s"), (panel["title"], use)


def test_percentiles_come_from_summed_bucket_rates(repo):
    document = load(repo, grafana.EVALUATION_ANALYTICS.uid)
    [panel] = [p for p, _ in panels_with_paths(document) if p["title"] == "Processing time P50 / P95 / P99"]
    exprs = [t["expr"] for t in panel["targets"]]
    for quantile, expr in zip(("0.5", "0.95", "0.99"), exprs, strict=True):
        assert expr.startswith(f"histogram_quantile({quantile}, sum by (le) (rate(evaluation_duration_seconds_bucket")
        assert "[$__rate_interval]" in expr
    assert all(t["exemplar"] for t in panel["targets"]), "exemplars link latency samples to traces"


def test_system_overview_shows_every_scrape_job_health(repo):
    document = load(repo, grafana.SYSTEM_OVERVIEW.uid)
    exprs = " ".join(t["expr"] for _, t in prometheus_targets(document))
    for job in jobs.SCRAPE_JOBS:
        assert f'up{{job="{job.name}"}}' in exprs, job.name
    # The Watchdog (severity none) always fires: it is left out of what "firing" counts.
    assert 'ALERTS{alertstate="firing", severity!="none"}' in exprs
    assert 'ALERTS{alertstate="firing"}' not in exprs
    titles = {p["title"] for p, _ in panels_with_paths(document)}
    assert {"Host CPU usage", "Host memory usage", "Host disk usage", "Host network I/O",
            "Container CPU usage", "Container memory usage", "Firing alerts"} <= titles


def test_analytics_has_the_spec_panels(repo):
    document = load(repo, grafana.EVALUATION_ANALYTICS.uid)
    titles = {p["title"] for p, _ in panels_with_paths(document)}
    assert {"Evaluations", "Throughput", "Success rate", "Failure rate", "Processing time P50 / P95 / P99",
            "Token usage", "Flagged cases per hour", "Estimated cost per hour", "Failed evaluations (traces)",
            "Slow evaluations (traces)"} <= titles
    variables = {v["name"]: v for v in document["templating"]["list"]}
    assert {"datasource", "job", "model", "price_input_per_mtok", "price_output_per_mtok"} <= set(variables)
    assert variables["price_input_per_mtok"]["type"] == "textbox"
    cost = next(t["expr"] for p, t in prometheus_targets(document) if p["title"] == "Estimated cost per hour")
    assert "$price_input_per_mtok" in cost and "$price_output_per_mtok" in cost


def test_trace_panels_query_tempo_with_the_spec_traceql(repo):
    document = load(repo, grafana.EVALUATION_ANALYTICS.uid)
    tempo = {p["title"]: p for p, _ in panels_with_paths(document) if p.get("datasource", {}).get("type") == "tempo"}
    queries = {title: panel["targets"][0]["query"] for title, panel in tempo.items()}
    # The spec's examples, scoped to the span of one evaluation: a bare {duration>5s} also matches the request and
    # the batch spans around it.
    assert queries == {"Failed evaluations (traces)": '{name="evaluate_single_case" && status=error}',
                       "Slow evaluations (traces)":
                           f'{{name="evaluate_single_case" && duration>{thresholds.SLOW_EVALUATION}}}'}
    assert all(p["datasource"]["uid"] == grafana.TEMPO.uid for p in tempo.values())


def test_container_overview_has_per_container_panels_and_restarts(repo):
    document = load(repo, grafana.CONTAINER_OVERVIEW.uid)
    titles = {p["title"] for p, _ in panels_with_paths(document)}
    assert {"CPU usage per container", "Memory usage per container", "Network received per container",
            "Network sent per container", "Container restarts"} <= titles
    assert "container" in {v["name"] for v in document["templating"]["list"]}


@pytest.mark.parametrize("uid, title, threshold", [
    (grafana.EVALUATION_ANALYTICS.uid, "Success rate", thresholds.SUCCESS_RATE),
    (grafana.EVALUATION_ANALYTICS.uid, "Failure rate", thresholds.FAILURE_RATE),
    (grafana.SYSTEM_OVERVIEW.uid, "Host CPU usage", thresholds.HOST_CPU),
    (grafana.SYSTEM_OVERVIEW.uid, "Host memory usage", thresholds.HOST_MEMORY),
])
def test_red_step_sits_at_the_catalog_threshold(repo, uid, title, threshold):
    document = load(repo, uid)
    for panel in (p for p, _ in panels_with_paths(document) if p["title"] == title):
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        if threshold.bad_when == "above":
            assert [s for s in steps if s["color"] == "red"] == [{"color": "red", "value": threshold.value}]
        else:
            # Red from -inf up to the threshold, where the next (amber) step begins.
            assert steps[0] == {"color": "red", "value": None}
            assert steps[1]["value"] == threshold.value


def test_every_dashboard_has_a_datasource_variable_that_panels_use(dashboard):
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel, target in prometheus_targets(dashboard):
        assert target["datasource"] == grafana.PROMETHEUS_VARIABLE, panel["title"]


def test_dashboards_carry_the_managed_tag(dashboard):
    assert grafana.MANAGED_TAG in dashboard["tags"]


# --- The host's network devices --------------------------------------------------------------------------

def vector_selectors(node) -> Iterator[promql_parser.VectorSelector]:
    if isinstance(node, promql_parser.VectorSelector):
        yield node
    elif isinstance(node, promql_parser.MatrixSelector):
        yield node.vector_selector
    elif isinstance(node, promql_parser.Call):
        for argument in node.args:
            yield from vector_selectors(argument)
    elif isinstance(node, promql_parser.BinaryExpr):
        yield from vector_selectors(node.lhs)
        yield from vector_selectors(node.rhs)
    elif isinstance(node, promql_parser.AggregateExpr):
        yield from vector_selectors(node.expr)
        if node.param is not None:
            yield from vector_selectors(node.param)
    elif isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
        yield from vector_selectors(node.expr)


def compiled_exprs(repo) -> Iterator[tuple[str, str]]:
    """(where, expression) for every panel query and every rule."""
    for uid in UIDS:
        document = load(repo, uid)
        for panel, target in prometheus_targets(document):
            yield f"{uid} {panel['title']!r}", substitute(target["expr"], variable_samples(document))
    for path in sorted((repo / RULES_DIR).glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                yield f"{path.name} {rule.get('alert') or rule.get('record')}", rule["expr"]


def test_every_read_of_node_network_leaves_out_loopback_and_dockers_devices(repo):
    """node-exporter on the host's network sees the containers' veth and bridge devices: every node_network_*
    selector has the catalog's one device matcher, and no other."""
    found = []
    for where, expr in compiled_exprs(repo):
        for selector in vector_selectors(promql_parser.parse(expr)):
            if not (selector.name or "").startswith("node_network_"):
                continue
            device = [(str(m.op), m.value) for m in selector.matchers.matchers if m.name == "device"]
            assert device == [("MatchOp.NotRe", q.EXCLUDED_NETWORK_DEVICES)], f"{where}: {selector.name} {device}"
            found.append(selector.name)
    assert sorted(set(found)) == ["node_network_receive_bytes_total", "node_network_receive_drop_total",
                                  "node_network_receive_errs_total", "node_network_transmit_bytes_total",
                                  "node_network_transmit_drop_total", "node_network_transmit_errs_total"]


def test_the_excluded_devices_are_dockers_and_loopback_and_nothing_else():
    # Prometheus anchors a matcher's regex at both ends.
    excluded = re.compile(q.EXCLUDED_NETWORK_DEVICES)
    assert q.EXCLUDED_NETWORK_DEVICES == "lo|veth.*|docker.*|br-.*"
    for device in ("lo", "veth1a2b3c4", "docker0", "docker_gwbridge", "br-3f2a9c0d1e4b"):
        assert excluded.fullmatch(device), device
    for device in ("eth0", "ens5", "enp0s31f6", "eno1", "wlan0", "bond0", "lo0x", "ovs-br-1", "wlo1"):
        assert not excluded.fullmatch(device), device


def test_host_network_io_counts_container_traffic_once(repo, tmp_path):
    """The panel's query on the devices a Docker host has: 1000 B/s through eth0 and 200 through ens5; a container's
    300 B/s also crosses its veth and docker0 (and a compose network's br-*), loopback carries 5000. The panel says
    1200, what left the host, where `device!="lo"` said 2100."""
    promtool = find_tool("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    document = load(repo, grafana.SYSTEM_OVERVIEW.uid)
    [received] = [t["expr"] for p, t in prometheus_targets(document)
                  if p["title"] == "Host network I/O" and "receive" in t["expr"]]
    expr = substitute(received, {**variable_samples(document), "instance": ".*", "__rate_interval": "5m"})
    rates = {"eth0": 1000, "ens5": 200, "lo": 5000, "veth1a2b3c4": 300, "docker0": 300, "br-3f2a9c0d1e4b": 300}
    instance = "host.docker.internal:9100"
    series = [{"series": f'node_network_receive_bytes_total{{job="node-exporter", instance="{instance}", '
                         f'device="{device}"}}', "values": f"0+{rate * 60}x20"} for device, rate in rates.items()]
    old = expr.replace(f'device!~"{q.EXCLUDED_NETWORK_DEVICES}"', 'device!="lo"')
    tests = {"evaluation_interval": "1m", "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": [
        {"expr": expr, "eval_time": "15m", "exp_samples": [{"labels": f'{{instance="{instance}"}}', "value": 1200}]},
        {"expr": old, "eval_time": "15m", "exp_samples": [{"labels": f'{{instance="{instance}"}}', "value": 2100}]},
    ]}]}
    (tmp_path / "network.yml").write_text(yaml.safe_dump(tests))
    result = subprocess.run([promtool, "test", "rules", "network.yml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
