"""Parse PromQL with a real parser (promql-parser, bindings to the Rust crate GreptimeDB uses), after
replacing Grafana's variables with values of the right kind.

The Rust parser says only "invalid promql query" for a grammar error: it drops the position its own parser
had. When an expression fails, Prometheus's own parser (promtool, when it is installed) is asked where, and
the position is given in the expression as written, variables and all.
"""

from __future__ import annotations

import bisect
import json
import re
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

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
    return substitute_tracked(expr, variables)[0]


def substitute_tracked(expr: str, variables: Mapping[str, str] | None = None) -> tuple[str, Callable[[int], int]]:
    """The substituted expression, and a function from an offset in it to the offset in `expr` it came from
    (the start of the variable, inside a substituted value)."""
    variables = variables or {}
    pieces: list[str] = []
    new_starts: list[int] = []  # where each piece starts in the new text
    old_starts: list[int] = []
    literal: list[bool] = []
    position = 0
    length = 0
    for match in VARIABLE.finditer(expr):
        if match.start() > position:
            pieces.append(expr[position:match.start()])
            new_starts.append(length), old_starts.append(position), literal.append(True)
            length += match.start() - position
        name = next(group for group in match.groups() if group)
        value = variables.get(name, BUILTIN_SAMPLES.get(name, USER_VARIABLE_SAMPLE))
        pieces.append(value)
        new_starts.append(length), old_starts.append(match.start()), literal.append(False)
        length += len(value)
        position = match.end()
    pieces.append(expr[position:])
    new_starts.append(length), old_starts.append(position), literal.append(True)

    def origin(offset: int) -> int:
        index = max(bisect.bisect_right(new_starts, offset) - 1, 0)
        return old_starts[index] + (offset - new_starts[index] if literal[index] else 0)

    return "".join(pieces), origin


def parse_error(expr: str, variables: Mapping[str, str] | None = None) -> str | None:
    """None if `expr` parses as PromQL once variables are substituted, else why not, with the line and column
    in `expr` where Prometheus's parser can say."""
    if not expr.strip():
        return "empty expression"
    text, origin = substitute_tracked(expr, variables)
    try:
        promql_parser.parse(text)
    except ValueError as error:
        message = str(error) or "does not parse"
        located = prometheus_parse_error(text)
        if located is None:
            return message
        line, column, reason = located
        where = origin(_offset(text, line, column))
        line, column = _line_column(expr, where)
        near = expr[where:where + 24].split("\n")[0]
        return f"{reason} at line {line}, column {column} " + (f"(near {near!r})" if near.strip() else "(at the end)")
    return None


PROMTOOL_POSITION = re.compile(r"could not parse expression: (\d+):(\d+): parse error: (.+)$", re.M)


@lru_cache(maxsize=256)
def prometheus_parse_error(expr: str) -> tuple[int, int, str] | None:
    """(line, column, reason) from Prometheus's own parser (promtool, checking a one-rule file), or None when
    promtool is not installed or accepts the expression."""
    from obs.check.tools import find_tool

    promtool = find_tool("promtool")
    if promtool is None:
        return None
    document = {"groups": [{"name": "obs", "rules": [{"record": "obs:expr:check", "expr": expr}]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", encoding="utf-8") as handle:
        json.dump(document, handle)  # JSON is YAML: no quoting to get wrong
        handle.flush()
        try:
            result = subprocess.run([promtool, "check", "rules", handle.name], capture_output=True, text=True,
                                    timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
    match = PROMTOOL_POSITION.search(result.stdout + result.stderr)
    return (int(match.group(1)), int(match.group(2)), match.group(3).strip()) if match else None


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(part) + 1 for part in lines[: line - 1]) + column - 1


def _line_column(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


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
