"""Datasources by name, and a structural diff of any other file."""

from __future__ import annotations

from typing import Any

from obs.diff.model import Change, Documents, Section
from obs.diff.values import line_diff, setting_changes, without


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
