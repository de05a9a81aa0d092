"""Prometheus alerting and recording rules as Python, and the Prometheus configuration that loads them.

Content: every module in alerts/ exposes `groups`, a list of RuleGroup (alerts/alertmanager.py exposes
`alertmanager` instead, see obs/alertmanager.py). The build stage compiles

- the groups of alerts/<name>.py to monitoring/prometheus/rules/<name>.yml;
- monitoring/prometheus.yml: the scrape jobs of catalog/jobs.py, the rule files as mounted in the Prometheus
  container, and the Alertmanager to send alerts to;
- monitoring/alertmanager.yml.

An alert's dashboard link (PanelLink) is resolved against the dashboards compiled earlier in the same build,
so it cannot point at a dashboard or a panel that does not exist. Everything else about a compiled rule file
(the format, the required labels and annotations, the PromQL) is checked on the file, so `obs validate` checks
a hand-edited file exactly as the build checks a fresh one.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import promql_parser
import yaml

from catalog import jobs
from catalog.grafana import GRAFANA_URL, DashboardRef
from obs import alertmanager as am
from obs.artifacts import PROMETHEUS_FILE, RULES_DIR, Artifact, checker, tool_check, yaml_text
from obs.build import BuildContext, register_stage
from obs.errors import Problem, json_path
from obs.loader import import_content
from obs.promql import VARIABLE
from obs.validate_dashboard import panels_with_paths

ALERTS_DIR = "alerts"
# In the Prometheus container the configuration is /etc/prometheus/prometheus.yml and RULES_DIR is mounted at
# /etc/prometheus/rules. Prometheus resolves rule_files against the configuration file's directory, so the
# relative glob finds the rules there, and finds them in a copy laid out the same way (what promtool checks).
PROMETHEUS_CONFIG_MOUNT = "/etc/prometheus/prometheus.yml"
RULES_MOUNT = "/etc/prometheus/rules"
RULE_FILES = "rules/*.yml"
ALERTMANAGER_ADDRESS = "alertmanager:9093"
# Every alert carries these annotations (and a severity label, which Alertmanager routes on); the schema says so.
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url", "dashboard_url")
# level:metric:operations, e.g. job:evaluations_failed:ratio_rate5m.
RECORDING_RULE_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+$")
INSTALL_HINT = "apt-get install prometheus prometheus-alertmanager"


# --- The model ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PanelLink:
    """The dashboard panel that shows what an alert measures; compiled to the `dashboard_url` annotation.

    `panel_type` picks one panel where several share the title (a stat and a timeseries "Success rate").
    `variables` are alert labels passed on as the dashboard variables of the same name (`&var-job=...`).
    """

    dashboard: DashboardRef
    panel_title: str
    panel_type: str | None = None
    variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    for_: str = ""
    severity: str = ""
    summary: str = ""
    description: str = ""  # a template; say what is wrong and by how much ({{ $value }})
    panel: PanelLink | None = None  # the dashboard panel that shows it
    runbook_url: str = ""  # default: the group's runbooks page, at the alert's section
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordingRule:
    record: str  # level:metric:operations
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: Sequence[AlertRule | RecordingRule]
    interval: str = ""  # default: Prometheus's evaluation_interval
    labels: Mapping[str, str] = field(default_factory=dict)  # added to every alert of the group
    runbooks: str = ""  # a page with one section per alert: an alert's runbook_url is <runbooks>#<alert name>

    def runbook_url(self, rule: AlertRule) -> str:
        if rule.runbook_url or not self.runbooks:
            return rule.runbook_url
        return f"{self.runbooks}#{rule.alert.lower()}"  # the anchor Markdown renderers give a heading


# --- Loading the content --------------------------------------------------------------------------------

@dataclass
class AlertContent:
    groups: list[tuple[str, RuleGroup]] = field(default_factory=list)  # (source module, group)
    alertmanagers: list[tuple[str, am.Alertmanager]] = field(default_factory=list)


def load_alert_content(root: Path) -> tuple[AlertContent, list[Problem]]:
    """Import each module of alerts/ once and take its `groups` and/or `alertmanager`."""
    content = AlertContent()
    problems: list[Problem] = []
    for source, module in import_content(root, ALERTS_DIR, problems):
        if not hasattr(module, "groups") and not hasattr(module, "alertmanager"):
            problems.append(Problem(source, "module", "", "defines neither `groups` (a list of RuleGroup) nor "
                                                          "`alertmanager` (an Alertmanager)"))
        groups = getattr(module, "groups", [])
        for group in groups if isinstance(groups, list | tuple) else [groups]:
            if isinstance(group, RuleGroup):
                content.groups.append((source, group))
            else:
                problems.append(Problem(source, "module", "", f"`groups` must hold RuleGroups, got "
                                                              f"{type(group).__name__}"))
        if hasattr(module, "alertmanager"):
            if isinstance(module.alertmanager, am.Alertmanager):
                content.alertmanagers.append((source, module.alertmanager))
            else:
                problems.append(Problem(source, "module", "", f"`alertmanager` must be an Alertmanager, got "
                                                              f"{type(module.alertmanager).__name__}"))
    return content, problems


# --- Compiling ------------------------------------------------------------------------------------------

def resolve_panel_link(link: PanelLink, dashboards: Mapping[str, dict[str, Any]]) -> tuple[str, str | None]:
    """The panel's URL, and a reason when the dashboard or the panel does not exist (the URL then opens the
    dashboard, so the file stays well formed while the build fails on the reason)."""
    base = f"{GRAFANA_URL}{link.dashboard.path}"
    document = dashboards.get(link.dashboard.uid)
    if document is None:
        return base, f"links to dashboard {link.dashboard.uid!r}, which dashboards/ does not build"
    kind = f" {link.panel_type}" if link.panel_type else ""
    panels = [panel for panel, _ in panels_with_paths(document)
              if panel.get("type") != "row" and panel.get("title") == link.panel_title
              and link.panel_type in (None, panel.get("type"))]
    if not panels:
        return base, f"links to{kind} panel {link.panel_title!r}, which dashboard {link.dashboard.uid!r} does not have"
    if len(panels) > 1:
        found = ", ".join(f"{p.get('type')} id {p.get('id')}" for p in panels)
        return base, (f"panel title {link.panel_title!r} is ambiguous on dashboard {link.dashboard.uid!r} ({found}): "
                      "choose one with panel_type=")
    names = {v.get("name") for v in (document.get("templating") or {}).get("list") or []}
    missing = [name for name in link.variables if name not in names]
    if missing:
        return base, f"dashboard {link.dashboard.uid!r} has no variable {missing[0]!r}"
    query = "".join(f"&var-{name}={{{{ $labels.{name} | urlquery }}}}" for name in link.variables)
    return f"{base}?viewPanel={panels[0]['id']}{query}", None


def compile_alert(rule: AlertRule, group: RuleGroup, dashboard_url: str) -> dict[str, Any]:
    """Empty fields are left out, so the file's schema names what is missing."""
    labels = {"severity": rule.severity, **group.labels, **rule.labels}
    annotations = {"summary": rule.summary, "description": rule.description,
                   "runbook_url": group.runbook_url(rule), "dashboard_url": dashboard_url, **rule.annotations}
    document: dict[str, Any] = {"alert": rule.alert, "expr": rule.expr}
    if rule.for_:
        document["for"] = rule.for_
    document["labels"] = {key: value for key, value in labels.items() if value}
    document["annotations"] = {key: value for key, value in annotations.items() if value}
    return document


def compile_recording(rule: RecordingRule) -> dict[str, Any]:
    document: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
    if rule.labels:
        document["labels"] = dict(rule.labels)
    return document


def prometheus_document() -> dict[str, Any]:
    def scrape_config(job: jobs.ScrapeJob) -> dict[str, Any]:
        config: dict[str, Any] = {"job_name": job.name}
        if job.scrape_interval:
            config["scrape_interval"] = job.scrape_interval
        config["metrics_path"] = job.metrics_path
        config["static_configs"] = [{"targets": [job.address]}]
        return config

    return {
        # Rules evaluate as often as the slowest job is scraped: a faster evaluation sees no new samples.
        "global": {"scrape_interval": jobs.GLOBAL_SCRAPE_INTERVAL, "evaluation_interval": jobs.GLOBAL_SCRAPE_INTERVAL},
        "rule_files": [RULE_FILES],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [ALERTMANAGER_ADDRESS]}]}]},
        "scrape_configs": [scrape_config(job) for job in jobs.SCRAPE_JOBS],
    }


def alerting_stage(ctx: BuildContext) -> None:
    # A dashboard that failed to build is reported by the dashboards stage; the alerts linking to it are not
    # reported again, so the one line to read is the dashboard's own.
    dashboards_failed = any(problem.file.startswith("dashboards/") for problem in ctx.problems)
    content, problems = load_alert_content(ctx.root)
    ctx.problems += problems
    by_source: dict[str, list[dict[str, Any]]] = {}
    for source, group in content.groups:
        rules: list[dict[str, Any]] = []
        for rule in group.rules:
            if isinstance(rule, RecordingRule):
                rules.append(compile_recording(rule))
                continue
            url = ""
            if rule.panel is not None:
                url, reason = resolve_panel_link(rule.panel, ctx.dashboards)
                if reason and not (dashboards_failed and rule.panel.dashboard.uid not in ctx.dashboards):
                    ctx.problems.append(Problem(source, f"alert {rule.alert!r}", "panel", reason))
            rules.append(compile_alert(rule, group, url))
        document: dict[str, Any] = {"name": group.name}
        if group.interval:
            document["interval"] = group.interval
        document["rules"] = rules
        by_source.setdefault(source, []).append(document)
    compiled: dict[str, dict[str, Any]] = {}
    for source, groups in by_source.items():
        path = f"{RULES_DIR}/{Path(source).stem}.yml"
        compiled[f"{source} -> {path}"] = {"groups": groups}
        ctx.artifacts.append(Artifact(path, yaml_text({"groups": groups}, source), source))
    ctx.problems += duplicate_names(compiled)
    ctx.artifacts.append(Artifact(PROMETHEUS_FILE, yaml_text(prometheus_document(), "catalog/jobs.py"),
                                  "catalog/jobs.py"))
    if len(content.alertmanagers) != 1:
        where = ", ".join(source for source, _ in content.alertmanagers) or f"{ALERTS_DIR}/"
        ctx.problems.append(Problem(where, "alertmanager", "", f"exactly one module must define `alertmanager`, "
                                                               f"found {len(content.alertmanagers)}"))
    for source, config in content.alertmanagers[:1]:
        ctx.artifacts.append(Artifact(am.ALERTMANAGER_FILE, yaml_text(am.compile_alertmanager(config), source),
                                      source))


register_stage(alerting_stage)


# --- Checks on the compiled files -----------------------------------------------------------------------

@cache
def schema_validator(name: str) -> jsonschema.Draft7Validator:
    resource = resources.files("obs") / "schemas" / name
    return jsonschema.Draft7Validator(json.loads(resource.read_text(encoding="utf-8")))


def rules_of(document: Any):
    """(path, group, rule) for every well-formed rule of a rule file."""
    groups = document.get("groups") if isinstance(document, dict) else None
    for g, group in enumerate(groups if isinstance(groups, list) else []):
        rules = group.get("rules") if isinstance(group, dict) else None
        for r, rule in enumerate(rules if isinstance(rules, list) else []):
            if isinstance(rule, dict):
                yield ["groups", g, "rules", r], group, rule


def describe_rule(rule: dict[str, Any]) -> str:
    if "alert" in rule:
        return f"alert {rule['alert']!r}"
    return f"recording rule {rule.get('record', '?')!r}"


def _rule_object(document: Any, path: Sequence[str | int]) -> str:
    """Name the rule (or group) a JSON path points into."""
    node: Any = document
    name = "rule file"
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and ("alert" in node or "record" in node):
            return describe_rule(node)
        if isinstance(node, dict) and "rules" in node:
            name = f"group {node.get('name')!r}"
    return name


def expression_problem(expr: Any) -> str | None:
    """Why a rule's expression is not PromQL Prometheus can run, or None."""
    if not isinstance(expr, str) or not expr.strip():
        return "empty expression"
    if match := VARIABLE.search(expr):
        return (f"uses the Grafana variable {match.group(0)}, which Prometheus does not have: use a fixed window "
                "(catalog.promql.RULE_WINDOW)")
    try:
        promql_parser.parse(expr)
    except ValueError as error:
        return f"PromQL does not parse: {str(error) or 'syntax error'}"
    return None


@checker(f"{RULES_DIR}/*.yml")
def check_rule_file(document: Any, file: str, path: str) -> list[Problem]:
    problems = [Problem(file, _rule_object(document, list(e.absolute_path)), json_path(list(e.absolute_path)),
                        e.message) for e in schema_validator("rules.schema.json").iter_errors(document)]
    for rule_path, _group, rule in rules_of(document):
        what = describe_rule(rule)
        if "expr" in rule and (reason := expression_problem(rule["expr"])):
            problems.append(Problem(file, what, json_path([*rule_path, "expr"]), reason))
        record = rule.get("record")
        if isinstance(record, str) and not RECORDING_RULE_NAME.match(record):
            problems.append(Problem(file, what, json_path([*rule_path, "record"]),
                                    "recording rule names are level:metric:operations, e.g. "
                                    "job:evaluations_failed:ratio_rate5m"))
    return problems


@checker(PROMETHEUS_FILE)
def check_prometheus_config(document: Any, file: str, path: str) -> list[Problem]:
    return [Problem(file, "prometheus config", json_path(list(e.absolute_path)), e.message)
            for e in schema_validator("prometheus.schema.json").iter_errors(document)]


def duplicate_names(files: Mapping[str, Any]) -> list[Problem]:
    """Group names, alert names and recorded series are unique across all rule files. `files` maps the name a
    problem gives the file ("alerts/host.py -> monitoring/prometheus/rules/host.yml") to its document; the later
    of two is reported, naming the module (or file) and group of the first."""
    nouns = {"group": "group name", "alert": "alert name", "record": "recording rule"}
    problems: list[Problem] = []
    seen: dict[tuple[str, Any], str] = {}
    for file, document in files.items():
        groups = document.get("groups") if isinstance(document, dict) else None
        named = [("group", group.get("name"), ["groups", g, "name"], group)
                 for g, group in enumerate(groups if isinstance(groups, list) else []) if isinstance(group, dict)]
        named += [(key, rule[key], [*path, key], group) for path, group, rule in rules_of(document)
                  for key in ("alert", "record") if key in rule]
        for kind, name, path, group in named:
            if (kind, name) in seen:
                what = "recording rule" if kind == "record" else kind
                problems.append(Problem(file, f"{what} {name!r}", json_path(path),
                                        f"duplicate {nouns[kind]}, also in {seen[(kind, name)]}"))
            else:
                seen[(kind, name)] = f"{file.split(' -> ')[0]} group {group.get('name')!r}"
    return problems


# --- Checks with the real tools (obs validate) ----------------------------------------------------------

def missing_tool(name: str) -> Problem:
    return Problem(name, "", "", f"not installed, so the files were not checked with it: {INSTALL_HINT}")


def run_tool(args: Sequence[str], cwd: Path) -> tuple[int, list[str]]:
    """Exit code and the non-empty lines of the tool's output."""
    result = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    return result.returncode, [line.strip() for line in (result.stdout + "\n" + result.stderr).splitlines()
                               if line.strip()]


def tool_problems(file: str, command: str, lines: list[str]) -> list[Problem]:
    """One problem per line of the tool's complaint, its own Checking/SUCCESS chatter dropped."""
    noise = ("Checking ", "SUCCESS", "FAILED:", "Found:", "- ", "Warning: --config.file")
    kept = [line for line in lines if not line.startswith(noise)]
    return [Problem(file, command, "", line) for line in kept] or [Problem(file, command, "", "failed")]


@tool_check
def promtool_checks(root: Path) -> list[Problem]:
    """`promtool check rules` on every rule file, and `promtool check config` on a copy of prometheus.yml laid
    out as in the container (rules/ next to it), so that it loads the very rule files Prometheus will."""
    rule_files = sorted(p.relative_to(root).as_posix() for p in (root / RULES_DIR).glob("*.yml"))
    config = root / PROMETHEUS_FILE
    if not rule_files and not config.is_file():
        return []
    promtool = shutil.which("promtool")
    if promtool is None:
        return [missing_tool("promtool")]
    problems: list[Problem] = []
    if rule_files:
        code, lines = run_tool([promtool, "check", "rules", *rule_files], root)
        if code != 0:
            problems += tool_problems(RULES_DIR, "promtool check rules", lines)
    if config.is_file():
        with tempfile.TemporaryDirectory(prefix="obs-promtool-") as directory:
            copy = Path(directory)
            rules = copy / Path(RULES_MOUNT).relative_to(Path(PROMETHEUS_CONFIG_MOUNT).parent)
            rules.mkdir()
            shutil.copy(config, copy / Path(PROMETHEUS_CONFIG_MOUNT).name)
            for rule_file in rule_files:
                shutil.copy(root / rule_file, rules)
            code, lines = run_tool([promtool, "check", "config", Path(PROMETHEUS_CONFIG_MOUNT).name], copy)
        if code != 0:
            problems += tool_problems(PROMETHEUS_FILE, "promtool check config", lines)
        elif f"SUCCESS: {len(rule_files)} rule files found" not in lines:
            problems.append(Problem(PROMETHEUS_FILE, "promtool check config", "$.rule_files",
                                    f"does not load the {len(rule_files)} files of {RULES_DIR} when they are "
                                    f"mounted at {RULES_MOUNT}"))
    return problems


@tool_check
def amtool_check(root: Path) -> list[Problem]:
    if not (root / am.ALERTMANAGER_FILE).is_file():
        return []
    amtool = shutil.which("amtool")
    if amtool is None:
        return [missing_tool("amtool")]
    code, lines = run_tool([amtool, "check-config", am.ALERTMANAGER_FILE], root)
    return tool_problems(am.ALERTMANAGER_FILE, "amtool check-config", lines) if code != 0 else []


@tool_check
def rule_names_unique(root: Path) -> list[Problem]:
    """What no single-file check can see: the same group, alert or recording rule name in two rule files."""
    files: dict[str, Any] = {}
    for path in sorted((root / RULES_DIR).glob("*.yml")):
        try:
            files[path.relative_to(root).as_posix()] = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue  # the file's own check reports it
    return duplicate_names(files)
