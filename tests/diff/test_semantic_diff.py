"""obs diff: the semantic differ on compiled documents, and the command on a throw-away git repository."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from obs.core.documents import panels_with_paths
from obs.core.serialize import parse_document as parse_artifact
from obs.diff import KINDS, diff_documents
from obs.diff.model import Change, Report
from obs.diff.render import render_json, render_markdown, render_text
from obs.diff.values import SPLIT_WIDTH, expression_diff, expression_lines, number_changes
from obs.review import revision as diff_cli

from helpers import run_obs

DASHBOARDS = "monitoring/grafana/dashboards"
RULES = "monitoring/prometheus/rules/evaluations.yml"
ALERTMANAGER = "monitoring/alertmanager.yml"


# --- The differ on documents -------------------------------------------------------------------------

@pytest.fixture
def dashboards(repo: Path) -> dict[str, Any]:
    """The project's compiled dashboards, as committed."""
    files = sorted((repo / DASHBOARDS).glob("*.json"))
    assert files, "no compiled dashboards in the repository"
    return {f"{DASHBOARDS}/{p.name}": json.loads(p.read_text(encoding="utf-8")) for p in files}


def query_panels(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Top-level panels with a PromQL query (rows and collapsed rows' children left out)."""
    return [p for p in document["panels"] if p.get("type") != "row" and any("expr" in t for t in p.get("targets", []))]


def pick(documents: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A dashboard with at least three query panels."""
    for path, document in sorted(documents.items()):
        if len(query_panels(document)) >= 3:
            return path, document
    raise AssertionError("no dashboard with three query panels")


def only_change(report: Report) -> Change:
    assert len(report.sections) == 1, render_text(report)
    changes = report.sections[0].changes
    assert len(changes) == 1, render_text(report)
    return changes[0]


def test_identical_builds_have_no_changes(dashboards):
    report = diff_documents(dashboards, copy.deepcopy(dashboards))
    assert not report.changed
    assert report.summary() == "no changes"
    assert render_text(report).strip() == "no changes"
    assert "**No changes.**" in render_markdown(report)
    assert json.loads(render_json(report))["changed"] is False


def test_a_query_change_is_that_change_and_nothing_else(dashboards):
    new = copy.deepcopy(dashboards)
    path, document = pick(new)
    panel = query_panels(document)[1]
    target = next(t for t in panel["targets"] if "expr" in t)
    old_expr = target["expr"]
    target["expr"] = f"max({old_expr})"
    report = diff_documents(dashboards, new)
    change = only_change(report)
    assert (change.subject_kind, change.subject, change.action) == ("panel", panel["title"], "changed")
    assert change.field == f"query {target['refId']}"
    assert (change.old, change.new) == (old_expr, f"max({old_expr})")
    assert any(line.startswith("-") for line in change.diff) and any(line.startswith("+") for line in change.diff)
    assert change.ref == {"old_id": panel["id"], "new_id": panel["id"]}
    assert report.sections[0].key == document["uid"]
    assert report.summary() == "1 dashboard changed"
    text = render_text(report)
    assert f'panel "{panel["title"]}" (id {panel["id"]})' in text
    assert text.rstrip().endswith("1 dashboard changed")


def test_markdown_has_a_diff_block_for_a_query_change(dashboards):
    new = copy.deepcopy(dashboards)
    _, document = pick(new)
    panel = query_panels(document)[0]
    panel["targets"][0]["expr"] = "sum(up)"
    markdown = render_markdown(diff_documents(dashboards, new))
    assert f"### Dashboard `{document['uid']}`" in markdown
    block = markdown.split("```diff\n", 1)[1].split("```", 1)[0]
    assert "+sum(up)" in block.split()
    assert any(line.strip().startswith("-") for line in block.splitlines())
    assert markdown.rstrip().endswith("**Summary:** 1 dashboard changed")


def test_moving_a_panel_is_a_move(dashboards):
    new = copy.deepcopy(dashboards)
    _, document = pick(new)
    panel = query_panels(document)[0]
    grid = panel["gridPos"]
    old_position = f"x={grid['x']} y={grid['y']}"
    grid["y"] += 40
    grid["x"] = 24 - grid["w"]
    change = only_change(diff_documents(dashboards, new))
    assert (change.action, change.field, change.subject) == ("moved", "position", panel["title"])
    assert change.old == old_position
    assert change.new == f"x={grid['x']} y={grid['y']}"


def test_resizing_a_panel_is_a_resize(dashboards):
    new = copy.deepcopy(dashboards)
    _, document = pick(new)
    panel = query_panels(document)[0]
    panel["gridPos"]["h"] += 2
    change = only_change(diff_documents(dashboards, new))
    assert (change.action, change.field) == ("resized", "size")
    assert change.new == f"w={panel['gridPos']['w']} h={panel['gridPos']['h']}"


def test_adding_and_removing_panels(dashboards):
    new = copy.deepcopy(dashboards)
    path, document = pick(new)
    removed = query_panels(document)[2]
    document["panels"].remove(removed)
    added = copy.deepcopy(query_panels(document)[0])
    added.update(id=9000, title="Queue depth", gridPos={"x": 0, "y": 200, "w": 12, "h": 8})
    added["targets"][0]["expr"] = "sum(celery_queue_length)"
    document["panels"].append(added)
    report = diff_documents(dashboards, new)
    changes = report.sections[0].changes
    assert [(c.action, c.subject) for c in changes] == [("added", "Queue depth"), ("removed", removed["title"])]
    assert changes[0].ref == {"new_id": 9000} and changes[1].ref == {"old_id": removed["id"]}
    assert "timeseries" in changes[0].new or "stat" in changes[0].new
    text = render_text(report)
    assert 'panel "Queue depth" (id 9000): added' in text


def test_panels_are_matched_by_title_when_ids_shift(dashboards):
    """The build numbers panels in reading order: an inserted panel renumbers those after it. They are
    still the same panels (same titles), so only the new panel and the id shifts are reported."""
    new = copy.deepcopy(dashboards)
    _, document = pick(new)
    for panel, _ in panels_with_paths(document):
        panel["id"] += 1
    inserted = copy.deepcopy(query_panels(document)[0])
    inserted.update(id=1, title="Inserted first")
    document["panels"].append(inserted)
    changes = diff_documents(dashboards, new).sections[0].changes
    assert [c for c in changes if c.action == "added"][0].subject == "Inserted first"
    others = [c for c in changes if c.action != "added"]
    assert others and all(c.field == "id" and c.new == c.old + 1 for c in others)


def test_renamed_panel_is_a_title_change(dashboards):
    new = copy.deepcopy(dashboards)
    _, document = pick(new)
    panel = query_panels(document)[0]
    old_title, panel["title"] = panel["title"], "Renamed"
    change = only_change(diff_documents(dashboards, new))
    assert (change.field, change.old, change.new, change.subject) == ("title", old_title, "Renamed", "Renamed")


def test_unit_thresholds_and_description(dashboards):
    new = copy.deepcopy(dashboards)
    _, document = pick(new)
    panel = query_panels(document)[0]
    defaults = panel["fieldConfig"]["defaults"]
    defaults["unit"] = "ms"
    defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                            {"color": "red", "value": 0.5}]}
    panel["description"] = "Changed."
    changes = {c.field: c for c in diff_documents(dashboards, new).sections[0].changes}
    assert set(changes) == {"unit", "thresholds", "description"}
    assert changes["unit"].new == "ms"
    assert changes["thresholds"].new == "green, 0.5 red"
    assert changes["description"].new == "Changed."


def test_variables_added_removed_changed(dashboards):
    new = copy.deepcopy(dashboards)
    _, document = pick(new)
    variables = document["templating"]["list"]
    first = variables[0]
    first["label"] = "Changed label"
    removed = variables.pop()
    variables.append({"name": "region", "type": "custom", "query": "eu,us"})
    changes = diff_documents(dashboards, new).sections[0].changes
    found = {(c.subject_kind, c.subject, c.action, c.field) for c in changes}
    assert found == {("variable", first["name"], "changed", "label"), ("variable", "region", "added", ""),
                     ("variable", removed["name"], "removed", "")}


def test_dashboard_added_and_removed(dashboards):
    path, document = pick(dashboards)
    new = {p: d for p, d in dashboards.items() if p != path}
    new[f"{DASHBOARDS}/obs-new.json"] = {**copy.deepcopy(document), "uid": "obs-new", "title": "New one"}
    report = diff_documents(dashboards, new)
    assert sorted((s.key, s.status) for s in report.sections) == sorted([("obs-new", "added"),
                                                                        (document["uid"], "removed")])
    assert report.summary() == "1 dashboard added, 1 dashboard removed"


# Rules and routes: synthetic documents in the shape of the compiled files, so these tests do not
# depend on the alert package's content.

def rules_document(threshold: float = 0.2, duration: str = "5m") -> dict[str, Any]:
    return {"groups": [
        {"name": "evaluations", "rules": [
            {"alert": "HighEvaluationFailureRate", "expr": f"job:evaluations_failed:ratio_rate5m > {threshold}",
             "for": duration, "labels": {"severity": "critical"},
             "annotations": {"summary": "Failure rate above 20%", "runbook_url": "https://runbooks/x"}},
            {"alert": "HostHighCpuUsage", "expr": "instance:node_cpu_utilisation:rate5m > 0.9", "for": "5m",
             "labels": {"severity": "warning"}, "annotations": {"summary": "CPU"}},
        ]},
        {"name": "evaluations.recording", "rules": [
            {"record": "job:evaluation_duration_seconds:p95_rate5m",
             "expr": "histogram_quantile(0.95, sum by (job, le) (rate(evaluation_duration_seconds_bucket[5m])))"},
        ]},
    ]}


def test_alert_threshold_change_has_old_and_new_value():
    old = {RULES: rules_document(0.2)}
    new = {RULES: rules_document(0.25)}
    report = diff_documents(old, new)
    change = only_change(report)
    assert (change.subject_kind, change.subject, change.field) == ("alert rule", "HighEvaluationFailureRate", "expr")
    assert change.note == "threshold 0.2 -> 0.25"
    assert change.old.endswith("> 0.2") and change.new.endswith("> 0.25")
    assert report.summary() == "1 alert rule changed"
    text = render_text(report)
    assert "threshold 0.2 -> 0.25" in text and "-job:evaluations_failed:ratio_rate5m > 0.2" in text
    assert "+job:evaluations_failed:ratio_rate5m > 0.25" in text
    assert "threshold 0.2 -> 0.25" in render_markdown(report)


def test_alert_for_labels_annotations_and_recording_rules():
    old, new = rules_document(), rules_document(duration="10m")
    rules = new["groups"][0]["rules"]
    rules[0]["labels"]["team"] = "ml"
    rules[0]["annotations"]["summary"] = "Failure rate above 25%"
    rules.pop(1)
    rules.append({"alert": "EvaluationsStalled", "expr": "sum(rate(evaluations_total[5m])) == 0", "for": "10m",
                  "labels": {"severity": "critical"}})
    new["groups"][1]["rules"][0]["expr"] = new["groups"][1]["rules"][0]["expr"].replace("0.95", "0.99")
    report = diff_documents({RULES: old}, {RULES: new})
    found = {(c.subject, c.action, c.field, str(c.old), str(c.new)) for c in report.sections[0].changes}
    assert found == {
        ("HighEvaluationFailureRate", "changed", "for", "5m", "10m"),
        ("HighEvaluationFailureRate", "changed", "labels.team", "None", "ml"),
        ("HighEvaluationFailureRate", "changed", "annotations.summary", "Failure rate above 20%",
         "Failure rate above 25%"),
        ("HostHighCpuUsage", "removed", "", "instance:node_cpu_utilisation:rate5m > 0.9 for 5m (severity warning)",
         "None"),
        ("EvaluationsStalled", "added", "", "None",
         "sum(rate(evaluations_total[5m])) == 0 for 10m (severity critical)"),
        ("job:evaluation_duration_seconds:p95_rate5m", "changed", "expr",
         old["groups"][1]["rules"][0]["expr"], new["groups"][1]["rules"][0]["expr"]),
    }
    recording = next(c for c in report.sections[0].changes if c.subject_kind == "recording rule")
    assert recording.note == "value 0.95 -> 0.99"
    assert report.summary() == ("1 alert rule added, 1 alert rule removed, 1 alert rule changed, "
                                "1 recording rule changed")


def test_rules_moving_between_files_are_matched_by_name():
    document = rules_document()
    moved = {"groups": [{"name": "host", "rules": [document["groups"][0]["rules"].pop(1)]}]}
    report = diff_documents({RULES: rules_document()},
                               {RULES: document, "monitoring/prometheus/rules/host.yml": moved})
    found = [(c.subject_kind, c.subject, c.action, c.field) for c in report.sections[0].changes]
    assert found == [("rule group", "host", "added", ""), ("alert rule", "HostHighCpuUsage", "moved", "group")]


def test_alerts_sharing_a_name_are_told_apart_by_severity():
    def document(critical: str) -> dict[str, Any]:
        return {"groups": [{"name": "g", "rules": [
            {"alert": "DiskFull", "expr": "disk > 0.8", "labels": {"severity": "warning"}},
            {"alert": "DiskFull", "expr": f"disk > {critical}", "labels": {"severity": "critical"}}]}]}

    change = only_change(diff_documents({RULES: document("0.9")}, {RULES: document("0.95")}))
    assert change.subject == "DiskFull [severity=critical]" and change.note == "threshold 0.9 -> 0.95"


def alertmanager_document() -> dict[str, Any]:
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {"receiver": "team", "group_by": ["alertname"], "routes": [
            {"matchers": ['severity="critical"'], "receiver": "oncall"},
            {"matchers": ['severity = "warning"'], "receiver": "team"}]},
        "receivers": [{"name": "oncall", "email_configs": [{"to": "oncall@example.org"}]},
                      {"name": "team", "slack_configs": [{"channel": "#alerts"}]}],
        "inhibit_rules": [{"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
                           "equal": ["alertname"]}],
    }


def test_routes_and_receivers():
    old, new = alertmanager_document(), alertmanager_document()
    new["route"]["routes"][1]["receiver"] = "pager"
    new["route"]["routes"][0]["group_wait"] = "10s"
    new["receivers"].append({"name": "pager", "webhook_configs": [{"url_file": "/secrets/pager"}]})
    new["receivers"][1]["slack_configs"][0]["channel"] = "#team"
    report = diff_documents({ALERTMANAGER: old}, {ALERTMANAGER: new})
    found = {(c.subject_kind, c.subject, c.action, c.field, str(c.old), str(c.new)) for c in report.sections[0].changes}
    assert found == {
        ("route", '{severity="critical"}', "changed", "group_wait", "None", "10s"),
        ("route", '{severity="warning"}', "changed", "receiver", "team", "pager"),
        ("receiver", "pager", "added", "", "None", "webhook"),
        ("receiver", "team", "changed", "slack_configs[0].channel", "#alerts", "#team"),
    }
    assert report.summary() == "2 routes changed, 1 receiver added, 1 receiver changed"
    assert 'route {severity="warning"}: receiver: "team" -> "pager"' in render_text(report)


def test_route_order_and_inhibit_rules():
    old, new = alertmanager_document(), alertmanager_document()
    new["route"]["routes"].reverse()
    new["inhibit_rules"] = []
    changes = diff_documents({ALERTMANAGER: old}, {ALERTMANAGER: new}).sections[0].changes
    assert {(c.subject_kind, c.action, c.field) for c in changes} == {
        ("route", "moved", "position"), ("inhibit rule", "removed", "")}
    assert len([c for c in changes if c.action == "moved"]) == 2


def test_other_files_are_diffed_structurally():
    old = {"monitoring/prometheus.yml": {"global": {"scrape_interval": "15s"}}}
    new = {"monitoring/prometheus.yml": {"global": {"scrape_interval": "10s"}}, "monitoring/x.txt": "hello"}
    report = diff_documents(old, new)
    assert [(s.key, s.status) for s in report.sections] == [("monitoring/prometheus.yml", "changed"),
                                                            ("monitoring/x.txt", "added")]
    assert report.sections[0].changes[0].field == "global.scrape_interval"
    assert report.summary() == "1 file added, 1 file changed"


def test_expression_lines_split_long_promql_at_operators():
    expr = ('sum(rate(a_total{job=~"$job", le="0.5 / 2"}[$__rate_interval])) / sum(rate(b_total{job=~"$job"}'
            '[$__rate_interval])) > 0.2 or on () vector(0) * 100000000000')
    lines = expression_lines(expr)
    assert len(lines) == 5
    assert " ".join(line.strip() for line in lines) == expr
    assert lines[1].startswith("/ sum(") and lines[2:] == ["> 0.2", "or on () vector(0)", "* 100000000000"]
    assert expression_lines("up == 0") == ["up == 0"]


def test_an_edit_across_the_split_width_changes_only_the_line_it_touches():
    old = "(job:evaluations_success:ratio_rate5m < 0.8) and on (job) (job:evaluations_started:increase5m >= 10)"
    new = old.replace("0.8", "0.85")
    assert len(old) <= SPLIT_WIDTH < len(new)
    changed = [line for line in expression_diff(old, new) if line[0] in "+-"]
    assert changed == ["-  < 0.8)", "+  < 0.85)"]


def test_number_changes():
    assert number_changes("x > 0.2", "x > 0.25") == "threshold 0.2 -> 0.25"
    assert number_changes("0.8 < bool x", "0.9 < bool x") == "threshold 0.8 -> 0.9"
    assert number_changes("histogram_quantile(0.95, h)", "histogram_quantile(0.99, h)") == "value 0.95 -> 0.99"
    assert number_changes("rate(x[5m]) > 1", "rate(x[10m]) > 1") == ""
    assert number_changes("up2 > 1", "up3 > 1") == ""


def test_each_compiled_file_is_claimed_by_its_kind(repo):
    """The explicit KINDS table: dashboards, rules, Alertmanager and datasources get their own differ, in
    that order; every other compiled file (prometheus.yml, the stack) gets the structural one."""
    from obs.check.files import compiled_files

    claimed = {}
    for path in compiled_files(repo):
        kind = next((k.name for k in KINDS if any(fnmatch(path, p) for p in k.patterns)), "file")
        claimed.setdefault(kind, set()).add(path)
    assert [k.name for k in KINDS] == ["dashboards", "rules", "alertmanager", "datasources"]
    assert len(claimed["dashboards"]) == 3 and all(p.endswith(".json") for p in claimed["dashboards"])
    assert claimed["alertmanager"] == {"monitoring/alertmanager.yml"}
    assert claimed["datasources"] == {"monitoring/grafana/provisioning/datasources/datasources.yml"}
    assert {"monitoring/prometheus.yml", "docker-compose.yml"} <= claimed["file"]
    report = diff_documents({"monitoring/prometheus.yml": {"global": {"scrape_interval": "15s"}}},
                            {"monitoring/prometheus.yml": {"global": {"scrape_interval": "30s"}}})
    assert report.sections[0].kind == "file" and report.sections[0].changes[0].field == "global.scrape_interval"


# --- The command on a git repository -----------------------------------------------------------------

def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_project(project: Path, repo: Path) -> Path:
    """The project copy committed in a fresh git repository on branch main."""
    build = diff_cli.build_tree(project)
    if not build.ok:
        pytest.skip(f"the project does not build right now: {build.problems[0]}")
    for path, text in build.files.items():  # commit the build's output, as `obs build` would have
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text, encoding="utf-8")
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.email", "test@example.org")
    git(project, "config", "user.name", "test")
    git(project, "config", "commit.gpgsign", "false")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "base")
    return project


CHANGE_ONE_QUERY = '''

def _first_query_panel(panels):
    for panel in panels:
        if getattr(panel, "targets", None):
            return panel
        found = _first_query_panel(getattr(panel, "panels", None) or [])
        if found is not None:
            return found
    return None


_changed = _first_query_panel(dashboard.panels)
_changed.targets[0].expr = "(" + _changed.targets[0].expr + ") * 2"
CHANGED_TITLE = _changed.title
'''


def changed_title(project: Path, module: str) -> str:
    """The title of the panel CHANGE_ONE_QUERY changes (its first panel with a query)."""
    namespace: dict[str, Any] = {}
    source = (project / "dashboards" / module).read_text(encoding="utf-8")
    code = compile(source + CHANGE_ONE_QUERY, str(project / "dashboards" / module), "exec")
    exec(code, namespace)
    return namespace["CHANGED_TITLE"]


def worktrees(project: Path) -> list[str]:
    return [line for line in git(project, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")]


def test_diff_base_head_on_a_clean_tree_says_no_changes(git_project):
    result = run_obs("diff", "--base", "HEAD", "--root", str(git_project))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("no changes")
    assert len(worktrees(git_project)) == 1  # the temporary worktree is gone


def test_diff_default_base_is_the_merge_base_with_main(git_project):
    git(git_project, "checkout", "-q", "-b", "feature")
    result = run_obs("diff", "--root", str(git_project), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["changed"] is False and data["base"].startswith("the merge base with main")


def test_diff_reports_a_changed_dashboard_module(git_project, tmp_path):
    module = "system_overview.py"
    title = changed_title(git_project, module)
    with (git_project / "dashboards" / module).open("a", encoding="utf-8") as handle:
        handle.write(CHANGE_ONE_QUERY)

    text = run_obs("diff", "--base", "HEAD", "--root", str(git_project))
    assert text.exit_code == 1, text.output
    assert f'panel "{title}"' in text.stdout
    assert text.stdout.rstrip().endswith("1 dashboard changed")

    data = json.loads(run_obs("diff", "--base", "HEAD", "--root", str(git_project), "--format", "json").stdout)
    [section] = data["sections"]
    [change] = section["changes"]
    assert (change["subject"], change["field"]) == (title, "query A")
    assert change["new"] == f"({change['old']}) * 2"

    preview = tmp_path / "preview"
    markdown = run_obs("diff", "--base", "HEAD", "--root", str(git_project), "--format", "markdown",
                       "--preview", str(preview))
    assert markdown.exit_code == 1
    assert "```diff" in markdown.stdout and f"`{title}`" in markdown.stdout
    uid = section["key"]
    assert sorted(p.name for p in preview.iterdir()) == ["index.html", f"{uid}.after.svg", f"{uid}.before.svg"]
    assert 'data-status="changed"' in (preview / f"{uid}.after.svg").read_text(encoding="utf-8")
    assert len(worktrees(git_project)) == 1


def test_a_base_that_does_not_build_falls_back_to_its_committed_files(git_project):
    module = git_project / "dashboards" / "system_overview.py"
    good = module.read_text(encoding="utf-8")
    module.write_text(good + "\nraise RuntimeError('broken at the base')\n", encoding="utf-8")
    git(git_project, "commit", "-q", "-am", "broken")
    module.write_text(good, encoding="utf-8")
    result = run_obs("diff", "--base", "HEAD", "--root", str(git_project))
    assert result.exit_code == 0, result.output
    assert "the base does not build" in result.stdout and "committed compiled files" in result.stdout
    assert "broken at the base" in result.stdout


def test_errors_exit_2(git_project, tmp_path):
    unknown = run_obs("diff", "--base", "no-such-rev", "--root", str(git_project))
    assert unknown.exit_code == 2 and "unknown revision" in unknown.stderr
    plain = tmp_path / "plain"
    shutil.copytree(git_project, plain, ignore=shutil.ignore_patterns(".git"))
    outside = run_obs("diff", "--root", str(plain))
    assert outside.exit_code == 2 and "not in a git repository" in outside.stderr
    (git_project / "dashboards" / "broken.py").write_text("dashboard = 1\n", encoding="utf-8")
    broken = run_obs("diff", "--base", "HEAD", "--root", str(git_project))
    assert broken.exit_code == 2 and "the working tree does not build" in broken.stderr
    both = run_obs("diff", "--base", "HEAD", "--grafana-url", "http://localhost:3000", "--root", str(git_project))
    assert both.exit_code == 2


def test_the_worktree_is_removed_when_the_comparison_fails(git_project, monkeypatch):
    def explode(root, produced):
        assert worktrees(git_project) and len(worktrees(git_project)) == 2
        raise RuntimeError("boom")

    monkeypatch.setattr(diff_cli, "build_base", explode)
    with pytest.raises(RuntimeError, match="boom"):
        run_obs("diff", "--base", "HEAD", "--root", str(git_project))
    assert len(worktrees(git_project)) == 1
    assert not [p for p in Path(diff_cli.tempfile.gettempdir()).glob("obs-diff-*") if (p / ".git").exists()]


def test_rules_documents_parse(tmp_path):
    """parse_artifact reads what the build writes: JSON by extension, YAML, else text."""
    assert parse_artifact("a.json", '{"a": 1}') == {"a": 1}
    assert parse_artifact("a.yml", yaml.safe_dump(rules_document())) == rules_document()
    assert parse_artifact("a.txt", "x") == "x"
