"""Lay panels out on Grafana's 24-column grid, so dashboard modules never write coordinates.

    layout(
        section("Service health", [(up_api, 6), (up_worker, 6)], height=4),
        section("Host", [(cpu, 12), (memory, 12)]),
    )

Each section starts with a row panel (when titled) and flows its panels left to right, wrapping at 24.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grafanalib.core as G

GRID_COLUMNS = 24


@dataclass(frozen=True)
class Section:
    title: str | None
    panels: Sequence[tuple[G.Panel, int]]
    height: int = 8
    collapsed: bool = False


def section(
    title: str | None, panels: Sequence[tuple[G.Panel, int]], *, height: int = 8, collapsed: bool = False
) -> Section:
    return Section(title, panels, height, collapsed)


class LayoutError(ValueError):
    """A layout that cannot be placed on the grid as written."""


def layout(*sections: Section) -> list[G.Panel]:
    placed: list[G.Panel] = []
    where: dict[int, str] = {}  # id(panel) -> the section it was placed in
    y = 0
    for part in sections:
        row = None
        if part.title is not None:
            row = G.RowPanel(title=part.title, collapsed=part.collapsed, gridPos=G.GridPos(h=1, w=24, x=0, y=y))
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
