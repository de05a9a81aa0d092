"""Every way a dashboard module can be wrong gives one line naming the file, the dashboard and panel,
the JSON path and the reason; the exit code is 1; and not one file is written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import edit
from helpers import failing_build as build_failure

SYSTEM = "dashboards/system_overview.py"
ANALYTICS = "dashboards/evaluation_analytics.py"


def append(project: Path, module: str, line: str) -> None:
    path = project / module
    path.write_text(path.read_text() + f"\n{line}\n")


def panel_id(project: Path, uid: str, title: str, kind: str | None = None) -> int:
    """The id the committed build gave a panel (ids derive from type and title)."""
    document = json.loads((project / f"monitoring/grafana/dashboards/{uid}.json").read_text())
    [found] = [p["id"] for p in document["panels"] if p["title"] == title and kind in (None, p["type"])]
    return found


def failing_build(project: Path) -> list[str]:
    """Run the build after also making a harmless change elsewhere, and prove nothing was written."""
    edit(project, "dashboards/container_overview.py", '"Containers"', '"Running containers"')
    errors = build_failure(project)
    assert errors
    return errors


def test_module_that_fails_to_import(project):
    (project / "dashboards/broken.py").write_text("import grafanalib.core as G\n\ndashboard = G.Dashboard(\n")
    [line] = failing_build(project)
    assert line.startswith("error: dashboards/broken.py: module: failed to import: SyntaxError")
    assert "(line 3)" in line


def test_module_that_raises_while_importing(project):
    (project / "dashboards/raises.py").write_text("x = 1\nraise RuntimeError('catalog lookup failed')\n")
    [line] = failing_build(project)
    assert line == "error: dashboards/raises.py: module: failed to import: RuntimeError: catalog lookup failed (line 2)"


def test_module_that_returns_a_wrong_object(project):
    (project / "dashboards/wrong.py").write_text("dashboard = {'title': 'not grafanalib'}\n")
    [line] = failing_build(project)
    assert line == "error: dashboards/wrong.py: module: `dashboard` must be a Dashboard, got dict"


def test_module_without_a_dashboard(project):
    (project / "dashboards/empty.py").write_text("TITLE = 'forgot the dashboard'\n")
    [line] = failing_build(project)
    assert line == "error: dashboards/empty.py: module: defines no `dashboard` (a grafanalib Dashboard)"


def test_two_dashboards_with_one_uid(project):
    text = (project / SYSTEM).read_text()
    (project / "dashboards/zz_copy.py").write_text(text + '\ndashboard.title = "Copy"\n')
    [line] = failing_build(project)
    assert line == ("error: dashboards/zz_copy.py: dashboard 'obs-system-overview': $.uid: "
                    "duplicate uid, also used by dashboards/system_overview.py")


@pytest.mark.parametrize("uid, reason", [
    ("has space", "uid must be 1-40 characters"),
    ("x" * 41, "uid must be 1-40 characters"),
])
def test_uid_that_grafana_would_reject(project, uid, reason):
    append(project, SYSTEM, f"dashboard.uid = {uid!r}")
    [line] = failing_build(project)
    assert line.startswith(f"error: dashboards/system_overview.py: dashboard {uid!r}: $.uid: {reason}")


def test_schema_violation_names_the_json_path(project):
    append(project, SYSTEM, "dashboard.graphTooltip = 7")
    [line] = failing_build(project)
    assert line.startswith("error: dashboards/system_overview.py -> monitoring/grafana/dashboards/"
                           "obs-system-overview.json: dashboard 'obs-system-overview': $.graphTooltip: 7 is not one of")


def test_panel_plugin_schema_violation_names_the_panel(project):
    edit(project, SYSTEM, "color_mode=\"background\",\n    )\n\n\ndef per_minute",
         "color_mode=\"rainbow\",\n    )\n\n\ndef per_minute")
    errors = failing_build(project)
    assert len(errors) == 10  # one per service tile
    gateway = panel_id(project, "obs-system-overview", "API Gateway")
    assert any(re.match(r"error: .*obs-system-overview.json: dashboard 'obs-system-overview' panel 'API Gateway' "
                        rf"\(id {gateway}\): \$\.panels\[1\]\.options\.colorMode: 'rainbow' is not one of", e)
               for e in errors), errors


def test_promql_syntax_error_names_file_dashboard_panel_and_path(project):
    edit(project, ANALYTICS, 'target(q.success_ratio(*APP), "success rate")',
         'target("sum(rate(evaluations_total[5m])", "success rate")')
    success = panel_id(project, "obs-evaluation-analytics", "Success rate", "timeseries")
    [line] = failing_build(project)
    assert line.startswith(
        "error: dashboards/evaluation_analytics.py -> monitoring/grafana/dashboards/obs-evaluation-analytics.json: "
        f"dashboard 'obs-evaluation-analytics' panel 'Success rate' (id {success}): $.panels[11].targets[0].expr: "
        "PromQL does not parse: ")


def test_promql_with_grafana_variables_parses(project):
    """$__rate_interval, $__range, $job and textbox values are substituted before parsing, so the
    project's queries (full of them) build; a stray token after substitution still fails."""
    edit(project, ANALYTICS, 'target(q.success_ratio(*APP), "success rate")',
         'target("rate(evaluations_total[$__rate_interval]) $job", "success rate")')
    [line] = failing_build(project)
    assert "$.panels[11].targets[0].expr: PromQL does not parse" in line


def test_overlapping_panels(project):
    module = project / "dashboards/container_overview.py"
    module.write_text(module.read_text() + (
        "\nfrom grafanalib.core import GridPos\n"
        "dashboard.panels[-1].gridPos = GridPos(h=8, w=8, x=10, y=24)\n"))
    [line] = failing_build(project)
    assert re.search(r"panel 'OOM kills by container' \(id \d+\): \$\.panels\[\d+\]\.gridPos: overlaps the panel at "
                     r"\$\.panels\[\d+\]", line)


def test_panel_past_the_grid(project):
    module = project / "dashboards/container_overview.py"
    module.write_text(module.read_text() + (
        "\nfrom grafanalib.core import GridPos\n"
        "dashboard.panels[-1].gridPos = GridPos(h=8, w=8, x=20, y=60)\n"))
    [line] = failing_build(project)
    assert "gridPos: x+w = 28 runs past the 24-column grid" in line


def test_panel_without_description(project):
    module = project / "dashboards/container_overview.py"
    module.write_text(module.read_text() + "\ndashboard.panels[-1].extraJson['description'] = ''\n")
    [line] = failing_build(project)
    assert re.search(r"panel 'OOM kills by container' \(id \d+\): \$\.panels\[\d+\]\.description: "
                     r"panel has no description$", line)


def test_panel_with_unprovisioned_datasource(project):
    module = project / "dashboards/container_overview.py"
    module.write_text(module.read_text() + (
        "\ndashboard.panels[-1].dataSource = {'type': 'prometheus', 'uid': 'someone-elses-prometheus'}\n"))
    errors = failing_build(project)
    assert any("datasource uid 'someone-elses-prometheus' is not provisioned by datasources/" in e for e in errors)


def test_every_problem_is_reported_at_once(project):
    (project / "dashboards/broken.py").write_text("dashboard = (\n")
    (project / "dashboards/wrong.py").write_text("dashboard = 42\n")
    errors = failing_build(project)
    assert len(errors) == 2


# --- Defects of the first version, each a test that failed before its fix ---------------------------------

def test_a_threshold_of_the_wrong_type_is_one_line_naming_the_catalog(project):
    edit(project, "catalog/thresholds.py", "Threshold(value=0.80", 'Threshold(value="0.80"')
    [line] = build_failure(project)
    line_number = next(n for n, text in enumerate((project / "catalog/thresholds.py").read_text().splitlines(), 1)
                       if text.startswith("SUCCESS_RATE = "))
    assert line == (f"error: catalog/thresholds.py: threshold SUCCESS_RATE: value: must be a number, got str '0.80' "
                    f"(line {line_number})")


def test_other_catalog_records_check_their_fields(project):
    edit(project, "catalog/jobs.py", 'scrape_interval="10s")', 'scrape_interval="10 seconds")')
    [line] = build_failure(project)
    assert line.startswith("error: catalog/jobs.py: scrape job API_GATEWAY: scrape_interval: must be a Prometheus "
                           "duration such as 10s, got '10 seconds'")
    edit(project, "catalog/jobs.py", 'scrape_interval="10 seconds")', 'scrape_interval="10s")')
    edit(project, "catalog/metrics.py", '"evaluations_total", "counter"', '"evaluations_total", "count"')
    [line] = build_failure(project)
    assert line.startswith("error: catalog/metrics.py: metric EVALUATIONS: type: must be one of 'counter', 'gauge', "
                           "'histogram', got 'count'")


@pytest.mark.parametrize("how", ["raise SystemExit(0)", "import sys; sys.exit(0)", "raise GeneratorExit"])
def test_content_that_exits_is_a_load_error_not_a_clean_exit(project, how):
    """sys.exit() in a content module used to end `obs build --check` with exit 0 over a stale file."""
    edit(project, "catalog/thresholds.py", "SUCCESS_RATE = Threshold(value=0.80", "SUCCESS_RATE = Threshold(value=0.85")
    append(project, SYSTEM, how)
    from helpers import run_obs

    result = run_obs("build", "--check", "--root", str(project))
    assert result.exit_code == 1
    assert "error: dashboards/system_overview.py: module: failed to import:" in result.stderr


def test_one_panel_placed_twice_says_so(project):
    edit(project, SYSTEM, '[(host_cpu, 8),', '[(host_cpu, 8), (host_cpu, 8),')
    [line] = failing_build(project)
    assert "panel 'Host CPU usage' is placed twice" in line and "overlaps" not in line
    assert line.startswith("error: dashboards/system_overview.py: module: failed to import: LayoutError:")


def test_a_promql_error_gives_its_position_in_the_expression_as_written(project):
    edit(project, SYSTEM, "q.host_cpu_usage(HOST)", 'q.host_cpu_usage(HOST) + " or or up"')
    [line] = failing_build(project)
    expr_start = line.index("PromQL does not parse: ")
    assert "at line 1, column " in line[expr_start:] and "(near 'up')" in line, line
