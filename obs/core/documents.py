"""Walking parsed JSON/YAML documents: every string, every dashboard panel, a value by its keys, and the
name a message gives the object a JSON path points into."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


def iter_strings(node: Any, path: list[str | int] | None = None) -> Iterator[tuple[list[str | int], str]]:
    """Every string in a parsed document, with its path."""
    path = path or []
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from iter_strings(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from iter_strings(value, [*path, index])


def dig(node: Any, *keys: str | int) -> Any:
    """node[k1][k2]..., or None as soon as a key is missing or a value has the wrong kind."""
    for key in keys:
        if isinstance(node, dict) and isinstance(key, str):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
            node = node[key]
        else:
            return None
    return node


def panels_with_paths(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[str | int]]]:
    """Every panel of a dashboard, rows and the panels inside collapsed rows included, with its JSON path."""
    for index, panel in enumerate(document.get("panels") or []):
        if not isinstance(panel, dict):
            continue
        yield panel, ["panels", index]
        for child_index, child in enumerate(panel.get("panels") or []):
            if isinstance(child, dict):
                yield child, ["panels", index, "panels", child_index]


def _innermost(document: dict[str, Any], path: Sequence[str | int]) -> tuple[dict | None, dict | None]:
    """The innermost panel and template variable the JSON path runs through (None where there is none)."""
    node: Any = document
    panel = None
    variable = None
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and "gridPos" in node and "type" in node:
            panel = node
        if isinstance(node, dict) and "name" in node and "type" in node and "gridPos" not in node:
            variable = node
    return panel, variable


def panel_at(document: dict[str, Any], path: Sequence[str | int]) -> dict[str, Any] | None:
    """The panel a JSON path points into, if any."""
    return _innermost(document, path)[0]


def describe_dashboard_object(document: dict[str, Any], path: Sequence[str | int]) -> str:
    """Name the dashboard and, when the path is inside one, the panel or variable."""
    name = f"dashboard {document.get('uid', '?')!r}"
    panel, variable = _innermost(document, path)
    if panel is not None:
        name += f" panel {panel.get('title', '')!r} (id {panel.get('id', '?')})"
    elif variable is not None and "templating" in path:
        name += f" variable {variable.get('name')!r}"
    return name
