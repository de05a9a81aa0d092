"""Dashboards: panels matched across the two builds by id, then by title and position; per panel the
title, queries, unit, thresholds, description and position; variables; dashboard settings."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from obs.core.documents import panels_with_paths
from obs.diff.model import Change, Documents, Section
from obs.diff.values import expression_diff, fmt, setting_changes, text_change, without


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
