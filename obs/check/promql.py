"""Parse PromQL with a real parser (promql-parser, bindings to the Rust crate GreptimeDB uses), after
replacing Grafana's variables with values of the right kind."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import promql_parser

# Grafana's built-in variables, replaced by values of the same kind so the expression stays well formed.
BUILTIN_SAMPLES = {
    "__rate_interval": "1m",
    "__interval": "30s",
    "__range": "6h",
    "__rate_interval_ms": "60000",
    "__interval_ms": "30000",
    "__range_s": "21600",
    "__range_ms": "21600000",
}
# A value that fits wherever a user variable can stand: inside a label matcher, a regex, or a number.
USER_VARIABLE_SAMPLE = "1"

VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")
LABEL_VALUES = re.compile(r"^\s*label_values\((?:(?P<selector>.+),)?\s*(?P<label>\w+)\s*\)\s*$")
QUERY_RESULT = re.compile(r"^\s*query_result\((?P<query>.+)\)\s*$")


def substitute(expr: str, variables: Mapping[str, str] | None = None) -> str:
    """Replace `$var`, `${var}`, `${var:fmt}` and `[[var]]` with sample values."""
    variables = variables or {}

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name in variables:
            return variables[name]
        return BUILTIN_SAMPLES.get(name, USER_VARIABLE_SAMPLE)

    return VARIABLE.sub(value, expr)


def parse_error(expr: str, variables: Mapping[str, str] | None = None) -> str | None:
    """None if `expr` parses as PromQL once variables are substituted, else the parser's message."""
    if not expr.strip():
        return "empty expression"
    try:
        promql_parser.parse(substitute(expr, variables))
    except ValueError as error:
        return str(error) or "does not parse"
    return None


def variable_query_error(query: str, variables: Mapping[str, str] | None = None) -> str | None:
    """Grafana's Prometheus variable queries: label_values(selector, label), query_result(expr), or PromQL."""
    if match := LABEL_VALUES.match(query):
        selector = match.group("selector")
        return parse_error(selector, variables) if selector else None
    if match := QUERY_RESULT.match(query):
        return parse_error(match.group("query"), variables)
    if query.strip().startswith(("label_names(", "metrics(")):
        return None
    return parse_error(query, variables)


@dataclass(frozen=True)
class SeriesUse:
    """A series an expression selects, and the function that directly consumes its range (if any)."""

    name: str
    function: str | None  # "rate", "increase", ... for a range selector; None for an instant selector
    range: str | None  # the range as written, e.g. "5m"


RATE_FUNCTIONS = frozenset({"rate", "irate", "increase", "resets"})


def series_uses(expr: str, variables: Mapping[str, str] | None = None) -> list[SeriesUse]:
    """Every series selector in `expr` (after variable substitution), in order of appearance."""
    return list(_walk(promql_parser.parse(substitute(expr, variables)), None))


def _walk(node: object, function: str | None):
    if isinstance(node, promql_parser.VectorSelector):
        yield SeriesUse(node.name or _name_matcher(node), None, None)
    elif isinstance(node, promql_parser.MatrixSelector):
        selector = node.vector_selector
        yield SeriesUse(selector.name or _name_matcher(selector), function, promql_parser.display_duration(node.range))
    elif isinstance(node, promql_parser.Call):
        for argument in node.args:
            yield from _walk(argument, node.func.name)
    elif isinstance(node, promql_parser.BinaryExpr):
        yield from _walk(node.lhs, None)
        yield from _walk(node.rhs, None)
    elif isinstance(node, promql_parser.AggregateExpr):
        yield from _walk(node.expr, None)
        if node.param is not None:
            yield from _walk(node.param, None)
    elif isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
        yield from _walk(node.expr, None)


def _name_matcher(selector: object) -> str:
    for matcher in selector.matchers.matchers:  # type: ignore[attr-defined]
        if matcher.name == "__name__":
            return matcher.value
    return ""
