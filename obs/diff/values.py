"""Values, paths and text: how a diff formats a value, finds the leaves that differ, diffs a text or a
PromQL expression line by line, and reads a number change as a threshold change."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from obs.diff.model import Change


def fmt(value: Any, limit: int = 160) -> str:
    """A value for a one-line message: strings quoted, structures as compact JSON, None as (unset)."""
    if value is None:
        return "(unset)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def deep_changes(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, old, new) for every leaf that differs; lists of objects are compared item by item."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in [*old, *(k for k in new if k not in old)]:
            sub = f"{path}.{key}" if path else str(key)
            out += deep_changes(old.get(key), new.get(key), sub)
        return out
    if (isinstance(old, list) and isinstance(new, list) and len(old) == len(new)
            and any(isinstance(v, dict | list) for v in [*old, *new])):
        out = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            out += deep_changes(a, b, f"{path}[{index}]")
        return out
    return [(path or "(document)", old, new)]


def without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A copy without `keys`; a key may be dotted ("fieldConfig.defaults.unit") to drop a nested one."""
    out = dict(document)
    for key in keys:
        head, _, tail = key.partition(".")
        if tail and isinstance(out.get(head), dict):
            out[head] = without(out[head], tail)
        elif not tail:
            out.pop(head, None)
    return out


def line_diff(old: str | list[str], new: str | list[str]) -> list[str]:
    """A unified diff of two texts (or lists of lines), whole (no hunk headers): lines start with '-', '+'
    or ' '."""
    old_lines = old if isinstance(old, list) else (old or "").splitlines()
    new_lines = new if isinstance(new, list) else (new or "").splitlines()
    lines = list(difflib.unified_diff(old_lines, new_lines, lineterm="", n=max(len(old_lines), len(new_lines))))
    return [line for line in lines[2:] if not line.startswith("@@")]


SPLIT_WIDTH = 100
BINARY_OPERATOR = re.compile(r" (?:or|and|unless|atan2|==|!=|>=|<=|>|<|[-+*/%^])(?: bool)? ")


def expression_lines(expr: str, width: int = SPLIT_WIDTH) -> list[str]:
    """A long one-line PromQL expression cut before each binary operator (outside strings, label
    matchers and ranges), continuation lines indented by their parenthesis depth; so that a line diff
    points at the operand that changed. Shorter or multi-line expressions are left as they are."""
    if "\n" in expr or len(expr) <= width:
        return expr.splitlines() or [""]
    cuts: list[tuple[int, int]] = []  # (index of the space before the operator, parenthesis depth)
    depth = nested = 0
    quote: str | None = None
    escaped = False
    for index, char in enumerate(expr):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char in "{[":
            nested += 1
        elif char in "}]":
            nested = max(nested - 1, 0)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == " " and not nested and index and BINARY_OPERATOR.match(expr, index):
            cuts.append((index, depth))
    if not cuts:
        return [expr]
    lines, start, indent = [], 0, 0
    for index, level in cuts:
        lines.append("  " * indent + expr[start:index])
        start, indent = index + 1, level
    lines.append("  " * indent + expr[start:])
    return lines


def expression_diff(old: str, new: str) -> list[str]:
    """Both sides cut the same way: an edit that takes one side past the width must not turn the whole
    expression into changed lines."""
    width = 0 if max(len(old or ""), len(new or "")) > SPLIT_WIDTH else SPLIT_WIDTH
    return line_diff(expression_lines(old or "", width), expression_lines(new or "", width))


NUMBER = re.compile(r"(?<![\w.$])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")
COMPARISON = re.compile(r"(?:[<>]=?|[=!]=)\s*(?:bool\s*)?$")
COMPARISON_AFTER = re.compile(r"^\s*(?:[<>]=?|[=!]=)")


def number_changes(old: str, new: str) -> str:
    """When two expressions differ only in numbers, say which: "threshold 0.2 -> 0.25" ("value" for a
    number that is not compared against, like a quantile)."""
    old_parts, new_parts = NUMBER.split(old), NUMBER.split(new)
    old_numbers, new_numbers = NUMBER.findall(old), NUMBER.findall(new)
    if old_parts != new_parts or old_numbers == new_numbers:
        return ""
    readings = []
    for index, (a, b) in enumerate(zip(old_numbers, new_numbers, strict=True)):
        if a == b:
            continue
        compared = COMPARISON.search(old_parts[index]) or COMPARISON_AFTER.search(old_parts[index + 1])
        readings.append(f"{'threshold' if compared else 'value'} {a} -> {b}")
    return ", ".join(readings)


def text_change(subject_kind: str, subject: str, field_name: str, old: Any, new: Any,
                ref: dict[str, Any] | None = None) -> Change:
    """A change to a text field: with a line diff when the text is long or is a query."""
    change = Change(subject_kind, subject, "changed", field_name, old, new, ref=dict(ref or {}))
    if isinstance(old, str) and isinstance(new, str):
        if field_name.startswith(("query", "expr")):
            change.diff = expression_diff(old, new)
        elif len(old) + len(new) > 100 or "\n" in old + new:
            change.diff = line_diff(old, new)
        if field_name.startswith(("query", "expr")):
            change.note = number_changes(old, new)
    return change


def setting_changes(subject_kind: str, subject: str, old: Any, new: Any, prefix: str = "",
                    ref: dict[str, Any] | None = None) -> list[Change]:
    return [text_change(subject_kind, subject, path, a, b, ref)
            for path, a, b in deep_changes(old, new, prefix)]
