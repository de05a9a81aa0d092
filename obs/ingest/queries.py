"""Prometheus queries of an older dashboard in the form Grafana 13's query editor saves them, where that changes
nothing Grafana runs or shows, so the queries read as the project's own (obs.author.panels.target) do.

What Grafana's Prometheus backend reads of a query (pkg/promlib/models/query.go, Parse, and
querydata/response.go, getName) makes these the same query:

    editorMode     absent, or "code": the editor a query opens in; the backend reads nothing of it, and the
                   editor opens a query that has an expression in code mode (getDefaultEditorMode)
    range/instant  neither set is a range query ("in older dashboards, we were not setting range query param and
                   !range && !instant was run as range query"); absent flags are false (omitempty)
    exemplar       absent is false
    interval       "" is no minimum step, as absent is
    format         "time_series" is the default format of a range query
    hide           false, as absent is
    intervalFactor 1 multiplies the step by 1, as absent does (calculatePrometheusInterval)
    legendFormat   "" (or absent) names each series by its labels and "__auto" by the labels that differ; a
                   query whose result has no labels (an aggregation without `by`, arithmetic of such) is named
                   by its expression under both (getName: "{}" becomes the expression)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

AGGREGATIONS = ("sum", "min", "max", "avg", "count", "group", "stddev", "stdvar")
# Functions whose result has the labels of their first argument, less the metric name.
SAME_LABELS = ("abs", "ceil", "floor", "round", "exp", "ln", "log2", "log10", "sqrt", "sgn", "clamp", "clamp_min",
               "clamp_max")
# Functions with a result without labels whatever their argument.
NO_LABELS = ("scalar", "vector", "time")
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+|Inf|NaN)")
CALL = re.compile(r"([a-z_]+)\s*(?:(by|without)\s*\(([^()]*)\)\s*)?\(", re.IGNORECASE)


def editor_form(target: dict[str, Any]) -> list[str]:
    """Rewrite a Prometheus `target` (in place) in the form Grafana 13's editor saves; what changed."""
    changed: list[str] = []
    expr = target.get("expr")
    if not isinstance(expr, str) or not expr.strip():
        return changed
    instant = target.get("instant")
    added = []
    if "editorMode" not in target:
        target["editorMode"] = "code"
        added.append("editorMode")
    if "range" not in target and (instant is None or isinstance(instant, bool)):
        target["range"] = not instant
        added.append("range")
    if "instant" not in target and target.get("range") is True:
        target["instant"] = False
        added.append("instant")
    if "exemplar" not in target:
        target["exemplar"] = False
        added.append("exemplar")
    changed += [f"{key} set" for key in added]
    for key, value in (("interval", ""), ("hide", False), ("intervalFactor", 1)):
        if key in target and target[key] == value and type(target[key]) is type(value):
            del target[key]
            changed.append(f"{key} {value!r} dropped")
    if target.get("format") == "time_series" and not target.get("instant"):
        del target["format"]
        changed.append("format 'time_series' dropped")
    if not target.get("legendFormat") and labelless(expr):
        target["legendFormat"] = "__auto"
        changed.append("legendFormat '' written '__auto' (a result without labels)")
    return changed


# ---------------------------------------------------------------------- which results have no labels


def labelless(expr: str) -> bool:
    """Whether every series `expr` returns has no labels, as far as its form shows (False when unsure)."""
    text = _strip_parens(expr.strip())
    if not text:
        return False
    operands = _split_arithmetic(text)
    if operands is None:
        return False
    if len(operands) > 1:
        return all(labelless(operand) for operand in operands)
    if NUMBER.fullmatch(text):
        return True
    found = CALL.match(text)
    if not found or _closing(text, found.end() - 1) != len(text) - 1:
        return False
    name, grouping, labels = found.group(1).lower(), found.group(2), found.group(3)
    arguments = _split_arguments(text[found.end():-1])
    if name in AGGREGATIONS or name == "quantile":
        if grouping is not None and not (grouping.lower() == "by" and not labels.strip()):
            return False
        return _after_grouping(text, found) and (name != "quantile" or len(arguments) == 2)
    if grouping is not None:
        return False
    if name in NO_LABELS:
        return True
    if name in SAME_LABELS:
        return bool(arguments) and labelless(arguments[0])
    if name == "histogram_quantile" and len(arguments) == 2:
        return _only_le(arguments[1])
    return False


def _after_grouping(text: str, found: re.Match[str]) -> bool:
    """No `by (...)` after the aggregation's argument: `sum(x) by (job)`."""
    return not re.search(r"\)\s*(by|without)\s*\([^()]*\)\s*$", text[found.end() - 1:], re.IGNORECASE)


def _only_le(expr: str) -> bool:
    """An aggregation by `le` alone (the buckets histogram_quantile reads and drops)."""
    text = _strip_parens(expr.strip())
    found = CALL.match(text)
    if not found or found.group(1).lower() not in AGGREGATIONS:
        return False
    end = _closing(text, found.end() - 1)
    if found.group(2) is not None:
        labels = found.group(3) if end == len(text) - 1 else None
        return found.group(2).lower() == "by" and labels is not None and _labels(labels) == ["le"]
    after = re.fullmatch(r"\s*by\s*\(([^()]*)\)\s*", text[end + 1:], re.IGNORECASE) if end > 0 else None
    return bool(after) and _labels(after.group(1)) == ["le"]


def _labels(text: str) -> list[str]:
    return [label.strip() for label in text.split(",") if label.strip()]


def _strip_parens(text: str) -> str:
    while text.startswith("(") and _closing(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def _outside_strings(text: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """(index, character, bracket depth once it is read) of each character outside PromQL's string literals."""
    depth, quote, index = 0, None, start
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        else:
            if char in "([{":
                depth += 1
            elif char in ")]}":
                depth -= 1
            yield index, char, depth
        index += 1


def _closing(text: str, start: int) -> int:
    """The index of the bracket closing the one at `start` (-1: none), skipping strings."""
    return next((index for index, char, depth in _outside_strings(text, start) if char in ")]}" and depth == 0), -1)


def _top_level(text: str) -> list[tuple[int, str]]:
    """(index, character) of what is outside brackets and strings."""
    return [(index, char) for index, char, depth in _outside_strings(text) if depth == 0 and char not in "([{)]}"]


def _split_arithmetic(text: str) -> list[str] | None:
    """The operands of the top-level arithmetic (+ - * / % ^); None when the top level has anything else that
    decides labels (comparisons, set operators, matching modifiers, offsets)."""
    top = "".join(char for _, char in _top_level(text))
    if re.search(r"[<>=!@]|\b(and|or|unless|on|ignoring|group_left|group_right|bool|offset)\b", top,
                 re.IGNORECASE):
        return None
    operands, start, previous = [], 0, ""
    for index, char in _top_level(text):
        if char in "+-*/%^":
            before = text[start:index].strip()
            exponent = re.search(r"\d[eE]$", text[:index]) and char in "+-"
            if before and not exponent and previous not in "+-*/%^(":
                operands.append(before)
                start = index + 1
        if not char.isspace():
            previous = char
    operands.append(text[start:].strip())
    return [operand for operand in operands if operand] or None


def _split_arguments(text: str) -> list[str]:
    arguments, start = [], 0
    for index, char in _top_level(text):
        if char == ",":
            arguments.append(text[start:index].strip())
            start = index + 1
    arguments.append(text[start:].strip())
    return [argument for argument in arguments if argument]
