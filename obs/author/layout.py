"""Lay panels out on Grafana's 24-column grid, so dashboard modules never write coordinates.

    layout(
        section("Service health", [(up_api, 6), (up_worker, 6)], height=4),
        section("Host", [(cpu, 12), (memory, 12)]),
    )

Each section starts with a row panel (when titled) and flows its panels left to right, wrapping at 24.

A dashboard whose panels do not flow that way (brought in by `obs import`) places them with `at(panel, x=...,
y=..., w=..., h=...)` instead, its coordinates kept as Grafana had them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import attr
import grafanalib.core as G

GRID_COLUMNS = 24
# The compiler lays this over a section's row panel: row settings the section does not model (a repeat, a
# datasource Grafana's migrations gave it), kept as they were.
ROW_EXTRA_KEY = "__obs_row_extra__"


@dataclass(frozen=True)
class Section:
    title: str | None
    panels: Sequence[tuple[G.Panel, int]]
    height: int = 8
    collapsed: bool = False
    row_id: int | None = None
    row_extra: Mapping[str, Any] = field(default_factory=dict)


def section(
    title: str | None, panels: Sequence[tuple[G.Panel, int]], *, height: int = 8, collapsed: bool = False,
    row_id: int | None = None, row_extra: Mapping[str, Any] | None = None,
) -> Section:
    """`row_id` keeps the id the row had in Grafana; `row_extra` holds row settings kept as Grafana had them."""
    return Section(title, panels, height, collapsed, row_id, dict(row_extra or {}))


@attr.s
class _Row(G.RowPanel):
    extra = attr.ib(factory=dict)

    def to_json_data(self) -> dict[str, Any]:
        return {**super().to_json_data(), ROW_EXTRA_KEY: self.extra}


def at(panel: G.Panel, *, x: int, y: int, w: int, h: int) -> G.Panel:
    """`panel` at a fixed place on the grid (for a layout that sections cannot express)."""
    panel.gridPos = G.GridPos(h=h, w=w, x=x, y=y)
    return panel


class LayoutError(ValueError):
    """A layout that cannot be placed on the grid as written."""


def layout(*sections: Section) -> list[G.Panel]:
    placed: list[G.Panel] = []
    where: dict[int, str] = {}  # id(panel) -> the section it was placed in
    y = 0
    for part in sections:
        row = None
        if part.title is not None:
            grid = G.GridPos(h=1, w=24, x=0, y=y)
            if part.row_id is None and not part.row_extra:
                row = G.RowPanel(title=part.title, collapsed=part.collapsed, gridPos=grid)
            else:
                row = _Row(title=part.title, collapsed=part.collapsed, gridPos=grid, id=part.row_id,
                           extra=dict(part.row_extra))
            placed.append(row)
            y += 1
        x = 0
        children: list[G.Panel] = []
        for panel, width in part.panels:
            if not 0 < width <= GRID_COLUMNS:
                raise LayoutError(f"panel {panel.title!r}: width {width} is outside 1..{GRID_COLUMNS}")
            here = repr(part.title) if part.title is not None else "an untitled section"
            if id(panel) in where:
                # One object has one gridPos: a second placement would move the first one onto it.
                raise LayoutError(f"panel {panel.title!r} is placed twice (in {where[id(panel)]} and in {here}): "
                                  "a panel object goes in one place; build a second panel for the other")
            where[id(panel)] = here
            if x + width > GRID_COLUMNS:
                x, y = 0, y + part.height
            panel.gridPos = G.GridPos(h=part.height, w=width, x=x, y=y)
            children.append(panel)
            x += width
        if children:
            y += part.height
        if row is not None and part.collapsed:
            # Grafana keeps a collapsed row's panels inside the row, not in the top-level list.
            row.panels = children
        else:
            placed.extend(children)
    return placed
