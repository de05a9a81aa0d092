"""`obs lint`: every rule fires on a bad example and stays silent on the project's own content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from obs.review import lint

from helpers import run_obs

ANALYTICS = "monitoring/grafana/dashboards/obs-evaluation-analytics.json"
RULES_FILE = "monitoring/prometheus/rules/zz-lint-example.yml"


def edit_dashboard(project: Path, change) -> None:
    path = project / ANALYTICS
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def panel(document: dict, title: str) -> dict:
    return next(p for p in document["panels"] if p.get("title") == title)


def write_rules(project: Path, *rules: dict) -> None:
    path = project / RULES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"groups": [{"name": "example", "rules": list(rules)}]}))


GOOD_ALERT = {
    "alert": "ExampleAlert",
    "expr": "up == 0",
    "for": "5m",
    "labels": {"severity": "warning"},
    "annotations": {"summary": "s", "description": "d {{ $value }}", "runbook_url": "https://runbooks/x"},
}


def alert(**changes) -> dict:
    out = json.loads(json.dumps(GOOD_ALERT))
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def set_expr(title: str, expr: str):
    return lambda d: panel(d, title)["targets"][0].update(expr=expr)


def drop_annotation(key: str) -> dict:
    out = alert()
    del out["annotations"][key]
    return out


PINNED_PROMETHEUS = {"type": "prometheus", "uid": "obs-prometheus"}
CASES = {
    "panel-title": lambda p: edit_dashboard(p, lambda d: panel(d, "Throughput").update(title="")),
    "panel-title-unique": lambda p: edit_dashboard(
        p, lambda d: panel(d, "Success rate now").update(title="Success rate")),
    "panel-description": lambda p: edit_dashboard(p, lambda d: panel(d, "Throughput").update(description="")),
    "panel-units": lambda p: edit_dashboard(
        p, lambda d: panel(d, "Throughput")["fieldConfig"]["defaults"].update(unit="")),
    "template-datasource": lambda p: edit_dashboard(
        p, lambda d: d["templating"].update(list=[v for v in d["templating"]["list"] if v["type"] != "datasource"])),
    "panel-datasource-variable": lambda p: edit_dashboard(
        p, lambda d: panel(d, "Throughput")["targets"][0].update(datasource=PINNED_PROMETHEUS)),
    "target-promql": lambda p: edit_dashboard(p, set_expr("Throughput", "sum(rate(evaluations_total[5m])")),
    "target-counter-agg": lambda p: edit_dashboard(p, set_expr("Throughput", "sum(evaluations_total)")),
    "target-rate-interval": lambda p: edit_dashboard(p, set_expr("Throughput", "sum(rate(evaluations_total[5m]))")),
    "metric-in-catalog": lambda p: edit_dashboard(
        p, set_expr("Throughput", "sum(rate(evaluation_total[$__rate_interval]))")),
    "recording-rule-defined": lambda p: edit_dashboard(p, set_expr("Throughput", "job:nothing_here:ratio_rate5m")),
    "link-target-exists": lambda p: edit_dashboard(
        p, lambda d: d["links"][0].update(url="/d/obs-gone-dashboard")),
    "datasource-provisioned": lambda p: edit_dashboard(
        p, lambda d: panel(d, "Failed evaluations (traces)")["datasource"].update(uid="somebody-elses-tempo")),
    "alert-name-camelcase": lambda p: write_rules(p, alert(alert="example_alert")),
    "alert-severity": lambda p: write_rules(p, alert(labels={"severity": "page"})),
    "alert-summary-description": lambda p: write_rules(p, drop_annotation("summary")),
    "alert-runbook-url": lambda p: write_rules(p, drop_annotation("runbook_url")),
}


def add_exclusion(project: Path, entry: dict) -> None:
    """The project's own exclusions, and `entry`."""
    path = project / "lint-exclusions.yml"
    document = yaml.safe_load(path.read_text()) if path.is_file() else {}
    document.setdefault("exclusions", []).append(entry)
    path.write_text(yaml.safe_dump(document))


# What the project's lint-exclusions.yml silences on its own content (the in-flight panel's counter difference).
BASELINE_EXCLUDED = 5


def test_every_rule_has_a_case_here():
    assert set(CASES) == {r.name for r in lint.RULES}


def test_every_rule_has_a_reason_and_a_fix():
    assert all(r.reason and r.fix for r in lint.RULES)


def test_project_content_is_clean(repo):
    findings, excluded = lint.lint(repo)
    assert findings == [] and excluded == BASELINE_EXCLUDED


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_fires_on_a_bad_example(project, name):
    CASES[name](project)
    findings, _ = lint.lint(project)
    assert name in {f.rule for f in findings}, findings
    result = run_obs("lint", "--root", str(project), "--rule", name)
    assert result.exit_code == 1
    [line, *_] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert f"[{name}]" in line and "monitoring/" in line


def test_alert_link_to_a_missing_panel(project):
    write_rules(project, alert(annotations={**GOOD_ALERT["annotations"],
                                            "dashboard_url": "http://grafana/d/obs-system-overview?viewPanel=999"}))
    findings, _ = lint.lint(project, {"link-target-exists"})
    assert [f.message for f in findings] == ["links to panel 999 of 'obs-system-overview', which has no such panel"]


def test_alert_with_unknown_metric(project):
    write_rules(project, alert(expr="rate(made_up_total[5m]) > 1"))
    findings, _ = lint.lint(project, {"metric-in-catalog"})
    assert [f.alert for f in findings] == ["ExampleAlert"]


def test_exclusion_with_reason_silences_the_finding(project):
    CASES["panel-units"](project)
    add_exclusion(project, {"rule": "panel-units", "dashboard": "obs-evaluation-analytics", "panel": "Throughput",
                            "reason": "a count of evaluations, unitless by design"})
    findings, excluded = lint.lint(project)
    assert findings == [] and excluded == 1 + BASELINE_EXCLUDED


def test_exclusion_for_another_panel_does_not_silence(project):
    CASES["panel-units"](project)
    add_exclusion(project, {"rule": "panel-units", "panel": "Token usage", "reason": "unrelated"})
    findings, excluded = lint.lint(project)
    assert [f.rule for f in findings] == ["panel-units"] and excluded == BASELINE_EXCLUDED


@pytest.mark.parametrize("entry, message", [
    ({"rule": "panel-units"}, "exclusions[0].reason: every exclusion needs a reason"),
    ({"rule": "panel-unit", "reason": "typo"}, "exclusions[0].rule: unknown rule 'panel-unit'"),
    ({"rule": "panel-units", "reason": "x", "dashbord": "y"}, "exclusions[0]: unknown field(s) dashbord"),
])
def test_bad_exclusions_file_is_an_error(project, entry, message):
    (project / "lint-exclusions.yml").write_text(yaml.safe_dump({"exclusions": [entry]}))
    result = run_obs("lint", "--root", str(project))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: lint-exclusions.yml: {message}"


def test_list_rules_documents_each_rule():
    result = run_obs("lint", "--list-rules")
    for item in lint.RULES:
        assert f"{item.name}\n  why: {item.reason}\n  fix: {item.fix}" in result.stdout


def test_pre_commit_and_ci_workflow_run_the_checks(repo):
    hooks = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    entries = {hook["entry"] for hook in hooks}
    assert {".venv/bin/obs build --check", ".venv/bin/obs validate", ".venv/bin/obs lint"} <= entries
    workflow = yaml.safe_load((repo / ".github/workflows/pull-request.yml").read_text())
    script = "\n".join(step.get("run", "") for step in workflow["jobs"]["check"]["steps"])
    assert "make test" in script and "obs lint" in script and "obs diff --base" in script
    assert "--format markdown" in script
    for command in ("build", "validate", "lint"):
        assert run_obs(command, "--help").exit_code == 0


def test_severity_info_is_refused_as_everywhere_else(project):
    """lint once accepted `info`, which no Alertmanager route takes; it now takes the catalog's severities."""
    from catalog.thresholds import SEVERITIES

    assert "info" not in SEVERITIES
    write_rules(project, alert(labels={"severity": "info"}))
    result = run_obs("lint", "--root", str(project), "--rule", "alert-severity")
    assert result.exit_code == 1 and "severity 'info' is not one of critical, warning, none" in result.stderr


def test_a_repeated_title_names_both_panels(project):
    CASES["panel-title-unique"](project)
    findings, _ = lint.lint(project, {"panel-title-unique"})
    [finding] = findings
    assert finding.panel == "Success rate" and finding.dashboard == "obs-evaluation-analytics"
    assert "'Success rate' is also the title of the stat panel id" in finding.message or \
        "'Success rate' is also the title of the timeseries panel id" in finding.message


def test_series_only_counted_are_not_raw_counters(project):
    """count(node_cpu_seconds_total) counts CPUs: no rate() needed; the counter's value would still be flagged."""
    edit_dashboard(project, set_expr("Throughput", 'count by (instance) (node_cpu_seconds_total{mode="idle"})'))
    assert lint.lint(project, {"target-counter-agg"})[0] == []
    edit_dashboard(project, set_expr("Throughput",
                                     'count by (instance) (node_cpu_seconds_total) + sum(evaluations_total)'))
    [finding] = lint.lint(project, {"target-counter-agg"})[0]
    assert "evaluations_total" in finding.message


@pytest.mark.parametrize(("path", "text", "reason"), [
    (ANALYTICS, '{"title": "cut off', "does not parse: Unterminated string starting at: line 1 column 11"),
    (ANALYTICS, "[1, 2]", "must be a mapping, got list"),
    ("monitoring/prometheus/rules/evaluations.yml", "groups: [unclosed", "does not parse: while parsing"),
])
def test_a_corrupt_compiled_file_is_one_line(project, path, text, reason):
    (project / path).write_text(text)
    result = run_obs("lint", "--root", str(project))
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {path}: {reason}"), line
