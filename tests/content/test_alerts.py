"""The compiled alerting: promtool unit tests for every alert, thresholds that agree with the dashboards,
prometheus.yml as the spec and the catalog say, and the alert table in alerts/README.md."""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
from urllib.parse import parse_qs, urlparse

import promql_parser
import pytest
import yaml

from catalog import jobs, network, thresholds
from catalog.grafana import GRAFANA_URL
from obs.author.stack import PROMETHEUS_CONFIG_MOUNT, RULES_MOUNT
from obs.check.rules import RECORDING_RULE_NAME, REQUIRED_ANNOTATIONS
from obs.check.tools import INSTALL_HINT, find_tool
from obs.core.paths import DASHBOARD_DIR, PROMETHEUS_FILE, RULES_DIR

from helpers import REPO, pinned_tool

ALERT_TESTS = REPO / "alerts" / "tests"
SPEC_ALERTS = {"LowEvaluationSuccessRate", "HighEvaluationFailureRate", "HostHighCpuUsage", "HostHighMemoryUsage"}


def rule_files() -> dict[str, dict]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted((REPO / RULES_DIR).glob("*.yml"))}


def compiled_rules(kind: str) -> dict[str, dict]:
    return {rule[kind]: rule for document in rule_files().values() for group in document["groups"]
            for rule in group["rules"] if kind in rule}


def promtool() -> str:
    path = find_tool("promtool")  # the pinned build first, then PATH
    if path is None:
        pytest.fail(f"promtool is not installed: {INSTALL_HINT}")
    return path


# --- promtool unit tests -------------------------------------------------------------------------------

def test_promtool_unit_tests_pass():
    """The unit tests expect what the pinned Prometheus computes (3.x's left-open ranges give slightly other
    rates than 2.x where a window straddles a change: slo.yml and monitoring.yml fail on Debian's 2.42, the
    alerts/README.md "Tests" section says where), so only the pinned promtool runs them."""
    files = sorted(p.relative_to(REPO).as_posix() for p in ALERT_TESTS.glob("*.yml"))
    assert files
    result = subprocess.run([pinned_tool("promtool"), "test", "rules", *files], cwd=REPO, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def unit_tests() -> dict[str, dict]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(ALERT_TESTS.glob("*.yml"))}


def test_unit_tests_load_the_compiled_rule_files():
    compiled = {p.resolve() for p in (REPO / RULES_DIR).glob("*.yml")}
    for name, document in unit_tests().items():
        loaded = {(ALERT_TESTS / path).resolve() for path in document["rule_files"]}
        assert loaded <= compiled, f"{name} loads rule files that are not compiled output: {loaded - compiled}"


def test_every_alert_has_a_firing_and_a_quiet_test():
    firing: dict[str, list[dict]] = {}
    quiet: set[str] = set()
    for document in unit_tests().values():
        for case in document["tests"]:
            for check in case.get("alert_rule_test") or []:
                if check.get("exp_alerts"):
                    firing.setdefault(check["alertname"], []).extend(check["exp_alerts"])
                else:
                    quiet.add(check["alertname"])
    alerts = compiled_rules("alert")
    assert set(alerts) - set(firing) == set(), "alerts no test fires"
    # The Watchdog (severity none) is the one alert that must never be quiet.
    always_on = {name for name, alert in alerts.items() if alert["labels"]["severity"] == "none"}
    assert always_on == {"Watchdog"}
    assert set(alerts) - always_on - quiet == set(), "alerts no test proves quiet"
    for name, expected in firing.items():
        for alert in expected:
            assert set(alert["exp_annotations"]) == set(REQUIRED_ANNOTATIONS), name
            assert alert["exp_labels"]["severity"] == alerts[name]["labels"]["severity"], name


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d)", duration))


def test_every_alert_with_a_for_is_proven_quiet_while_pending():
    """Shorter than `for`: in one test case the alert is checked quiet, then firing, less than `for` apart plus the
    time its condition needs (the check before the firing one falls inside the pending period)."""
    proven: set[str] = set()
    for document in unit_tests().values():
        for case in document["tests"]:
            checks = case.get("alert_rule_test") or []
            for quiet in (c for c in checks if not c.get("exp_alerts")):
                for fired in (c for c in checks if c.get("exp_alerts") and c["alertname"] == quiet["alertname"]):
                    if seconds(quiet["eval_time"]) < seconds(fired["eval_time"]):
                        proven.add(quiet["alertname"])
    pending = {name for name, alert in compiled_rules("alert").items() if seconds(alert["for"]) > 0}
    assert pending - proven == set(), "alerts no test proves quiet before their `for` has passed"


def test_burn_rate_alerts_have_the_fast_slow_and_low_traffic_cases():
    cases = {case["name"]: case for case in unit_tests()["slo.yml"]["tests"]}

    def result(case: dict, alert: str, at: str) -> list:
        [check] = [c for c in case["alert_rule_test"] if c["alertname"] == alert and c["eval_time"] == at]
        return check["exp_alerts"]

    fast = cases["a fast burn pages within the hour"]
    # The burn starts at 6h (the failed counter's first increase): paged within the hour of it.
    assert fast["input_series"][1]["values"].startswith("0x360 ")
    assert result(fast, "EvaluationErrorBudgetBurnFast", "6h30m") and not result(fast, "EvaluationErrorBudgetBurnFast",
                                                                                  "6h")
    slow = cases["a slow burn only tickets"]
    assert result(slow, "EvaluationErrorBudgetBurnSlow", "2h") and not result(slow, "EvaluationErrorBudgetBurnFast",
                                                                               "3h")
    low = cases["low traffic does not page"]
    assert not result(low, "EvaluationErrorBudgetBurnFast", "50m")
    assert not result(low, "EvaluationErrorBudgetBurnSlow", "50m")
    [completed] = [t for t in low["promql_expr_test"] if "completed" in t["expr"]]
    assert completed["exp_samples"][0]["value"] < thresholds.EVALUATION_SLO.min_events


def burning_share(case: dict) -> float:
    """The failed share of the evaluations in a case's last stretch (each counter's last `a+bxn` step)."""
    steps = {}
    for series in case["input_series"]:
        name = series["series"].split("{")[0]
        steps[name] = float(re.search(r"\+([0-9.]+)x[0-9]+$", series["values"]).group(1))
    return steps["evaluations_failed_total"] / (steps["evaluations_failed_total"] + steps["evaluations_success_total"])


def test_burn_rate_page_rows_hold_their_factors_and_end_through_the_short_window():
    """The page rows are the SRE Workbook's (Table 5-8); just under each row's factor does not page through it, just
    over does, and the page ends through its short window while the long one still burns."""
    slo = thresholds.EVALUATION_SLO
    assert [(r.long, r.short, r.burn_rate, r.severity, round(slo.budget_consumed(r), 4)) for r in slo.windows] == [
        ("1h", "5m", 14.4, "critical", 0.02), ("6h", "30m", 6.0, "critical", 0.05), ("3d", "6h", 1.0, "warning", 0.1)]
    cases = {case["name"]: case for case in unit_tests()["slo.yml"]["tests"]}

    def fast_at(case: dict) -> dict[str, bool]:
        return {c["eval_time"]: bool(c["exp_alerts"]) for c in case["alert_rule_test"]
                if c["alertname"] == "EvaluationErrorBudgetBurnFast"}

    for row, long in ((slo.windows[0], "1-hour"), (slo.windows[1], "6-hour")):
        under = cases[f"a burn just under {row.burn_rate:g}x does not page through the {long} row"]
        over = cases[f"a burn just over {row.burn_rate:g}x pages through the {long} row"]
        factor = row.burn_rate * slo.budget
        assert factor - 0.002 <= burning_share(under) < factor < burning_share(over) <= factor + 0.002, row
        assert any(fast_at(over).values())
    # Under 14.4x: quiet once the 1h window holds only the burn, until the 6h row catches it (after 151 minutes).
    assert fast_at(cases["a burn just under 14.4x does not page through the 1-hour row"]) == {
        "7h": False, "7h30m": False, "8h33m": False, "8h34m": True}
    # Under 6x: never pages (the 1h row is far), over seven hours.
    assert not any(fast_at(cases["a burn just under 6x does not page through the 6-hour row"]).values())
    resolves = cases["the page resolves through its short window once the burning stops"]
    assert fast_at(resolves) == {"6h32m": True, "6h33m": False, "7h": False}
    long_burn = {t["eval_time"]: t["exp_samples"] for t in resolves["promql_expr_test"] if "ratio_rate1h" in t["expr"]}
    assert long_burn["7h"][0]["value"] > slo.windows[0].burn_rate  # the long window alone would still page


def test_the_hang_case_of_evaluations_stalled():
    [case] = [c for c in unit_tests()["evaluations.yml"]["tests"] if c["name"].startswith("a batch that hangs fires")]
    started = next(s for s in case["input_series"] if s["series"].startswith("evaluations_total"))
    assert started["values"] == "0 20x40", "20 evaluations started once"
    firing_at = {c["eval_time"] for c in case["alert_rule_test"] if c["exp_alerts"]}
    assert {"12m", "30m"} <= firing_at


def test_lost_then_idle_pages_as_a_stall_and_the_runbook_says_so():
    """The limitation, documented by a case: 3 evaluations lost, then idle, page as 3 hung ones until a restart."""
    [case] = [c for c in unit_tests()["evaluations.yml"]["tests"] if c["name"].startswith("evaluations lost, then")]
    recorded = {t["expr"]: t["exp_samples"][0]["value"] for t in case["promql_expr_test"]}
    assert recorded == {"job:evaluations_in_flight:sum": 3, "job:evaluations_started:increase5m": 0,
                        "job:evaluations_completed:increase5m": 0}
    paging = {c["eval_time"]: bool(c["exp_alerts"]) for c in case["alert_rule_test"]}
    assert paging == {"13m": False, "23m": False, "25m": True, "40m": True, "42m": False}
    [alert] = [c for c in case["alert_rule_test"] if c["eval_time"] == "25m"][0]["exp_alerts"]
    assert alert["exp_annotations"]["description"].startswith("3 evaluations are in flight")
    runbook = (REPO / "alerts" / "README.md").read_text().split("### EvaluationsStalled")[1].split("### ")[0]
    assert "lost, then idle" in runbook and "in-progress gauge" in runbook and "inspect active" in runbook



def test_collector_failure_counters_appear_as_the_collector_creates_them():
    """The pinned Collector creates a failure counter at the first failure, with its count as the first value: no
    test starts one at 0. Sustained failures fire 5 minutes after the new series' second sample; a burst does not."""
    cases = {case["name"]: case for case in unit_tests()["monitoring.yml"]["tests"]}
    failure_series = [s for case in cases.values() for s in case["input_series"]
                      if s["series"].startswith("otelcol_exporter_send_failed_")]
    assert failure_series
    for series in failure_series:
        assert not re.match(r"0\b", series["values"]), series

    def firing(case: dict, at: str) -> bool:
        [check] = [c for c in case["alert_rule_test"] if c["eval_time"] == at]
        assert check["alertname"] == "OtelCollectorExportFailing"
        return bool(check["exp_alerts"])

    sustained = cases["sustained Collector export failures fire 5 minutes after the new counter's second sample"]
    [spans] = sustained["input_series"][:1]
    assert spans["values"] == "_x6 30+30x20", "absent to 5m, 30 at 6m, growing"
    # Second sample at 7m, + the 5m `for`.
    assert not firing(sustained, "11m") and firing(sustained, "12m")
    burst = cases["a single burst of export failures does not fire, sustained failures only"]
    assert [s["values"] for s in burst["input_series"]] == ["_x6 30x30", "30x9 60x27"]
    assert not any(firing(burst, at) for at in ("13m", "15m", "35m"))

# --- The compiled rules --------------------------------------------------------------------------------

def test_spec_alerts_are_there_with_the_spec_severity_and_duration():
    alerts = compiled_rules("alert")
    expected = {
        "LowEvaluationSuccessRate": ("<", 0.8, "5m", "warning"),
        "HighEvaluationFailureRate": (">", 0.2, "5m", "critical"),
        "HostHighCpuUsage": (">", 0.9, "5m", "warning"),
        "HostHighMemoryUsage": (">", 0.9, "5m", "warning"),
    }
    for name, (op, value, duration, severity) in expected.items():
        comparison = threshold_comparison(alerts[name]["expr"])
        assert comparison == (op, value), name
        assert alerts[name]["for"] == duration and alerts[name]["labels"]["severity"] == severity, name


def test_every_scrape_job_has_a_down_alert():
    exprs = {rule["expr"] for rule in compiled_rules("alert").values()}
    for job in jobs.SCRAPE_JOBS:
        assert f'up{{job="{job.name}"}} == 0' in exprs, job.name


def test_recording_rules_follow_the_naming_convention_and_use_fixed_windows():
    records = compiled_rules("record")
    assert {"job:evaluations_success:ratio_rate5m", "job:evaluations_failed:ratio_rate5m",
            "job:evaluation_duration_seconds:p50_rate5m", "job:evaluation_duration_seconds:p95_rate5m",
            "job:evaluation_duration_seconds:p99_rate5m", "instance:node_cpu_utilisation:rate5m",
            "instance:node_memory_utilisation:ratio"} <= set(records)
    for name, rule in records.items():
        assert RECORDING_RULE_NAME.match(name)
        assert "$" not in rule["expr"], name


def test_every_alert_links_to_an_existing_panel_and_its_runbook():
    dashboards = {d["uid"]: d for d in (json.loads(p.read_text()) for p in (REPO / DASHBOARD_DIR).glob("*.json"))}
    runbooks = (REPO / "alerts" / "README.md").read_text()
    for name, alert in compiled_rules("alert").items():
        panel = linked_panel(alert, dashboards)
        assert panel["type"] != "row", name
        assert re.search(rf"^### {name}$", runbooks, re.M), f"alerts/README.md has no runbook section for {name}"
        assert alert["annotations"]["runbook_url"].endswith(f"#{name.lower()}")


def linked_panel(alert: dict, dashboards: dict[str, dict]) -> dict:
    url = urlparse(alert["annotations"]["dashboard_url"])
    assert f"{url.scheme}://{url.netloc}" == GRAFANA_URL
    uid = url.path.removeprefix("/d/")
    panel_id = int(parse_qs(url.query)["viewPanel"][0])
    panels = [p for top in dashboards[uid]["panels"] for p in [top, *(top.get("panels") or [])]]
    return next(p for p in panels if p["id"] == panel_id)


# --- One source for thresholds -------------------------------------------------------------------------

def threshold_comparison(expr: str) -> tuple[str, float] | None:
    """(op, number) when the alert's condition is `<quantity> > number` or `< number`, alone or guarded by a
    minimum-traffic `and` on its right, else None."""
    node = promql_parser.parse(expr)
    while True:
        if isinstance(node, promql_parser.ParenExpr):
            node = node.expr
        elif isinstance(node, promql_parser.BinaryExpr) and str(node.op) == "and":
            node = node.lhs
        else:
            break
    if isinstance(node, promql_parser.BinaryExpr) and isinstance(node.rhs, promql_parser.NumberLiteral):
        op = str(node.op)
        if op in (">", "<"):
            return op, node.rhs.val
    return None


def test_ratio_alerts_are_guarded_by_a_minimum_traffic():
    alerts = compiled_rules("alert")
    for name in ("LowEvaluationSuccessRate", "HighEvaluationFailureRate", "EvaluationLatencyHigh"):
        assert f">= {thresholds.MIN_COMPLETED_EVALUATIONS})" in alerts[name]["expr"], name
    for name in ("EvaluationErrorBudgetBurnFast", "EvaluationErrorBudgetBurnSlow"):
        assert f">= {thresholds.EVALUATION_SLO.min_events})" in alerts[name]["expr"], name


def red_boundary(panel: dict, op: str) -> float:
    """Where the panel turns red: the red step's value when high is bad; the next step's when low is bad."""
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    colors = [step["color"] for step in steps]
    if op == ">":
        assert colors[-1] == "red", panel["title"]
        return steps[-1]["value"]
    assert colors[0] == "red", panel["title"]
    return steps[1]["value"]


CATALOG_THRESHOLDS = {value.value for value in vars(thresholds).values() if isinstance(value, thresholds.Threshold)}


def test_alert_thresholds_and_dashboard_panels_agree():
    """Every alert with a numeric threshold: the panel it links to, and every panel of that dashboard with the
    same title (the stat next to the timeseries), turn red exactly at the alert's threshold."""
    dashboards = {d["uid"]: d for d in (json.loads(p.read_text()) for p in (REPO / DASHBOARD_DIR).glob("*.json"))}
    compared = set()
    for name, alert in compiled_rules("alert").items():
        comparison = threshold_comparison(alert["expr"])
        if comparison is None:
            continue
        op, value = comparison
        if value not in CATALOG_THRESHOLDS:
            continue  # "any failure at all", a burn rate: no catalog Threshold colours a panel with it
        linked = linked_panel(alert, dashboards)
        uid = urlparse(alert["annotations"]["dashboard_url"]).path.removeprefix("/d/")
        # The stat showing the same quantity now, next to the graph.
        same_title = [p for p in dashboards[uid]["panels"] if p.get("title") in (linked["title"],
                                                                                  f"{linked['title']} now")]
        for panel in same_title:
            assert red_boundary(panel, op) == value, f"{name}: panel {panel['title']!r} ({panel['type']})"
        compared.add(name)
    assert compared >= SPEC_ALERTS
    # And the number is the catalog's, not a copy of it.
    alerts = compiled_rules("alert")
    assert threshold_comparison(alerts["LowEvaluationSuccessRate"]["expr"])[1] == thresholds.SUCCESS_RATE.value
    assert threshold_comparison(alerts["HighEvaluationFailureRate"]["expr"])[1] == thresholds.FAILURE_RATE.value
    assert threshold_comparison(alerts["HostHighCpuUsage"]["expr"])[1] == thresholds.HOST_CPU.value
    assert threshold_comparison(alerts["HostHighMemoryUsage"]["expr"])[1] == thresholds.HOST_MEMORY.value


# --- prometheus.yml ------------------------------------------------------------------------------------

def test_prometheus_config_scrapes_the_spec_targets():
    config = yaml.safe_load((REPO / PROMETHEUS_FILE).read_text())
    scraped = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {name: job["static_configs"][0]["targets"] for name, job in scraped.items()} == {
        "api-gateway": ["host.docker.internal:8007"],
        "celery-worker": ["host.docker.internal:8006"],
        # On the host's network: reached through the host, like cAdvisor.
        "node-exporter": ["host.docker.internal:9100"],
        "cadvisor": ["host.docker.internal:8080"],
        "otel-collector": ["otel-collector:8889"],
        # The monitoring stack watching itself.
        "prometheus": ["localhost:9090"],
        "alertmanager": ["alertmanager:9093"],
        "grafana": ["grafana:3000"],
        "tempo": ["tempo:3200"],
        "otel-collector-telemetry": ["otel-collector:8888"],
    }
    # cAdvisor writes its own sample timestamps: stored at scrape time, a vanished series goes stale at once.
    assert scraped["cadvisor"]["honor_timestamps"] is False
    assert all("honor_timestamps" not in job for name, job in scraped.items() if name != "cadvisor")
    assert scraped["api-gateway"]["scrape_interval"] == scraped["celery-worker"]["scrape_interval"] == "10s"
    assert config["global"]["scrape_interval"] == jobs.GLOBAL_SCRAPE_INTERVAL
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [str(network.ALERTMANAGER)]


def test_rule_files_resolve_to_the_mounted_rules():
    config = yaml.safe_load((REPO / PROMETHEUS_FILE).read_text())
    [pattern] = config["rule_files"]
    resolved = posixpath.join(posixpath.dirname(PROMETHEUS_CONFIG_MOUNT), pattern)
    assert posixpath.dirname(resolved) == RULES_MOUNT
    assert list((REPO / RULES_DIR).glob(posixpath.basename(resolved)))


# --- The README's table --------------------------------------------------------------------------------

def test_readme_table_matches_the_compiled_alerts_and_routes():
    from alerts.alertmanager import RECEIVER_FOR as receiver
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \| (\w+) \| (\w+) \|$", (REPO / "alerts" / "README.md").read_text(), re.M)
    table = {name: (severity, routes) for name, _condition, severity, routes in rows}
    alerts = compiled_rules("alert")
    assert set(table) == set(alerts)
    for name, alert in alerts.items():
        severity = alert["labels"]["severity"]
        assert table[name] == (severity, receiver[severity]), name
