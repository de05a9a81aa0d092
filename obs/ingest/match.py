"""Finding the catalog in what Grafana had: a query that a catalog/promql.py builder writes, a metric of
catalog/metrics.py, a threshold of catalog/thresholds.py, a dashboard or datasource of catalog/grafana.py.

An exact match becomes a reference to the catalog in the generated code (the compiled text is the same); a
metric or threshold that is close to one but not equal becomes a comment, and the text stays as it was.
The catalog is read at call time (it is the project's content).
"""

from __future__ import annotations

import difflib
import inspect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from obs.ingest.code import Call, Code, Expr, FString, Render
from obs.ingest.datasources import variable_reference

_PLAIN = Render(split=False)

IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
SELECTOR_BLOCK = re.compile(r"\{([^{}]*)\}")
MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')\s*')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^()]*)\)")
RANGE = re.compile(r"\[([^\[\]]+)\]")
NUMBER = re.compile(r"(?<![\w.$])\d*\.\d+|(?<![\w.$])\d+(?![\w.])")
MAX_MATCHERS = 5


@dataclass(frozen=True)
class Catalog:
    """The parts of the project's catalog the generator refers to, with the code that names each."""

    metrics: dict[str, str]  # series name -> code (m.UP, m.EVALUATION_DURATION.bucket)
    metric_objects: dict[str, Any]  # metric name -> Metric
    thresholds: dict[str, Any]  # code (t.HOST_CPU) -> Threshold
    builders: dict[str, Any]  # code (q.sum_rate) -> function
    promql_constants: dict[str, str]  # value -> code (q.NAMED_CONTAINERS)
    dashboards: dict[str, tuple[str, Any]]  # uid -> (code, DashboardRef)
    datasources: dict[str, str]  # uid -> code (grafana.PROMETHEUS)
    prometheus_variable: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Catalog:
        from catalog import grafana, metrics, promql, thresholds

        series: dict[str, str] = {}
        objects: dict[str, Any] = {}
        for name, value in vars(metrics).items():
            if isinstance(value, metrics.Metric):
                series[value.name] = f"m.{name}"
                objects[value.name] = value
                if value.type == "histogram":
                    for suffix in ("bucket", "sum", "count"):
                        series[f"{value.name}_{suffix}"] = f"m.{name}.{suffix}"
        limits = {f"t.{name}": value for name, value in vars(thresholds).items()
                  if isinstance(value, thresholds.Threshold)}
        builders = {f"q.{name}": value for name, value in vars(promql).items()
                    if inspect.isfunction(value) and value.__module__ == promql.__name__
                    and not name.startswith("_")}
        constants = {value: f"q.{name}" for name, value in vars(promql).items()
                     if name.isupper() and isinstance(value, str) and "{" not in value}
        dashboards = {value.uid: (f"grafana.{name}", value) for name, value in vars(grafana).items()
                      if isinstance(value, grafana.DashboardRef)}
        datasources = {value.uid: f"grafana.{name}" for name, value in vars(grafana).items()
                       if isinstance(value, grafana.DatasourceRef)}
        return cls(series, objects, limits, builders, constants, dashboards, datasources,
                   dict(grafana.PROMETHEUS_VARIABLE))


# ---------------------------------------------------------------------- queries


@dataclass
class Query:
    """A PromQL expression as code, and the comments it needs."""

    code: Any  # a str (no catalog in it) or an Expr
    comments: list[str] = field(default_factory=list)
    constants: dict[str, str] = field(default_factory=dict)  # matcher constant name -> matcher text


class Matchers:
    """Module-level constants for the label matchers builder calls take (INSTANCE = 'instance=~"$instance"'),
    shared by every query of a module."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.names: dict[str, str] = {}  # matcher text -> code

    def code(self, matcher: str) -> str:
        if matcher in self.catalog.promql_constants:
            return self.catalog.promql_constants[matcher]
        if matcher not in self.names:
            self.names[matcher] = self._name(matcher)
        return self.names[matcher]

    def _name(self, matcher: str) -> str:
        found = MATCHER.fullmatch(matcher)
        label, op, value = (found.group(1), found.group(2), found.group(3)[1:-1]) if found else (matcher, "", "")
        variable = variable_reference(value) if op in ("=", "=~") else None
        base = variable or f"{label}_{'not_' if op.startswith('!') else ''}{value}"
        name = re.sub(r"[^A-Za-z0-9]+", "_", base).strip("_").upper() or "MATCHER"
        if name[0].isdigit():
            name = f"M_{name}"
        candidate, number = name, 2
        while candidate in self.names.values():
            candidate, number = f"{name}_{number}", number + 1
        return candidate

    def definitions(self) -> list[tuple[str, str]]:
        return [(code, text) for text, code in self.names.items()]


def query_code(expr: str, catalog: Catalog, matchers: Matchers) -> Query:
    """`expr` as the catalog writes it: a builder call when the whole query is one, an f-string of builder
    calls and catalog metrics when parts are, else the text as it is."""
    query = Query(expr)
    used = _metric_names(expr, catalog)
    found = [c for c in _builder_outputs(expr, catalog, used) if c[0] not in catalog.metrics]
    candidates = sorted(found, key=lambda c: (-len(c[0]), len(_with_matchers(c[1], Matchers(catalog)).render(
        _PLAIN)), c[2]))
    for text, call, _ in candidates:
        if text == expr:
            query.code = _with_matchers(call, matchers)
            return query
    parts: list[str | Expr] = [expr]
    for text, call, _ in candidates:
        parts = _replace(parts, text, _with_matchers(call, matchers))
    parts = _metric_parts(parts, catalog)
    query.comments = _close_metrics(expr, catalog)
    if any(isinstance(p, Expr) for p in parts):
        query.code = FString(tuple(p for p in parts if p != ""))
    return query


def _with_matchers(call: _Candidate, matchers: Matchers) -> Call:
    args = [Code(a.code) if isinstance(a, _Ref) else a for a in call.args]
    args += [Code(matchers.code(m)) for m in call.matchers]
    return Call(call.func, tuple(args), tuple(call.kwargs))


@dataclass(frozen=True)
class _Ref:
    code: str

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True)
class _Candidate:
    func: str
    args: tuple[Any, ...]
    matchers: tuple[str, ...]
    kwargs: tuple[tuple[str, Any], ...]


def _builder_outputs(expr: str, catalog: Catalog, used: list[str]) -> Iterator[tuple[str, _Candidate, int]]:
    matchers = _matchers(expr)[:MAX_MATCHERS]
    subsets = [combo for size in range(len(matchers) + 1) for combo in itertools.combinations(matchers, size)]
    groupings = [""] + sorted({", ".join(label.strip() for label in g.split(",") if label.strip() != "le")
                               for g in GROUPING.findall(expr)} - {""})
    windows = sorted(set(RANGE.findall(expr)))
    numbers = sorted({float(n) for n in NUMBER.findall(expr) if 0 < float(n) < 1})
    metrics = [(catalog.metric_objects.get(name) or name, _Ref(catalog.metrics[name])) for name in used]
    for order, (code, function) in enumerate(sorted(catalog.builders.items())):
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            continue
        fixed: list[list[tuple[Any, Any]]] = []  # per positional parameter: (value to call with, code)
        takes_matchers = False
        keywords: dict[str, list[Any]] = {}
        for parameter in signature.parameters.values():
            if parameter.kind is parameter.VAR_POSITIONAL:
                takes_matchers = True
            elif parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                if parameter.name in ("metric", "outcome"):
                    fixed.append(metrics)
                elif parameter.name == "quantile":
                    fixed.append([(n, n) for n in numbers])
                else:
                    fixed = []
                    break
            elif parameter.kind is parameter.KEYWORD_ONLY:
                if parameter.name == "by":
                    keywords["by"] = groupings
                elif parameter.name == "window":
                    keywords["window"] = ([] if parameter.default is inspect.Parameter.empty else [None]) + windows
        else:
            if any(not options for options in fixed):
                continue
            for positional in itertools.product(*fixed):
                for subset in subsets if takes_matchers else [()]:
                    for by in keywords.get("by", [None]):
                        for window in keywords.get("window", [None]):
                            kwargs = {}
                            if by:
                                kwargs["by"] = by
                            if window is not None:
                                kwargs["window"] = window
                            try:
                                text = function(*(value for value, _ in positional), *subset, **kwargs)
                            except Exception:  # a builder that refuses these arguments is not a match
                                continue
                            if isinstance(text, str) and text and text in expr:
                                yield text, _Candidate(code, tuple(c for _, c in positional), tuple(subset),
                                                       tuple(kwargs.items())), order


def _replace(parts: list[str | Expr], text: str, code: Expr) -> list[str | Expr]:
    """Every occurrence of `text` in the literal parts, not run into a neighbouring name, becomes `code`."""
    boundary = re.compile(rf"(?<![A-Za-z0-9_:]){re.escape(text)}(?![A-Za-z0-9_:])")
    out: list[str | Expr] = []
    for part in parts:
        if not isinstance(part, str):
            out.append(part)
            continue
        position = 0
        for found in boundary.finditer(part):
            out += [part[position:found.start()], code]
            position = found.end()
        out.append(part[position:])
    return out


def _metric_parts(parts: list[str | Expr], catalog: Catalog) -> list[str | Expr]:
    """Catalog metric names in the literal parts become references (m.UP); names inside a label matcher,
    a string or a range stay text."""
    out: list[str | Expr] = []
    for part in parts:
        if not isinstance(part, str):
            out.append(part)
            continue
        position = 0
        for start, end in _identifier_spans(part):
            name = part[start:end]
            if name in catalog.metrics:
                out.append(part[position:start])
                out.append(Code(catalog.metrics[name]))
                position = end
        out.append(part[position:])
    return out


def _identifier_spans(text: str) -> Iterator[tuple[int, int]]:
    """Identifiers outside strings, label matchers, ranges and grouping clauses, not followed by "(" (a
    function call)."""
    depth_brace = depth_bracket = 0
    quote = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char == "{":
            depth_brace += 1
        elif char == "}":
            depth_brace = max(depth_brace - 1, 0)
        elif char == "[":
            depth_bracket += 1
        elif char == "]":
            depth_bracket = max(depth_bracket - 1, 0)
        elif not depth_brace and not depth_bracket and (char.isalpha() or char in "_:"):
            found = IDENTIFIER.match(text, index)
            assert found
            end = found.end()
            preceded = text[:index].rstrip()
            after = text[end:].lstrip()
            in_grouping = re.search(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*$", text[:index])
            if not after.startswith("(") and not preceded.endswith("$") and not in_grouping:
                yield index, end
            index = end
            continue
        index += 1


def _metric_names(expr: str, catalog: Catalog) -> list[str]:
    names = []
    for start, end in _identifier_spans(expr):
        name = expr[start:end]
        if name in catalog.metrics and name not in names:
            names.append(name)
    return names


def _matchers(expr: str) -> list[str]:
    found: list[str] = []
    for block in SELECTOR_BLOCK.findall(expr):
        for piece in _split_matchers(block):
            if MATCHER.fullmatch(piece) and piece.strip() not in found:
                found.append(piece.strip())
    return found


def _split_matchers(block: str) -> list[str]:
    pieces, current, quote = [], "", None
    for char in block:
        if quote:
            current += char
            if char == quote and not current.endswith("\\" + quote):
                quote = None
        elif char in "\"'":
            quote = char
            current += char
        elif char == ",":
            pieces.append(current)
            current = ""
        else:
            current += char
    pieces.append(current)
    return [p for p in pieces if p.strip()]


METRIC_SUFFIXES = ("_total", "_bytes", "_seconds", "_count", "_sum", "_bucket")


def _close_metrics(expr: str, catalog: Catalog) -> list[str]:
    """Metric names that are not in the catalog but close to one (a missing unit suffix, a typo)."""
    comments = []
    seen = set()
    for start, end in _identifier_spans(expr):
        name = expr[start:end]
        if name in catalog.metrics or name in seen or ":" in name or not _looks_like_metric(expr, end):
            continue
        seen.add(name)
        close = _closest(name, catalog.metrics)
        if close:
            comments.append(f"{name} is close to the catalog's {catalog.metrics[close]} ({close}) but not equal: "
                            "kept as written")
    return comments


def _looks_like_metric(expr: str, end: int) -> bool:
    after = expr[end:].lstrip()
    return not after or after[0] in "{[)*/+-, " or after.startswith(("offset", "or", "and", "unless", ">", "<", "="))


def _closest(name: str, known: dict[str, str]) -> str | None:
    def stem(text: str) -> str:
        for suffix in METRIC_SUFFIXES:
            text = text.removesuffix(suffix)
        return text

    for candidate in known:
        if stem(candidate) == stem(name):
            return candidate
    # Names that differ only in their numbers are a family of metrics, not a typo: node_load5 is not node_load1.
    family = re.sub(r"\d+", "#", name)
    close = [candidate for candidate in difflib.get_close_matches(name, list(known), n=3, cutoff=0.88)
             if re.sub(r"\d+", "#", candidate) != family]
    return close[0] if close else None


# ---------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class ThresholdMatch:
    code: str | None  # t.HOST_CPU when the steps are exactly what it gives
    comment: str | None  # when close to one but not equal


def match_thresholds(thresholds: Any, catalog: Catalog, context: str) -> ThresholdMatch:
    """`thresholds` (a panel's fieldConfig.defaults.thresholds) against every catalog Threshold's steps;
    `context` (the panel's title and queries) picks between equal ones."""
    from obs.author.panels import steps_for

    if not isinstance(thresholds, dict) or thresholds.get("mode") != "absolute":
        return ThresholdMatch(None, None)
    steps = thresholds.get("steps")
    ranked = sorted(catalog.thresholds.items(), key=lambda item: -_relevance(item[0], context))
    for code, threshold in ranked:
        if steps == steps_for(threshold):
            return ThresholdMatch(code, None)
    for code, threshold in ranked:
        expected = steps_for(threshold)
        if _close_steps(steps, expected):
            return ThresholdMatch(None, f"thresholds close to the catalog's {code} ({_describe(expected)}) but "
                                        f"not equal ({_describe(steps)}): kept as they were")
    return ThresholdMatch(None, None)


def _relevance(code: str, context: str) -> int:
    words = set(re.findall(r"[a-z0-9]+", context.lower()))
    return sum(1 for word in code.removeprefix("t.").lower().split("_") if word in words)


def _close_steps(steps: Any, expected: list[dict[str, Any]]) -> bool:
    if not isinstance(steps, list) or len(steps) != len(expected):
        return False
    if [s.get("color") if isinstance(s, dict) else None for s in steps] != [s["color"] for s in expected]:
        return False
    for step, want in zip(steps, expected, strict=True):
        value, target = step.get("value"), want["value"]
        if value is None or target is None:
            if value is not target:
                return False
            continue
        if not isinstance(value, int | float):
            return False
        if not (abs(value - target) <= 0.25 * abs(target) or abs(value - 100 * target) <= 1e-9 * max(1, value)):
            return False
    return True


def _describe(steps: Any) -> str:
    return ", ".join(f"{s.get('color')} at {s.get('value')}" if s.get("value") is not None else f"{s.get('color')}"
                     for s in steps if isinstance(s, dict))
