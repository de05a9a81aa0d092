"""Checks on the compiled rule files and prometheus.yml: Prometheus's rule format and the project's
conventions (severity, annotations, level:metric:operations names), PromQL Prometheus can run, and names that
are unique across every rule file."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from obs.check.promql import VARIABLE, parse_error
from obs.core import schemas
from obs.core.errors import Problem, json_path
from obs.core.paths import RULES_DIR
from obs.core.serialize import load_yaml

# Every alert carries these annotations (and a severity label, which Alertmanager routes on); the schema says so.
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url", "dashboard_url")
# level:metric:operations, e.g. job:evaluations_failed:ratio_rate5m.
RECORDING_RULE_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+$")


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
    error = parse_error(expr)
    return f"PromQL does not parse: {error}" if error else None


def _findings(name: str, document: Any) -> list[tuple[list[str | int], str]]:
    validator = schemas.validator(name)
    assert validator is not None, f"{name} missing from the package"
    return validator.findings(document)


def check_rule_file(document: Any, file: str, path: str) -> list[Problem]:
    from catalog.thresholds import SEVERITIES

    problems = [Problem(file, _rule_object(document, at), json_path(at), message)
                for at, message in _findings("rules.schema.json", document)]
    for rule_path, _group, rule in rules_of(document):
        what = describe_rule(rule)
        severity = (rule.get("labels") or {}).get("severity") if isinstance(rule.get("labels"), dict) else None
        if "alert" in rule and isinstance(severity, str) and severity and severity not in SEVERITIES:
            problems.append(Problem(file, what, json_path([*rule_path, "labels", "severity"]),
                                    f"severity {severity!r} is not one of {', '.join(SEVERITIES)} "
                                    "(catalog/thresholds.py SEVERITIES): Alertmanager routes only those"))
        if "expr" in rule and (reason := expression_problem(rule["expr"])):
            problems.append(Problem(file, what, json_path([*rule_path, "expr"]), reason))
        record = rule.get("record")
        if isinstance(record, str) and not RECORDING_RULE_NAME.match(record):
            problems.append(Problem(file, what, json_path([*rule_path, "record"]),
                                    "recording rule names are level:metric:operations, e.g. "
                                    "job:evaluations_failed:ratio_rate5m"))
    return problems


def check_prometheus_config(document: Any, file: str, path: str) -> list[Problem]:
    return [Problem(file, "prometheus config", json_path(at), message)
            for at, message in _findings("prometheus.schema.json", document)]


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


def rule_names_unique(root: Path) -> list[Problem]:
    """What no single-file check can see: the same group, alert or recording rule name in two rule files."""
    files: dict[str, Any] = {}
    for path in sorted((root / RULES_DIR).glob("*.yml")):
        try:
            files[path.relative_to(root).as_posix()] = load_yaml(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue  # the file's own check reports it
    return duplicate_names(files)
