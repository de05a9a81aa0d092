"""Every way an alert, a recording rule or the routing can be wrong gives one line naming the rule or route,
exit code 1, and not one file written. `obs validate` finds the same in hand-edited compiled files, and says
what to install when promtool or amtool is missing."""

from __future__ import annotations

import json
import re

from helpers import edit, failing_build, run_obs

HOST = "alerts/host.py"
TARGETS = "alerts/targets.py"
EVALUATIONS = "alerts/evaluations.py"
ROUTING = "alerts/alertmanager.py"
HOST_RULES = "alerts/host.py -> monitoring/prometheus/rules/host.yml"


def test_the_copied_project_builds(project):
    result = run_obs("build", "--root", str(project), "--check")
    assert result.exit_code == 0, result.output


def test_invalid_expression(project):
    edit(project, HOST, "expr=t.HOST_CPU.breached(q.INSTANCE_CPU_UTILISATION)",
         'expr="instance:node_cpu_utilisation:rate5m >> 0.9"')
    [line] = failing_build(project)
    assert line.startswith(f"error: {HOST_RULES}: alert 'HostHighCpuUsage': $.groups[0].rules[0].expr: "
                           "PromQL does not parse: ")


def test_grafana_variable_in_a_rule(project):
    edit(project, HOST, "expr=t.HOST_CPU.breached(q.INSTANCE_CPU_UTILISATION)",
         'expr=t.HOST_CPU.breached(q.host_cpu_usage(window=q.RATE_INTERVAL))')
    [line] = failing_build(project)
    assert line == (f"error: {HOST_RULES}: alert 'HostHighCpuUsage': $.groups[0].rules[0].expr: uses the Grafana "
                    "variable $__rate_interval, which Prometheus does not have: use a fixed window "
                    "(catalog.promql.RULE_WINDOW)")


def test_missing_annotation(project):
    edit(project, HOST, 'summary=f"Memory usage above {t.HOST_MEMORY.value:.0%} on {INSTANCE}",', "")
    [line] = failing_build(project)
    assert line == (f"error: {HOST_RULES}: alert 'HostHighMemoryUsage': $.groups[0].rules[1].annotations: "
                    "'summary' is a required property")


def test_missing_severity_label(project):
    edit(project, HOST, "severity=t.HOST_DISK.severity,", "")
    [line] = failing_build(project)
    assert line == (f"error: {HOST_RULES}: alert 'HostHighDiskUsage': $.groups[0].rules[2].labels: "
                    "'severity' is a required property")


def test_description_without_the_current_value(project):
    edit(project, HOST, 'description=f"{MOUNTPOINT} on {INSTANCE} is {PERCENT} full', 'description=f"Disk full')
    [line] = failing_build(project)
    assert line.startswith(f"error: {HOST_RULES}: alert 'HostHighDiskUsage': "
                           "$.groups[0].rules[2].annotations.description: 'Disk full")
    assert line.endswith("does not match '\\\\$value'")


def test_duplicate_alert_name_across_modules(project):
    edit(project, TARGETS, '"CadvisorDown"', '"HostHighCpuUsage"')
    [line] = failing_build(project)
    assert line == ("error: alerts/targets.py -> monitoring/prometheus/rules/targets.yml: alert 'HostHighCpuUsage': "
                    "$.groups[0].rules[3].alert: duplicate alert name, also in alerts/host.py group 'host'")


def test_route_naming_a_missing_receiver(project):
    edit(project, ROUTING, 'receiver=RECEIVER_FOR["critical"], group_wait=', 'receiver="pager", group_wait=')
    [line] = failing_build(project)
    assert line == ('error: alerts/alertmanager.py -> monitoring/alertmanager.yml: route {severity="critical"}: '
                    "$.route.routes[1].receiver: receiver 'pager' is not defined (receivers: oncall, team, deadman)")


def test_link_to_a_missing_panel(project):
    edit(project, HOST, 'PanelLink(SYSTEM, "Host CPU usage"', 'PanelLink(SYSTEM, "CPU"')
    [line] = failing_build(project)
    assert line == ("error: alerts/host.py: alert 'HostHighCpuUsage': panel: links to panel 'CPU', which "
                    "dashboard 'obs-system-overview' does not have")


def test_link_to_an_ambiguous_panel_title(project):
    """Two panels with one title (which `obs lint` refuses too): a link by that title names both."""
    edit(project, "dashboards/evaluation_analytics.py", '"Success rate now",', '"Success rate",')
    document = json.loads((project / "monitoring/grafana/dashboards/obs-evaluation-analytics.json").read_text())
    graph = next(p["id"] for p in document["panels"] if p["title"] == "Success rate")
    [line] = failing_build(project)
    assert re.fullmatch(r"error: alerts/evaluations.py: alert 'LowEvaluationSuccessRate': panel: panel title "
                        r"'Success rate' is ambiguous on dashboard 'obs-evaluation-analytics' \(stat id \d+, "
                        rf"timeseries id {graph}\): choose one with panel_type=", line), line


def test_link_to_a_missing_dashboard(project):
    edit(project, HOST, "SYSTEM = grafana.SYSTEM_OVERVIEW",
         "SYSTEM = grafana.DashboardRef(uid='obs-gone', title='Gone')")
    lines = failing_build(project)
    assert len(lines) == 3  # one per host alert
    assert lines[0] == ("error: alerts/host.py: alert 'HostHighCpuUsage': panel: links to dashboard 'obs-gone', "
                        "which dashboards/ does not build")


def test_recording_rule_not_named_level_metric_operations(project):
    edit(project, "alerts/recording.py", "RecordingRule(q.INSTANCE_MEMORY_UTILISATION,",
         'RecordingRule("node_memory_utilisation",')
    [line] = failing_build(project)
    assert line == ("error: alerts/recording.py -> monitoring/prometheus/rules/recording.yml: recording rule "
                    "'node_memory_utilisation': $.groups[2].rules[1].record: recording rule names are "
                    "level:metric:operations, e.g. job:evaluations_failed:ratio_rate5m")


def test_secret_pasted_into_the_routing(project):
    edit(project, ROUTING, "Slack(channel=TEAM_CHANNEL)",
         'Slack(channel=TEAM_CHANNEL, text="via https://hooks.slack.com/services/T000/B000/XXXX")')
    [line] = failing_build(project)
    assert line == ("error: alerts/alertmanager.py -> monitoring/alertmanager.yml: receiver 'team': "
                    "$.receivers[1].slack_configs[0].text: looks like a secret: read it from a file (*_file fields) "
                    "mounted at deploy time")


def test_module_without_rules(project):
    (project / "alerts/notes.py").write_text("TEXT = 'no rules here'\n")
    [line] = failing_build(project)
    assert line == ("error: alerts/notes.py: module: defines neither `groups` (a list of RuleGroup) nor "
                    "`alertmanager` (an Alertmanager)")


def test_stale_rule_file_is_reported_and_removed(project):
    stale = project / "monitoring/prometheus/rules/old.yml"
    stale.write_text("groups: []\n")
    result = run_obs("build", "--root", str(project), "--check")
    assert result.exit_code == 1
    assert "monitoring/prometheus/rules/old.yml: stale" in result.stderr
    assert run_obs("build", "--root", str(project)).exit_code == 0
    assert not stale.exists()


# --- obs validate on the committed files ---------------------------------------------------------------

def test_validate_runs_promtool_and_amtool_on_hand_edited_files(project):
    rules = project / "monitoring/prometheus/rules/host.yml"
    rules.write_text(rules.read_text().replace("expr: instance:node_cpu_utilisation:rate5m > 0.9",
                                               "expr: instance:node_cpu_utilisation:rate5m >> 0.9"))
    routing = project / "monitoring/alertmanager.yml"
    routing.write_text(routing.read_text().replace("  - receiver: oncall\n", "  - receiver: pager\n"))
    result = run_obs("validate", "--root", str(project))
    assert result.exit_code == 1
    errors = result.stderr
    assert "monitoring/prometheus/rules/host.yml: alert 'HostHighCpuUsage': $.groups[0].rules[0].expr: PromQL" in errors
    assert "monitoring/prometheus/rules: promtool check rules: monitoring/prometheus/rules/host.yml:" in errors
    assert "monitoring/alertmanager.yml: amtool check-config: " in errors
    assert 'route {severity="critical"}: $.route.routes[1].receiver: receiver \'pager\' is not defined' in errors


def test_validate_reports_duplicate_names_across_committed_files(project):
    rules = project / "monitoring/prometheus/rules/targets.yml"
    rules.write_text(rules.read_text().replace("alert: CadvisorDown", "alert: HostHighCpuUsage"))
    result = run_obs("validate", "--root", str(project))
    assert result.exit_code == 1
    assert ("error: monitoring/prometheus/rules/targets.yml: alert 'HostHighCpuUsage': $.groups[0].rules[3].alert: "
            "duplicate alert name, also in monitoring/prometheus/rules/host.yml group 'host'") in result.stderr
