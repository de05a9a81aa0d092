"""What changed between two builds, by meaning rather than by line.

Everything here is a pure function over two maps {artifact path: parsed document} (the base build and the
new one). Each kind of artifact has its own differ, registered with `register_kind` for the paths it owns:

    dashboards    monitoring/grafana/dashboards/*.json   dashboards, panels, rows, queries, variables
    rules         monitoring/prometheus/rules/*.y*ml     alert and recording rules, matched across files
    alertmanager  monitoring/alertmanager.yml            routes (by matchers), receivers (by name)
    datasources   the datasource provisioning file       datasources by name
    anything else                                        a structural diff of the document

A differ returns Sections (one per dashboard, one for all rules, ...) holding Changes; the renderers
(`render_text`, `render_markdown`, `Report.to_dict`) turn a Report into terminal text, a pull-request
comment or JSON.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import PurePosixPath
from typing import Any

import yaml

from obs.artifacts import DASHBOARD_DIR, DATASOURCES_FILE
from obs.validate_dashboard import panels_with_paths

RULES_PATTERNS = ("monitoring/prometheus/rules/*.yml", "monitoring/prometheus/rules/*.yaml")
ALERTMANAGER_PATTERNS = ("monitoring/alertmanager.yml", "monitoring/alertmanager.yaml")


# --- The model ---------------------------------------------------------------------------------------

@dataclass
class Change:
    """One thing that changed about one subject (a panel, a variable, an alert rule, a route...)."""

    subject_kind: str  # "dashboard", "panel", "row", "variable", "alert rule", "recording rule", "route", ...
    subject: str  # its name, as a reviewer knows it: the panel title, the alert name
    action: str  # "added", "removed", "changed", "moved", "resized"
    field: str = ""  # what about it changed: "title", "query A", "unit", "thresholds", "expr", "for", ...
    old: Any = None
    new: Any = None
    diff: list[str] = dataclasses.field(default_factory=list)  # a line diff ("-old", "+new", " same") for text fields
    note: str = ""  # a reading of the change: "threshold 0.2 -> 0.25"
    ref: dict[str, Any] = dataclasses.field(default_factory=dict)  # identifiers: panel ids on both sides, file, group

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"subject_kind": self.subject_kind, "subject": self.subject, "action": self.action}
        for key in ("field", "old", "new", "diff", "note", "ref"):
            value = getattr(self, key)
            if value not in ("", None, [], {}):
                out[key] = value
        return out


@dataclass
class Section:
    """The changes to one artifact (a dashboard) or one family of artifacts (all rule files)."""

    kind: str  # "dashboard", "rules", "alertmanager", "datasources", "file"
    key: str  # the dashboard uid, or the path
    title: str
    status: str  # "added", "removed", "changed"
    paths: list[str]
    changes: list[Change] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "title": self.title, "status": self.status,
                "paths": self.paths, "changes": [c.to_dict() for c in self.changes]}


@dataclass
class Report:
    sections: list[Section] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)  # e.g. "the base did not build"
    base: str = ""  # what the old side is, for the heading: "main (0f2266f)"
    head: str = "working tree"

    @property
    def changed(self) -> bool:
        return bool(self.sections)

    def counts(self) -> list[tuple[str, str, int]]:
        """(what, how, count): ("dashboard", "changed", 2), ("alert rule", "added", 1)..."""
        units: list[tuple[str, str]] = []
        for section in self.sections:
            if section.kind in ("dashboard", "file"):
                units.append((section.kind, section.status))
                continue
            seen: dict[tuple[str, str], str] = {}
            for change in section.changes:
                key = (change.subject_kind, change.subject)
                action = change.action if change.action in ("added", "removed") else "changed"
                seen.setdefault(key, action)
            units += [(kind, action) for (kind, _), action in seen.items()]
        counted = Counter(units)
        kinds = list(dict.fromkeys(kind for kind, _ in units))
        return [(kind, how, counted[(kind, how)]) for kind in kinds for how in ("added", "removed", "changed")
                if counted[(kind, how)]]

    def summary(self) -> str:
        if not self.changed:
            return "no changes"
        return ", ".join(f"{count} {plural(kind, count)} {how}" for kind, how, count in self.counts())

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base, "head": self.head, "changed": self.changed, "summary": self.summary(),
                "counts": [{"kind": k, "action": a, "count": n} for k, a, n in self.counts()],
                "notes": self.notes, "sections": [s.to_dict() for s in self.sections]}


def plural(word: str, count: int) -> str:
    if count == 1:
        return word
    return word + ("es" if word.endswith("s") else "s")


# --- Entry points ------------------------------------------------------------------------------------

Documents = dict[str, Any]  # artifact path -> parsed document
KindDiffer = Callable[[Documents, Documents], list[Section]]


@dataclass(frozen=True)
class Kind:
    name: str
    patterns: tuple[str, ...]
    differ: KindDiffer


KINDS: list[Kind] = []


def register_kind(name: str, patterns: tuple[str, ...], differ: KindDiffer) -> None:
    """Give the artifacts whose path matches one of `patterns` their own differ (first registered wins)."""
    KINDS[:] = [k for k in KINDS if k.name != name]
    KINDS.append(Kind(name, patterns, differ))


def parse_artifact(path: str, text: str) -> Any:
    """A compiled file's document: JSON or YAML by extension, else the text itself."""
    if path.endswith(".json"):
        return json.loads(text)
    if path.endswith((".yml", ".yaml")):
        return yaml.safe_load(text)
    return text


def diff_documents(old: Documents, new: Documents) -> Report:
    """Every change between two builds, section by section, in a stable order."""
    claimed: set[str] = set()
    sections: list[Section] = []
    for kind in KINDS:
        mine = {p for p in (*old, *new) if p not in claimed and any(fnmatch(p, pat) for pat in kind.patterns)}
        claimed |= mine
        if mine:
            sections += kind.differ({p: old[p] for p in old if p in mine}, {p: new[p] for p in new if p in mine})
    rest = {p for p in (*old, *new) if p not in claimed}
    sections += diff_files({p: old[p] for p in old if p in rest}, {p: new[p] for p in new if p in rest})
    return Report(sections=sections)


# --- Values, paths and text --------------------------------------------------------------------------

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
    return line_diff(expression_lines(old or ""), expression_lines(new or ""))


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


# --- Dashboards --------------------------------------------------------------------------------------

def dashboard_key(path: str, document: Any) -> str:
    uid = document.get("uid") if isinstance(document, dict) else None
    return str(uid or PurePosixPath(path).stem)


def diff_dashboards(old: Documents, new: Documents) -> list[Section]:
    old_by, new_by = _keyed(old, dashboard_key), _keyed(new, dashboard_key)
    sections = []
    for uid in sorted({*old_by, *new_by}):
        if uid not in old_by:
            path, document = new_by[uid]
            sections.append(Section("dashboard", uid, _title(document), "added", [path],
                                    [Change("dashboard", _title(document), "added", new=_dashboard_outline(document))]))
        elif uid not in new_by:
            path, document = old_by[uid]
            sections.append(Section("dashboard", uid, _title(document), "removed", [path],
                                    [Change("dashboard", _title(document), "removed",
                                            old=_dashboard_outline(document))]))
        else:
            (old_path, old_doc), (new_path, new_doc) = old_by[uid], new_by[uid]
            changes = dashboard_changes(old_doc, new_doc)
            if changes:
                sections.append(Section("dashboard", uid, _title(new_doc), "changed",
                                        sorted({old_path, new_path}), changes))
    return sections


def _keyed(documents: Documents, key: Callable[[str, Any], str]) -> dict[str, tuple[str, Any]]:
    return {key(path, document): (path, document) for path, document in sorted(documents.items())}


def _title(document: Any) -> str:
    return str(document.get("title") or "") if isinstance(document, dict) else ""


def _dashboard_outline(document: dict[str, Any]) -> str:
    panels = [p for p, _ in panels_with_paths(document) if p.get("type") != "row"]
    variables = (document.get("templating") or {}).get("list") or []
    return f"{len(panels)} panels, {len(variables)} variables"


DASHBOARD_SETTINGS_IGNORED = ("panels", "templating", "title", "uid", "id", "version")


def dashboard_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Title, settings, variables and panels of one dashboard, in that order."""
    name = _title(new)
    changes: list[Change] = []
    if _title(old) != _title(new):
        changes.append(Change("dashboard", name, "changed", "title", _title(old), _title(new)))
    changes += setting_changes("dashboard", name, without(old, *DASHBOARD_SETTINGS_IGNORED),
                               without(new, *DASHBOARD_SETTINGS_IGNORED))
    changes += variable_changes(old, new)
    changes += panel_list_changes(old, new)
    return changes


def _variables(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in (document.get("templating") or {}).get("list") or [] if isinstance(v, dict)]


def variable_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    old_vars = {str(v.get("name")): v for v in _variables(old)}
    new_vars = {str(v.get("name")): v for v in _variables(new)}
    old_order = [n for n in old_vars if n in new_vars]
    new_order = [n for n in new_vars if n in old_vars]
    changes: list[Change] = []
    for name in new_vars:
        if name not in old_vars:
            changes.append(Change("variable", name, "added", new=_variable_outline(new_vars[name])))
            continue
        changes += setting_changes("variable", name, without(old_vars[name], "name"),
                                   without(new_vars[name], "name"))
        if old_order.index(name) != new_order.index(name) and _moved_in_order(old_order, new_order, name):
            changes.append(Change("variable", name, "moved", "position",
                                  old_order.index(name) + 1, new_order.index(name) + 1))
    changes += [Change("variable", name, "removed", old=_variable_outline(old_vars[name]))
                for name in old_vars if name not in new_vars]
    return changes


def _moved_in_order(old_order: list[str], new_order: list[str], name: str) -> bool:
    """Whether `name` is one of the items that moved (not one that others moved past): the items
    outside a longest common subsequence of the two orders."""
    matcher = difflib.SequenceMatcher(a=old_order, b=new_order, autojunk=False)
    kept = {old_order[block.a + i] for block in matcher.get_matching_blocks() for i in range(block.size)}
    return name not in kept


def _variable_outline(variable: dict[str, Any]) -> str:
    query = variable.get("query")
    text = query.get("query") if isinstance(query, dict) else query
    return f"{variable.get('type', '?')}" + (f" {fmt(text)}" if text else "")


# Panels: matching.

@dataclass(frozen=True)
class PanelInfo:
    panel: dict[str, Any]
    order: int  # reading order in the document (rows' nested panels included)
    row: str | None  # title of the row it sits under, if any

    @property
    def id(self) -> Any:
        return self.panel.get("id")

    @property
    def title(self) -> str:
        return str(self.panel.get("title") or "")

    @property
    def is_row(self) -> bool:
        return self.panel.get("type") == "row"


def panel_infos(document: dict[str, Any]) -> list[PanelInfo]:
    infos: list[PanelInfo] = []
    row: str | None = None
    for panel, _ in panels_with_paths(document):
        if not isinstance(panel, dict):
            continue
        if panel.get("type") == "row":
            row = str(panel.get("title") or "")
            infos.append(PanelInfo(panel, len(infos), None))
        else:
            infos.append(PanelInfo(panel, len(infos), row))
    return infos


def _exprs(panel: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(t.get("expr") or t.get("query") or "") for t in panel.get("targets") or []
                 if isinstance(t, dict))


def match_panels(old: list[PanelInfo], new: list[PanelInfo]
                 ) -> tuple[list[tuple[PanelInfo, PanelInfo]], list[PanelInfo], list[PanelInfo]]:
    """Pair the panels of two versions of a dashboard: (pairs, removed, added).

    Panel ids are the first key, but the build numbers panels in reading order, so inserting a panel
    shifts the ids of those after it. Hence, among rows and among other panels separately: first the
    same id with the same title; then the same title (when unique on both sides); then the same
    queries (a renamed panel); then the same id and type (a renamed panel whose queries changed too).
    """
    pairs: list[tuple[PanelInfo, PanelInfo]] = []
    left, right = list(old), list(new)

    def pair_by(key: Callable[[PanelInfo], Any]) -> None:
        old_keys = Counter(key(p) for p in left)
        new_keys = Counter(key(p) for p in right)
        by_key = {key(p): p for p in right if new_keys[key(p)] == 1}
        for info in list(left):
            k = key(info)
            if k is None or old_keys[k] != 1 or k not in by_key:
                continue
            pairs.append((info, by_key[k]))
            left.remove(info)
            right.remove(by_key[k])

    pair_by(lambda p: (p.is_row, p.id, p.title) if p.id is not None else None)
    pair_by(lambda p: (p.is_row, p.title) if p.title else None)
    pair_by(lambda p: (p.is_row, _exprs(p.panel)) if not p.is_row and any(_exprs(p.panel)) else None)
    pair_by(lambda p: (p.is_row, p.id, p.panel.get("type")) if p.id is not None else None)
    pairs.sort(key=lambda pair: pair[1].order)
    return pairs, left, right


# Panels: what changed.

PANEL_FIELDS_HANDLED = ("id", "gridPos", "title", "type", "description", "targets", "panels",
                        "fieldConfig.defaults.unit", "fieldConfig.defaults.thresholds")


def panel_label(info: PanelInfo) -> str:
    return info.title or f"(untitled {info.panel.get('type', 'panel')})"


def _ref(old: PanelInfo | None, new: PanelInfo | None) -> dict[str, Any]:
    ref: dict[str, Any] = {}
    if old is not None:
        ref["old_id"] = old.id
    if new is not None:
        ref["new_id"] = new.id
    return ref


def _grid(panel: dict[str, Any]) -> dict[str, Any]:
    grid = panel.get("gridPos") or {}
    return {k: grid.get(k) for k in ("x", "y", "w", "h")}


def fmt_position(grid: dict[str, Any]) -> str:
    return f"x={grid.get('x')} y={grid.get('y')}"


def fmt_size(grid: dict[str, Any]) -> str:
    return f"w={grid.get('w')} h={grid.get('h')}"


def panel_outline(info: PanelInfo) -> str:
    grid = _grid(info.panel)
    where = f" in row {info.row!r}" if info.row is not None else ""
    if info.is_row:
        return f"row at y={grid['y']}" + (", collapsed" if info.panel.get("collapsed") else "")
    return f"{info.panel.get('type', '?')} at {fmt_position(grid)}, {fmt_size(grid)}{where}"


def panel_list_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    pairs, removed, added = match_panels(panel_infos(old), panel_infos(new))
    ordered: list[tuple[int, list[Change]]] = []
    for info in added:
        kind = "row" if info.is_row else "panel"
        ordered.append((info.order, [Change(kind, panel_label(info), "added", new=panel_outline(info),
                                            ref=_ref(None, info))]))
    renamed_rows = {before.title: after.title for before, after in pairs if after.is_row}
    for before, after in pairs:
        ordered.append((after.order, panel_changes(before, after, renamed_rows)))
    ordered.sort(key=lambda item: item[0])
    changes = [change for _, group in ordered for change in group]
    for info in removed:
        kind = "row" if info.is_row else "panel"
        changes.append(Change(kind, panel_label(info), "removed", old=panel_outline(info), ref=_ref(info, None)))
    return changes


def _defaults(panel: dict[str, Any]) -> dict[str, Any]:
    return (panel.get("fieldConfig") or {}).get("defaults") or {}


def fmt_thresholds(thresholds: Any) -> str | None:
    """Threshold steps as a reviewer reads them: "green, 0.8 orange, 0.9 red" (first step is the base)."""
    if not isinstance(thresholds, dict):
        return None
    steps = []
    for step in thresholds.get("steps") or []:
        value = step.get("value")
        steps.append(str(step.get("color")) if value is None else f"{fmt(value)} {step.get('color')}")
    mode = thresholds.get("mode")
    return ", ".join(steps) + (f" ({mode})" if mode and mode != "absolute" else "")


def panel_changes(old: PanelInfo, new: PanelInfo, renamed_rows: dict[str, str] | None = None) -> list[Change]:
    """Every change to one panel (or row) that kept its identity. `renamed_rows` maps old row titles to
    new ones, so that renaming a row does not move every panel in it."""
    kind = "row" if new.is_row else "panel"
    name = panel_label(new)
    ref = _ref(old, new)
    a, b = old.panel, new.panel
    changes: list[Change] = []
    if old.title != new.title:
        changes.append(Change(kind, name, "changed", "title", old.title, new.title, ref=ref))
    if a.get("type") != b.get("type"):
        changes.append(Change(kind, name, "changed", "type", a.get("type"), b.get("type"), ref=ref))
    old_grid, new_grid = _grid(a), _grid(b)
    if (old_grid["x"], old_grid["y"]) != (new_grid["x"], new_grid["y"]):
        changes.append(Change(kind, name, "moved", "position", fmt_position(old_grid), fmt_position(new_grid),
                              ref=ref))
    if (old_grid["w"], old_grid["h"]) != (new_grid["w"], new_grid["h"]):
        changes.append(Change(kind, name, "resized", "size", fmt_size(old_grid), fmt_size(new_grid), ref=ref))
    old_row = (renamed_rows or {}).get(old.row, old.row) if old.row is not None else None
    if old_row != new.row and not new.is_row:
        changes.append(Change(kind, name, "moved", "row", old.row, new.row, ref=ref))
    if a.get("description") != b.get("description"):
        changes.append(text_change(kind, name, "description", a.get("description"), b.get("description"), ref))
    changes += query_changes(kind, name, a, b, ref)
    if _defaults(a).get("unit") != _defaults(b).get("unit"):
        changes.append(Change(kind, name, "changed", "unit", _defaults(a).get("unit"), _defaults(b).get("unit"),
                              ref=ref))
    old_steps, new_steps = _defaults(a).get("thresholds"), _defaults(b).get("thresholds")
    if old_steps != new_steps:
        changes.append(Change(kind, name, "changed", "thresholds", fmt_thresholds(old_steps),
                              fmt_thresholds(new_steps), ref=ref))
    changes += setting_changes(kind, name, without(a, *PANEL_FIELDS_HANDLED), without(b, *PANEL_FIELDS_HANDLED),
                               ref=ref)
    if a.get("id") != b.get("id") and not changes:
        changes.append(Change(kind, name, "changed", "id", a.get("id"), b.get("id"), ref=ref))
    return changes


def _targets(panel: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for index, target in enumerate(panel.get("targets") or []):
        if isinstance(target, dict):
            out[str(target.get("refId") or f"#{index + 1}")] = target
    return out


def query_changes(kind: str, name: str, old: dict[str, Any], new: dict[str, Any],
                  ref: dict[str, Any]) -> list[Change]:
    """Queries matched by refId: the expression as a line diff, other target settings one by one."""
    old_targets, new_targets = _targets(old), _targets(new)
    changes: list[Change] = []
    for ref_id in [*old_targets, *(r for r in new_targets if r not in old_targets)]:
        before, after = old_targets.get(ref_id), new_targets.get(ref_id)
        label = f"query {ref_id}"
        if after is None:
            expr = str(before.get("expr", "")) if before else ""
            changes.append(Change(kind, name, "changed", label, expr, None, expression_diff(expr, ""),
                                  note="query removed", ref=ref))
        elif before is None:
            expr = str(after.get("expr", ""))
            changes.append(Change(kind, name, "changed", label, None, expr, expression_diff("", expr),
                                  note="query added", ref=ref))
        else:
            if before.get("expr") != after.get("expr"):
                changes.append(text_change(kind, name, label, before.get("expr"), after.get("expr"), ref))
            changes += setting_changes(kind, name, without(before, "expr", "refId"), without(after, "expr", "refId"),
                                       prefix=label, ref=ref)
    return changes


# --- Prometheus rules --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleInfo:
    kind: str  # "alert rule" or "recording rule"
    name: str
    rule: dict[str, Any]
    group: str
    path: str


def rule_infos(documents: Documents) -> dict[tuple[str, str], RuleInfo]:
    """Every rule of every file, keyed by kind and name (alerts sharing a name, as a warning and a
    critical variant do, are told apart by their severity, then by their labels)."""
    found: list[RuleInfo] = []
    for path, document in sorted(documents.items()):
        for group in _groups(document):
            for rule in group.get("rules") or []:
                if not isinstance(rule, dict):
                    continue
                kind = "alert rule" if "alert" in rule else "recording rule"
                found.append(RuleInfo(kind, str(rule.get("alert") or rule.get("record") or "?"), rule,
                                      str(group.get("name", "")), path))
    names = Counter((r.kind, r.name) for r in found)
    keyed: dict[tuple[str, str], RuleInfo] = {}
    for info in found:
        display = info.name
        if names[(info.kind, info.name)] > 1:
            labels = info.rule.get("labels") or {}
            display += f" [severity={labels['severity']}]" if "severity" in labels else f" {fmt(labels)}"
        key, number = (info.kind, display), 2
        while key in keyed:
            key, number = (info.kind, f"{display} #{number}"), number + 1
        keyed[key] = info
    return keyed


def _groups(document: Any) -> list[dict[str, Any]]:
    groups = document.get("groups") if isinstance(document, dict) else None
    return [g for g in groups or [] if isinstance(g, dict)]


RULE_FIELDS = ("expr", "for", "keep_firing_for", "labels", "annotations")


def diff_rules(old: Documents, new: Documents) -> list[Section]:
    old_rules, new_rules = rule_infos(old), rule_infos(new)
    changes: list[Change] = []
    changes += group_changes(old, new)
    for key in sorted({*old_rules, *new_rules}, key=lambda k: (k[0] != "alert rule", k[1])):
        kind, name = key
        before, after = old_rules.get(key), new_rules.get(key)
        if before is None and after is not None:
            changes.append(Change(kind, name, "added", new=_rule_outline(after), ref=_rule_ref(after)))
        elif after is None and before is not None:
            changes.append(Change(kind, name, "removed", old=_rule_outline(before), ref=_rule_ref(before)))
        elif before is not None and after is not None:
            changes += rule_changes(kind, name, before, after)
    if not changes:
        return []
    paths = sorted({*old, *new})
    status = "added" if not old else "removed" if not new else "changed"
    return [Section("rules", "prometheus-rules", "Prometheus rules", status, paths, changes)]


def _rule_ref(info: RuleInfo) -> dict[str, Any]:
    return {"file": info.path, "group": info.group}


def _rule_outline(info: RuleInfo) -> str:
    text = f"{info.rule.get('expr', '')}"
    if info.rule.get("for"):
        text += f" for {info.rule['for']}"
    severity = (info.rule.get("labels") or {}).get("severity")
    return text + (f" (severity {severity})" if severity else "")


def rule_changes(kind: str, name: str, old: RuleInfo, new: RuleInfo) -> list[Change]:
    ref = _rule_ref(new)
    a, b = old.rule, new.rule
    changes: list[Change] = []
    if a.get("expr") != b.get("expr"):
        changes.append(text_change(kind, name, "expr", str(a.get("expr", "")), str(b.get("expr", "")), ref))
    for key in ("for", "keep_firing_for"):
        if a.get(key) != b.get(key):
            changes.append(Change(kind, name, "changed", key, a.get(key), b.get(key), ref=ref))
    for key in ("labels", "annotations"):
        changes += setting_changes(kind, name, a.get(key) or {}, b.get(key) or {}, prefix=key, ref=ref)
    changes += setting_changes(kind, name, without(a, "alert", "record", *RULE_FIELDS),
                               without(b, "alert", "record", *RULE_FIELDS), ref=ref)
    if (old.path, old.group) != (new.path, new.group):
        changes.append(Change(kind, name, "moved", "group", f"{old.group} ({old.path})",
                              f"{new.group} ({new.path})", ref=ref))
    return changes


def group_changes(old: Documents, new: Documents) -> list[Change]:
    """Rule groups added or removed, and their own settings (interval, limit...)."""
    def groups(documents: Documents) -> dict[str, dict[str, Any]]:
        return {str(g.get("name")): g for _, d in sorted(documents.items()) for g in _groups(d)}

    old_groups, new_groups = groups(old), groups(new)
    changes: list[Change] = []
    for name in sorted({*old_groups, *new_groups}):
        if name not in old_groups:
            changes.append(Change("rule group", name, "added"))
        elif name not in new_groups:
            changes.append(Change("rule group", name, "removed"))
        else:
            changes += setting_changes("rule group", name, without(old_groups[name], "name", "rules"),
                                       without(new_groups[name], "name", "rules"))
    return changes


# --- Alertmanager ------------------------------------------------------------------------------------

def _matchers(route: dict[str, Any]) -> list[str]:
    """A route's matchers in one normal form, whichever syntax it uses (matchers, match, match_re)."""
    out = [re.sub(r"\s*(=~|!~|!=|=)\s*", r"\1", str(m).strip()) for m in route.get("matchers") or []]
    out += [f'{k}="{v}"' for k, v in (route.get("match") or {}).items()]
    out += [f'{k}=~"{v}"' for k, v in (route.get("match_re") or {}).items()]
    return sorted(out)


def route_entries(config: Any) -> dict[str, tuple[int, dict[str, Any]]]:
    """Every route of the tree, keyed by its matchers from the root down: 'root', '{severity="critical"}',
    '{team="x"} > {severity="critical"}'; with its position among its siblings."""
    out: dict[str, tuple[int, dict[str, Any]]] = {}

    def walk(route: dict[str, Any], chain: list[str], position: int) -> None:
        key = " > ".join(chain) if chain else "root"
        unique, number = key, 2
        while unique in out:
            unique, number = f"{key} #{number}", number + 1
        out[unique] = (position, route)
        for index, child in enumerate(route.get("routes") or []):
            if isinstance(child, dict):
                walk(child, [*chain, "{" + ", ".join(_matchers(child)) + "}"], index)

    route = config.get("route") if isinstance(config, dict) else None
    if isinstance(route, dict):
        walk(route, [], 0)
    return out


ROUTE_IDENTITY = ("routes", "matchers", "match", "match_re")


def diff_alertmanager(old: Documents, new: Documents) -> list[Section]:
    sections = []
    for path in sorted({*old, *new}):
        before, after = old.get(path), new.get(path)
        changes = alertmanager_changes(before if isinstance(before, dict) else {},
                                       after if isinstance(after, dict) else {})
        if changes:
            status = "added" if path not in old else "removed" if path not in new else "changed"
            sections.append(Section("alertmanager", path, "Alertmanager", status, [path], changes))
    return sections


def alertmanager_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    old_routes, new_routes = route_entries(old), route_entries(new)
    for key in [*new_routes, *(k for k in old_routes if k not in new_routes)]:
        if key not in old_routes:
            changes.append(Change("route", key, "added", new=_route_outline(new_routes[key][1])))
        elif key not in new_routes:
            changes.append(Change("route", key, "removed", old=_route_outline(old_routes[key][1])))
        else:
            (old_position, before), (new_position, after) = old_routes[key], new_routes[key]
            changes += setting_changes("route", key, without(before, *ROUTE_IDENTITY), without(after, *ROUTE_IDENTITY))
            if old_position != new_position:
                changes.append(Change("route", key, "moved", "position", old_position + 1, new_position + 1,
                                      note="routes are tried in order"))
    old_receivers = {str(r.get("name")): r for r in old.get("receivers") or [] if isinstance(r, dict)}
    new_receivers = {str(r.get("name")): r for r in new.get("receivers") or [] if isinstance(r, dict)}
    for name in sorted({*old_receivers, *new_receivers}):
        if name not in old_receivers:
            changes.append(Change("receiver", name, "added", new=_receiver_outline(new_receivers[name])))
        elif name not in new_receivers:
            changes.append(Change("receiver", name, "removed", old=_receiver_outline(old_receivers[name])))
        else:
            changes += setting_changes("receiver", name, without(old_receivers[name], "name"),
                                       without(new_receivers[name], "name"))
    old_inhibit = {fmt(r, 10**6): r for r in old.get("inhibit_rules") or []}
    new_inhibit = {fmt(r, 10**6): r for r in new.get("inhibit_rules") or []}
    changes += [Change("inhibit rule", _inhibit_outline(r), "added") for k, r in new_inhibit.items()
                if k not in old_inhibit]
    changes += [Change("inhibit rule", _inhibit_outline(r), "removed") for k, r in old_inhibit.items()
                if k not in new_inhibit]
    others = ("route", "receivers", "inhibit_rules")
    changes += setting_changes("alertmanager setting", "alertmanager", without(old, *others), without(new, *others))
    return changes


def _route_outline(route: dict[str, Any]) -> str:
    return f"to {route.get('receiver', '(parent receiver)')}" + (" (continue)" if route.get("continue") else "")


def _receiver_outline(receiver: dict[str, Any]) -> str:
    kinds = [k.removesuffix("_configs") for k in receiver if k.endswith("_configs")]
    return ", ".join(kinds) or "no integrations"


def _inhibit_outline(rule: Any) -> str:
    if not isinstance(rule, dict):
        return fmt(rule)
    source = ", ".join(_matchers({"matchers": rule.get("source_matchers"), "match": rule.get("source_match"),
                                  "match_re": rule.get("source_match_re")}))
    target = ", ".join(_matchers({"matchers": rule.get("target_matchers"), "match": rule.get("target_match"),
                                  "match_re": rule.get("target_match_re")}))
    equal = f" equal on {', '.join(rule.get('equal') or [])}" if rule.get("equal") else ""
    return f"{{{source}}} silences {{{target}}}{equal}"


# --- Datasources and any other file ------------------------------------------------------------------

def diff_datasources(old: Documents, new: Documents) -> list[Section]:
    sections = []
    for path in sorted({*old, *new}):
        before, after = old.get(path) or {}, new.get(path) or {}
        if before == after and path in old and path in new:
            continue

        def named(document: Any) -> dict[str, dict[str, Any]]:
            items = document.get("datasources") if isinstance(document, dict) else None
            return {str(d.get("name")): d for d in items or [] if isinstance(d, dict)}

        old_items, new_items = named(before), named(after)
        changes: list[Change] = []
        for name in sorted({*old_items, *new_items}):
            if name not in old_items:
                changes.append(Change("datasource", name, "added", new=new_items[name].get("type")))
            elif name not in new_items:
                changes.append(Change("datasource", name, "removed", old=old_items[name].get("type")))
            else:
                changes += setting_changes("datasource", name, without(old_items[name], "name"),
                                           without(new_items[name], "name"))
        if isinstance(before, dict) and isinstance(after, dict):
            changes += setting_changes("provisioning setting", "datasource provisioning",
                                       without(before, "datasources"), without(after, "datasources"))
        if changes:
            status = "added" if path not in old else "removed" if path not in new else "changed"
            sections.append(Section("datasources", path, "Grafana datasources", status, [path], changes))
    return sections


def diff_files(old: Documents, new: Documents) -> list[Section]:
    """Files no differ knows: added, removed, or each changed value by its path in the document."""
    sections = []
    for path in sorted({*old, *new}):
        if path not in old:
            sections.append(Section("file", path, path, "added", [path], [Change("file", path, "added")]))
        elif path not in new:
            sections.append(Section("file", path, path, "removed", [path], [Change("file", path, "removed")]))
        elif old[path] != new[path]:
            before, after = old[path], new[path]
            if isinstance(before, str) and isinstance(after, str):
                changes = [Change("file", path, "changed", "text", diff=line_diff(before, after))]
            else:
                changes = setting_changes("file", path, before, after)
            sections.append(Section("file", path, path, "changed", [path], changes))
    return sections


register_kind("dashboards", (f"{DASHBOARD_DIR}/*.json",), diff_dashboards)
register_kind("rules", RULES_PATTERNS, diff_rules)
register_kind("alertmanager", ALERTMANAGER_PATTERNS, diff_alertmanager)
register_kind("datasources", (DATASOURCES_FILE,), diff_datasources)


# --- Rendering ---------------------------------------------------------------------------------------

def _grouped(changes: list[Change]) -> Iterator[tuple[tuple[str, str], list[Change]]]:
    """Changes grouped by subject (two panels may share a title: their ids tell them apart), in
    first-seen order."""
    groups: dict[tuple[str, str, Any, Any], list[Change]] = {}
    for change in changes:
        key = (change.subject_kind, change.subject, change.ref.get("old_id"), change.ref.get("new_id"))
        groups.setdefault(key, []).append(change)
    for (kind, name, _, _), group in groups.items():
        yield (kind, name), group


def _subject(kind: str, name: str, changes: list[Change]) -> str:
    if kind.endswith("setting"):
        return name
    if kind == "route":
        return f"route {name}"
    ids = {(c.ref.get("old_id"), c.ref.get("new_id")) for c in changes if "old_id" in c.ref or "new_id" in c.ref}
    suffix = ""
    if len(ids) == 1:
        old_id, new_id = next(iter(ids))
        if old_id is None or new_id is None or old_id == new_id:
            suffix = f" (id {new_id if new_id is not None else old_id})"
        else:
            suffix = f" (id {old_id} -> {new_id})"
    return f'{kind} "{name}"{suffix}'


def _describe(change: Change) -> str:
    """One line for a change, without its diff."""
    if change.action == "added":
        return "added" + (f": {change.new}" if change.new not in (None, "") else "")
    if change.action == "removed":
        return "removed" + (f": {change.old}" if change.old not in (None, "") else "")
    if change.action in ("moved", "resized") and change.field in ("position", "size"):
        return f"{change.action}: {change.old} -> {change.new}" + (f" ({change.note})" if change.note else "")
    if change.action == "moved" and change.field == "row":
        return f"moved to another row: {fmt(change.old)} -> {fmt(change.new)}"
    if change.action == "moved":
        return f"moved ({change.field}): {change.old} -> {change.new}" + (f" ({change.note})" if change.note else "")
    note = f" ({change.note})" if change.note else ""
    if change.diff:
        return f"{change.field}{note}:"
    if change.field in ("thresholds",):
        return f"{change.field}: {change.old or '(none)'} -> {change.new or '(none)'}"
    return f"{change.field}: {fmt(change.old)} -> {fmt(change.new)}{note}"


def _section_heading(section: Section) -> str:
    if section.kind == "dashboard":
        return f'dashboard {section.key} "{section.title}": {section.status}'
    if section.kind == "file":
        return f"{section.key}: {section.status}"
    return f"{section.title} ({', '.join(section.paths)}): {section.status}"


def render_text(report: Report, *, name_only: bool = False) -> str:
    lines: list[str] = []
    if report.base:
        lines.append(f"comparing {report.base} with the {report.head}")
    lines += [f"note: {note}" for note in report.notes]
    for section in report.sections:
        if name_only:
            lines.append(_section_heading(section))
            continue
        lines.append(_section_heading(section))
        if section.kind in ("dashboard", "file") and section.status != "changed":
            detail = section.changes[0].new if section.status == "added" else section.changes[0].old
            if detail:
                lines[-1] += f" ({detail})"
            continue
        for (kind, name), changes in _grouped(section.changes):
            if len(changes) == 1 and not changes[0].diff:
                lines.append(f"  {_subject(kind, name, changes)}: {_describe(changes[0])}")
                continue
            lines.append(f"  {_subject(kind, name, changes)}")
            for change in changes:
                lines.append(f"    {_describe(change)}")
                lines += [f"      {line}" for line in change.diff]
    if lines:
        lines.append("")
    lines.append(report.summary())
    return "\n".join(lines) + "\n"


def _code(text: Any) -> str:
    """Inline code that survives backticks and pipes in the value."""
    value = str(text).replace("\n", " ").replace("|", "\\|")
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<|])", r"\\\1", text)


def _md_value(value: Any) -> str:
    if value is None:
        return "*(unset)*"
    return _code(value if isinstance(value, str) else fmt(value))


def _md_describe(change: Change) -> str:
    if change.action in ("added", "removed"):
        detail = change.new if change.action == "added" else change.old
        return f"**{change.action}**" + (f": {_code(detail)}" if detail not in (None, "") else "")
    note = f" ({_md_escape(change.note)})" if change.note else ""
    if change.action in ("moved", "resized"):
        what = "" if change.field in ("position", "size") else f" ({change.field})"
        return f"**{change.action}**{what}: {_md_value(change.old)} → {_md_value(change.new)}{note}"
    if change.diff:
        return f"{_code(change.field)}{note}:"
    return f"{_code(change.field)}: {_md_value(change.old)} → {_md_value(change.new)}{note}"


def _md_subject(kind: str, name: str, changes: list[Change]) -> str:
    if kind == "route":
        return f"Route {_code(name)}"
    text = _subject(kind, name, changes)
    quoted = f'"{name}"'
    if quoted in text:
        before, _, after = text.partition(quoted)
        return f"{_md_escape(before.capitalize())}{_code(name)}{_md_escape(after)}"
    return _md_escape(text[:1].upper() + text[1:])


def _md_diff(lines: list[str], indent: str) -> list[str]:
    fence = "```"
    while any(fence in line for line in lines):
        fence += "`"
    return [f"{indent}{fence}diff", *(f"{indent}{line}" for line in lines), f"{indent}{fence}"]


def render_markdown(report: Report, *, name_only: bool = False) -> str:
    """A pull-request comment: a heading per dashboard (or rule set), a bullet per change, PromQL and
    other text changes in ```diff blocks, and the summary line."""
    out = ["## Monitoring changes", ""]
    if report.base:
        out += [f"Compared {_md_escape(report.base)} with the {report.head}.", ""]
    out += [f"> **Note:** {_md_escape(note)}" for note in report.notes]
    if report.notes:
        out.append("")
    if not report.changed:
        return "\n".join([*out, "**No changes.**", ""])
    if name_only:
        out += ["| Artifact | Change |", "| --- | --- |"]
        out += [f"| {_md_escape(_section_name(s))} | {s.status} |" for s in report.sections]
        return "\n".join([*out, "", f"**Summary:** {report.summary()}", ""])
    for section in report.sections:
        out += [f"### {_section_name(section, markdown=True)} ({section.status})", ""]
        if section.kind in ("dashboard", "file") and section.status != "changed":
            detail = section.changes[0].new if section.status == "added" else section.changes[0].old
            out += [f"Dashboard {section.status}: {_code(detail)}" if detail else f"File {section.status}.", ""]
            continue
        for (kind, name), changes in _grouped(section.changes):
            subject = _md_subject(kind, name, changes)
            if len(changes) == 1 and not changes[0].diff:
                out.append(f"- **{subject}**: {_md_describe(changes[0])}")
                continue
            out.append(f"- **{subject}**")
            for change in changes:
                out.append(f"  - {_md_describe(change)}")
                if change.diff:
                    out += ["", *_md_diff(change.diff, "    "), ""]
        out.append("")
    out += [f"**Summary:** {report.summary()}", ""]
    return "\n".join(out)


def _section_name(section: Section, markdown: bool = False) -> str:
    if section.kind == "dashboard":
        if markdown:
            return f"Dashboard {_code(section.key)}: {_md_escape(section.title)}"
        return f"Dashboard {section.key}: {section.title}"
    if section.kind == "file":
        return _code(section.key) if markdown else section.key
    paths = ", ".join(_code(p) if markdown else p for p in section.paths)
    return f"{section.title} ({paths})"


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
