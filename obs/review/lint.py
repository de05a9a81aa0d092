"""`obs lint`: named rules over the compiled files, each with its reason and its fix.

Three sets: the Grafana dashboard-linter rules that fit this project, the alert style of the monitoring
mixins, and cross-artifact rules no single-file linter can have (a query's metric is in the catalog, a link
points at a dashboard and panel that exist, a datasource uid is provisioned).

Exclusions live in `lint-exclusions.yml`, each with a required reason.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obs.check.dashboard import variable_samples
from obs.check.promql import RATE_FUNCTIONS, parse_error, series_uses
from obs.core.documents import describe_dashboard_object, iter_strings, panel_at, panels_with_paths
from obs.core.errors import json_path
from obs.core.paths import DASHBOARD_DIR, DATASOURCES_FILE, LINT_EXCLUSIONS_FILE, RULES_DIR
from obs.core.serialize import load_yaml, parse_document, parse_failure

EXCLUSIONS_FILE = LINT_EXCLUSIONS_FILE
# Series Prometheus makes itself; a query may use them without a catalog entry.
BUILTIN_SERIES = frozenset({"ALERTS", "ALERTS_FOR_STATE", "up", "scrape_duration_seconds", "scrape_samples_scraped"})
CAMEL_CASE = re.compile(r"^[A-Z][a-zA-Z0-9]*$")
DASHBOARD_LINK = re.compile(r"/d/(?P<uid>[A-Za-z0-9_-]+)(?:/[^?\s\"']*)?(?:\?[^\s\"']*?viewPanel=(?P<panel>\d+))?")
# Distinct windows, so a parsed range can be traced back to the variable that produced it.
WINDOW_SENTINELS = {"__rate_interval": "997s", "__range": "998s", "__interval": "999s"}
RATE_INTERVAL_SENTINEL = "16m37s"


@dataclass(frozen=True)
class Finding:
    rule: str
    file: str
    obj: str
    path: str
    message: str
    # What an exclusion can match on.
    dashboard: str = ""
    panel: str = ""
    alert: str = ""

    def __str__(self) -> str:
        return f"{self.file}: {self.obj}: {self.path}: [{self.rule}] {self.message}"


@dataclass
class LintContext:
    root: Path
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> document
    rule_files: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> rules document
    datasources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def recording_rules(self) -> set[str]:
        return {rule["record"] for _, _, rule in self.rules() if "record" in rule}

    def rules(self) -> Iterator[tuple[str, list[str | int], dict[str, Any]]]:
        for file, document in self.rule_files.items():
            for g, group in enumerate((document or {}).get("groups") or []):
                for r, rule in enumerate(group.get("rules") or []):
                    yield file, ["groups", g, "rules", r], rule

    def alerts(self) -> Iterator[tuple[str, list[str | int], dict[str, Any]]]:
        return ((f, p, r) for f, p, r in self.rules() if "alert" in r)

    def targets(self) -> Iterator[tuple[str, dict[str, Any], list[str | int], dict[str, Any], dict[str, Any]]]:
        """(file, dashboard, path, panel, target) for every Prometheus query of every dashboard."""
        for file, document in self.dashboards.items():
            for panel, path in panels_with_paths(document):
                for index, target in enumerate(panel.get("targets") or []):
                    if "expr" in target:
                        yield file, document, [*path, "targets", index, "expr"], panel, target


@dataclass(frozen=True)
class Rule:
    name: str
    check: Callable[[LintContext], Iterator[Finding]]
    reason: str
    fix: str


def _panel_finding(rule_name: str, file: str, document: dict, path: list, message: str) -> Finding:
    panel = panel_at(document, path)
    panel_title = panel.get("title", "") if panel else ""
    return Finding(rule_name, file, describe_dashboard_object(document, path), json_path(path), message,
                   dashboard=document.get("uid", ""), panel=panel_title)


def _alert_finding(rule_name: str, file: str, path: list, alert: dict, message: str) -> Finding:
    name = alert.get("alert") or alert.get("record") or "?"
    kind = "alert" if "alert" in alert else "recording rule"
    return Finding(rule_name, file, f"{kind} {name!r}", json_path(path), message, alert=name)


# --- Dashboard rules (after grafana/dashboard-linter) ------------------------------------------------

def _panel_title(ctx: LintContext) -> Iterator[Finding]:
    for file, document in ctx.dashboards.items():
        for panel, path in panels_with_paths(document):
            if not panel.get("title"):
                yield _panel_finding("panel-title", file, document, [*path, "title"], "panel has no title")


def _panel_title_unique(ctx: LintContext) -> Iterator[Finding]:
    for file, document in ctx.dashboards.items():
        first: dict[str, dict[str, Any]] = {}
        for panel, path in panels_with_paths(document):
            title = panel.get("title")
            if not title or panel.get("type") == "row":
                continue
            if title in first:
                other = first[title]
                yield _panel_finding("panel-title-unique", file, document, [*path, "title"],
                                     f"title {title!r} is also the title of the {other.get('type')} panel id "
                                     f"{other.get('id')}")
            else:
                first[title] = panel


def _panel_description(ctx: LintContext) -> Iterator[Finding]:
    for file, document in ctx.dashboards.items():
        for panel, path in panels_with_paths(document):
            if panel.get("type") != "row" and not panel.get("description"):
                yield _panel_finding("panel-description", file, document, [*path, "description"],
                                     "panel has no description")


def _panel_units(ctx: LintContext) -> Iterator[Finding]:
    for file, document in ctx.dashboards.items():
        for panel, path in panels_with_paths(document):
            if panel.get("type") in ("row", "text"):
                continue
            if not ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit"):
                yield _panel_finding("panel-units", file, document, [*path, "fieldConfig", "defaults", "unit"],
                                     "panel has no unit")


def _template_datasource(ctx: LintContext) -> Iterator[Finding]:
    for file, document in ctx.dashboards.items():
        variables = (document.get("templating") or {}).get("list") or []
        if not any(v.get("type") == "datasource" and v.get("query") == "prometheus" for v in variables):
            yield Finding("template-datasource", file, f"dashboard {document.get('uid')!r}", "$.templating.list",
                          "no Prometheus datasource variable", dashboard=document.get("uid", ""))


def _panel_datasource_variable(ctx: LintContext) -> Iterator[Finding]:
    for file, document, path, _panel, target in ctx.targets():
        datasource = target.get("datasource") or {}
        if datasource.get("type") == "prometheus" and not str(datasource.get("uid", "")).startswith("$"):
            yield _panel_finding("panel-datasource-variable", file, document, [*path[:-1], "datasource"],
                                 f"Prometheus query pinned to uid {datasource.get('uid')!r}")


def _target_promql(ctx: LintContext) -> Iterator[Finding]:
    for file, document, path, _panel, target in ctx.targets():
        error = parse_error(target["expr"], variable_samples(document))
        if error:
            yield _panel_finding("target-promql", file, document, path, f"PromQL does not parse: {error}")


def _uses(expr: str, samples: dict[str, str]):
    try:
        return series_uses(expr, {**samples, **WINDOW_SENTINELS})
    except ValueError:
        return []  # target-promql reports it


def _is_counter(name: str) -> bool:
    return name.endswith(("_total", "_bucket", "_count", "_sum")) and ":" not in name


def counted_series(expr: str, samples: dict[str, str]) -> set[str]:
    """Names of the series an expression only counts (`count(x)`, `count_over_time(x[...])`): their values, which
    a raw counter makes meaningless, do not matter."""
    import promql_parser

    from obs.check.promql import substitute

    found: set[str] = set()

    def walk(node: object, counting: bool) -> None:
        if isinstance(node, promql_parser.VectorSelector | promql_parser.MatrixSelector):
            selector = node.vector_selector if isinstance(node, promql_parser.MatrixSelector) else node
            if counting and selector.name:
                found.add(selector.name)
        elif isinstance(node, promql_parser.AggregateExpr):
            walk(node.expr, str(node.op) == "count")
        elif isinstance(node, promql_parser.Call):
            for argument in node.args:
                walk(argument, node.func.name == "count_over_time")
        elif isinstance(node, promql_parser.BinaryExpr):
            walk(node.lhs, False)
            walk(node.rhs, False)
        elif isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
            walk(node.expr, counting)

    with contextlib.suppress(ValueError):  # target-promql reports it
        walk(promql_parser.parse(substitute(expr, {**samples, **WINDOW_SENTINELS})), False)
    return found


def _target_counter_agg(ctx: LintContext) -> Iterator[Finding]:
    for file, document, path, _panel, target in ctx.targets():
        samples = variable_samples(document)
        counted = counted_series(target["expr"], samples)
        for use in _uses(target["expr"], samples):
            if _is_counter(use.name) and use.function not in RATE_FUNCTIONS and use.name not in counted:
                yield _panel_finding("target-counter-agg", file, document, path,
                                     f"counter {use.name} is used without rate()/increase()")


def _target_rate_interval(ctx: LintContext) -> Iterator[Finding]:
    for file, document, path, _panel, target in ctx.targets():
        for use in _uses(target["expr"], variable_samples(document)):
            if use.function in ("rate", "irate") and use.range != RATE_INTERVAL_SENTINEL:
                yield _panel_finding("target-rate-interval", file, document, path,
                                     f"{use.function}({use.name}[...]) does not use $__rate_interval")


# --- Alert rules (after the monitoring mixins' style guide) -------------------------------------------

def _alert_name(ctx: LintContext) -> Iterator[Finding]:
    for file, path, alert in ctx.alerts():
        if not CAMEL_CASE.match(alert["alert"]):
            yield _alert_finding("alert-name-camelcase", file, [*path, "alert"], alert, "alert name is not CamelCase")


def _alert_severity(ctx: LintContext) -> Iterator[Finding]:
    from catalog.thresholds import SEVERITIES

    for file, path, alert in ctx.alerts():
        severity = (alert.get("labels") or {}).get("severity")
        if severity not in SEVERITIES:
            yield _alert_finding("alert-severity", file, [*path, "labels", "severity"], alert,
                                 f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")


def _alert_annotations(ctx: LintContext) -> Iterator[Finding]:
    for file, path, alert in ctx.alerts():
        annotations = alert.get("annotations") or {}
        for key in ("summary", "description"):
            if not annotations.get(key):
                yield _alert_finding("alert-summary-description", file, [*path, "annotations", key], alert,
                                     f"no {key} annotation")


def _alert_runbook(ctx: LintContext) -> Iterator[Finding]:
    for file, path, alert in ctx.alerts():
        if not (alert.get("annotations") or {}).get("runbook_url"):
            yield _alert_finding("alert-runbook-url", file, [*path, "annotations", "runbook_url"], alert,
                                 "no runbook_url annotation")


# --- Cross-artifact rules ------------------------------------------------------------------------------

def _metric_in_catalog(ctx: LintContext) -> Iterator[Finding]:
    from catalog.metrics import series_names

    known = series_names() | BUILTIN_SERIES | ctx.recording_rules
    for file, document, path, _panel, target in ctx.targets():
        for use in _uses(target["expr"], variable_samples(document)):
            if use.name and ":" not in use.name and use.name not in known:
                yield _panel_finding("metric-in-catalog", file, document, path,
                                     f"metric {use.name} is not in the metrics catalog")
    for file, path, alert in ctx.rules():
        for use in _uses(str(alert.get("expr", "")), {}):
            if use.name and ":" not in use.name and use.name not in known:
                yield _alert_finding("metric-in-catalog", file, [*path, "expr"], alert,
                                     f"metric {use.name} is not in the metrics catalog")


def _recording_rule_defined(ctx: LintContext) -> Iterator[Finding]:
    defined = ctx.recording_rules
    for file, document, path, _panel, target in ctx.targets():
        for use in _uses(target["expr"], variable_samples(document)):
            if ":" in use.name and use.name not in defined:
                yield _panel_finding("recording-rule-defined", file, document, path,
                                     f"recording rule {use.name} is not defined")
    for file, path, alert in ctx.rules():
        for use in _uses(str(alert.get("expr", "")), {}):
            if ":" in use.name and use.name not in defined:
                yield _alert_finding("recording-rule-defined", file, [*path, "expr"], alert,
                                     f"recording rule {use.name} is not defined")


def _link_target_exists(ctx: LintContext) -> Iterator[Finding]:
    panels_by_uid = {doc.get("uid"): {p.get("id") for p, _ in panels_with_paths(doc)}
                     for doc in ctx.dashboards.values()}

    def problems(text: str) -> Iterator[str]:
        for match in DASHBOARD_LINK.finditer(text):
            uid, panel = match.group("uid"), match.group("panel")
            if uid not in panels_by_uid:
                yield f"links to dashboard uid {uid!r}, which does not exist"
            elif panel is not None and int(panel) not in panels_by_uid[uid]:
                yield f"links to panel {panel} of {uid!r}, which has no such panel"

    for file, document in ctx.dashboards.items():
        for path, text in iter_strings(document, []):
            if path and path[-1] in ("url", "uri"):
                for message in problems(text):
                    yield _panel_finding("link-target-exists", file, document, path, message)
    for file, path, alert in ctx.rules():
        for sub_path, text in iter_strings(alert.get("annotations") or {}, []):
            for message in problems(text):
                yield _alert_finding("link-target-exists", file, [*path, "annotations", *sub_path], alert, message)


def _datasource_provisioned(ctx: LintContext) -> Iterator[Finding]:
    provisioned = {d.get("uid") for d in ctx.datasources}
    for file, document in ctx.dashboards.items():
        for path, text in iter_strings(document, []):
            is_reference = len(path) >= 2 and path[-2] == "datasource" and path[-1] == "uid"
            if is_reference and not text.startswith(("$", "-- ")) and text not in provisioned:
                yield _panel_finding("datasource-provisioned", file, document, path,
                                     f"datasource uid {text!r} is not provisioned")


# Every rule, in the order `obs lint --list-rules` shows them.
RULES: tuple[Rule, ...] = (
    Rule("panel-title", _panel_title,
         reason="A panel without a title cannot be referred to in a review, an alert or a link.",
         fix="Give the panel a title."),
    Rule("panel-title-unique", _panel_title_unique,
         reason="A panel is named by its title in reviews, `obs verify` rows and alert links: two panels of one "
                "dashboard with one title are two things with one name.",
         fix="Make the titles say what differs (\"Success rate now\" for the stat, \"Success rate\" for the graph)."),
    Rule("panel-description", _panel_description,
         reason="The on-call reader needs to know what a panel shows and what 'bad' looks like.",
         fix="Pass description= to the panel builder."),
    Rule("panel-units", _panel_units,
         reason="A number without a unit is misread (seconds or milliseconds? ratio or percent?).",
         fix="Pass unit= with a Grafana unit id (percentunit, s, bytes, Bps, short, ...)."),
    Rule("template-datasource", _template_datasource,
         reason="A datasource variable lets the same dashboard query another Prometheus (staging, a replica).",
         fix="Add obs.author.variables.datasource_variable() to the dashboard's templating."),
    Rule("panel-datasource-variable", _panel_datasource_variable,
         reason="A Prometheus query pinned to a datasource uid ignores the dashboard's datasource variable.",
         fix="Use obs.author.panels.target(), which queries through ${datasource}."),
    Rule("target-promql", _target_promql,
         reason="A query that does not parse shows an error instead of data.",
         fix="Fix the expression; `obs lint` parses it with Grafana variables substituted."),
    Rule("target-counter-agg", _target_counter_agg,
         reason="A raw counter only ever grows and resets on restart; its value means nothing on a graph.",
         fix="Wrap the counter in rate() (or increase()/resets() over $__range)."),
    Rule("target-rate-interval", _target_rate_interval,
         reason="$__rate_interval is always at least four scrape intervals: rate() never comes back empty when "
                "zoomed in, and never skips samples when zoomed out.",
         fix="Use [$__rate_interval] as the range of rate() and irate()."),
    Rule("alert-name-camelcase", _alert_name,
         reason="Mixin convention: alert names are CamelCase, so they read as one word in notifications and "
                "silences.",
         fix="Rename the alert, e.g. HighEvaluationFailureRate."),
    Rule("alert-severity", _alert_severity,
         reason="Routing and inhibition key on severity; an unknown value reaches nobody.",
         fix="Set labels.severity to one of catalog/thresholds.py SEVERITIES, the severities Alertmanager routes."),
    Rule("alert-summary-description", _alert_annotations,
         reason="The notification shows the summary; the description says what is wrong and by how much.",
         fix="Add annotations.summary and annotations.description (with {{ $value }})."),
    Rule("alert-runbook-url", _alert_runbook,
         reason="At 3 a.m. the on-call engineer needs the next step, not a guess.",
         fix="Add annotations.runbook_url."),
    Rule("metric-in-catalog", _metric_in_catalog,
         reason="A metric name typed by hand is the classic cause of a panel that shows 'No data' forever; the "
                "catalog is the list of metrics that exist.",
         fix="Refer to the metric through catalog.metrics, adding it there if it is new."),
    Rule("recording-rule-defined", _recording_rule_defined,
         reason="A dashboard or alert that reads a recording rule nobody defines is empty.",
         fix="Define the rule in alerts/ or query the raw metric."),
    Rule("link-target-exists", _link_target_exists,
         reason="A link to a renamed dashboard or a removed panel is a dead end when it matters most.",
         fix="Build links from catalog.grafana dashboard refs and panel titles, not by hand."),
    Rule("datasource-provisioned", _datasource_provisioned,
         reason="A panel bound to a datasource uid Grafana does not have shows an error.",
         fix="Use the uids in catalog.grafana, which datasources/ provisions, or the ${datasource} variable."),
)


# --- Running -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exclusion:
    rule: str
    reason: str
    dashboard: str = ""
    panel: str = ""
    alert: str = ""

    def matches(self, finding: Finding) -> bool:
        return (finding.rule == self.rule
                and (not self.dashboard or self.dashboard == finding.dashboard)
                and (not self.panel or self.panel == finding.panel)
                and (not self.alert or self.alert == finding.alert))


class LintConfigError(ValueError):
    """The exclusions file or a compiled file cannot be read: one line each."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("; ".join(lines))


def load_exclusions(root: Path) -> list[Exclusion]:
    path = root / EXCLUSIONS_FILE
    if not path.is_file():
        return []
    try:
        document = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise LintConfigError([f"{EXCLUSIONS_FILE}: does not parse: {parse_failure(error)}"]) from None
    if not isinstance(document, dict):
        raise LintConfigError([f"{EXCLUSIONS_FILE}: must be a mapping with an `exclusions` list"])
    names = {r.name for r in RULES}
    out = []
    for index, entry in enumerate(document.get("exclusions") or []):
        where = f"{EXCLUSIONS_FILE}: exclusions[{index}]"
        if not isinstance(entry, dict):
            raise LintConfigError([f"{where}: must be a mapping"])
        unknown = set(entry) - {"rule", "reason", "dashboard", "panel", "alert"}
        if unknown:
            raise LintConfigError([f"{where}: unknown field(s) {', '.join(sorted(unknown))}"])
        if entry.get("rule") not in names:
            raise LintConfigError([f"{where}.rule: unknown rule {entry.get('rule')!r}"])
        if not str(entry.get("reason") or "").strip():
            raise LintConfigError([f"{where}.reason: every exclusion needs a reason"])
        out.append(Exclusion(**{k: str(v) for k, v in entry.items()}))
    return out


def compiled_inputs(root: Path) -> list[Path]:
    """The compiled files lint reads: dashboards and rule files."""
    return sorted((root / DASHBOARD_DIR).glob("*.json")) + sorted((root / RULES_DIR).glob("*.yml"))


def load_context(root: Path) -> LintContext:
    """The compiled files lint reads; a file that does not parse (or is not the kind of document its path
    says) is one line of LintConfigError, not a traceback."""
    ctx = LintContext(root=root)
    unreadable: list[str] = []

    def read(path: Path) -> dict[str, Any] | None:
        relative = path.relative_to(root).as_posix()
        try:
            document = parse_document(relative, path.read_text(encoding="utf-8"))
        except Exception as error:  # json's ValueError, yaml's YAMLError, a decoding error
            unreadable.append(f"{relative}: does not parse: {parse_failure(error)}")
            return None
        if document is None and not relative.endswith(".json"):
            return {}
        if not isinstance(document, dict):
            unreadable.append(f"{relative}: must be a mapping, got {type(document).__name__}")
            return None
        return document

    for path in sorted((root / DASHBOARD_DIR).glob("*.json")):
        if (document := read(path)) is not None:
            ctx.dashboards[path.relative_to(root).as_posix()] = document
    for path in sorted((root / RULES_DIR).glob("*.yml")):
        if (document := read(path)) is not None:
            ctx.rule_files[path.relative_to(root).as_posix()] = document
    datasources = root / DATASOURCES_FILE
    if datasources.is_file() and (document := read(datasources)) is not None:
        ctx.datasources = document.get("datasources") or []
    if unreadable:
        raise LintConfigError(unreadable)
    return ctx


def lint(root: Path, only: set[str] | None = None) -> tuple[list[Finding], int]:
    """Findings left after exclusions, and the number excluded."""
    ctx = load_context(root)
    exclusions = load_exclusions(root)
    findings: list[Finding] = []
    excluded = 0
    for lint_rule in RULES:
        if only and lint_rule.name not in only:
            continue
        for finding in lint_rule.check(ctx):
            if any(e.matches(finding) for e in exclusions):
                excluded += 1
            else:
                findings.append(finding)
    return sorted(set(findings), key=lambda f: (f.file, f.path, f.rule, f.message)), excluded


def lint_dashboard(root: Path, document: dict[str, Any], file: str) -> dict[tuple[Any, ...] | None, list[str]]:
    """The findings for one dashboard that is not compiled yet (`obs import` lists them in the module it writes),
    as `obs lint` would report them once it is: the project's compiled files around it, its exclusions
    applied. Keyed by the JSON path of the panel each is about (None: the dashboard), as "[rule] message"."""
    try:
        ctx = load_context(root)
        exclusions = load_exclusions(root)
    except LintConfigError:
        ctx, exclusions = LintContext(root=root), []
    ctx.dashboards = {**{f: d for f, d in ctx.dashboards.items() if d.get("uid") != document.get("uid")},
                      file: document}
    found: dict[tuple[Any, ...] | None, list[str]] = {}
    for lint_rule in RULES:
        for finding in lint_rule.check(ctx):
            if finding.file != file or any(e.matches(finding) for e in exclusions):
                continue
            key = _panel_key(finding.path)
            text = f"[{finding.rule}] {finding.message}"
            if text not in found.setdefault(key, []):
                found[key].append(text)
    return found


def _panel_key(path: str) -> tuple[Any, ...] | None:
    parts: list[Any] = [int(index) if index else key for key, index in re.findall(r"\.(\w+)|\[(\d+)\]", path)]
    if parts[:1] != ["panels"] or len(parts) < 2:
        return None
    if len(parts) >= 4 and parts[2] == "panels" and isinstance(parts[3], int):
        return tuple(parts[:4])
    return tuple(parts[:2])
