"""Pictures of dashboard layouts, for review: SVG, drawn from the compiled JSON, no dependencies.

Grafana's grid is 24 columns wide and counts heights in units of 30 px; here a column is COLUMN_WIDTH
px and a height unit ROW_HEIGHT px, so a panel with gridPos {x, y, w, h} is the box

    left = MARGIN + x * COLUMN_WIDTH     top = HEADER + y * ROW_HEIGHT
    width = w * COLUMN_WIDTH             height = h * ROW_HEIGHT

Each panel box shows its title and type; a row is a band across the grid with its title, and a collapsed
row says how many panels it hides (they are not drawn: Grafana does not show them either). For a diff,
boxes get a colored outline by what happened to them, with a legend. Output is deterministic: the same
documents give the same bytes.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obs.author.layout import GRID_COLUMNS
from obs.core.documents import panels_with_paths
from obs.core.paths import is_dashboard_file
from obs.diff.dashboards import dashboard_key, match_panels, panel_changes, panel_infos
from obs.diff.model import Documents, Report

COLUMN_WIDTH = 40
ROW_HEIGHT = 30
MARGIN = 16
HEADER = 56  # room for the dashboard's title and caption above the grid
LEGEND_HEIGHT = 36
WIDTH = 2 * MARGIN + GRID_COLUMNS * COLUMN_WIDTH
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
CHAR_WIDTH = 0.6  # of the font size: enough to decide where to cut a title

COLORS = {"added": "#2e7d32", "removed": "#c62828", "changed": "#ef6c00", "moved": "#1565c0", "resized": "#1565c0"}
LEGEND = [("added", "added"), ("removed", "removed"), ("changed", "changed"), ("moved", "moved or resized")]
PANEL_FILL, ROW_FILL, COLLAPSED_FILL = "#eef2f6", "#d5dde6", "#c3cedb"


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    width: float
    height: float


def panel_box(grid: Mapping[str, Any]) -> Box:
    """Where a gridPos is drawn, in SVG pixels."""
    return Box(MARGIN + grid["x"] * COLUMN_WIDTH, HEADER + grid["y"] * ROW_HEIGHT,
               grid["w"] * COLUMN_WIDTH, grid["h"] * ROW_HEIGHT)


def _grid(panel: dict[str, Any]) -> dict[str, int] | None:
    grid = panel.get("gridPos")
    if not isinstance(grid, dict) or not all(isinstance(grid.get(k), int) for k in "xywh"):
        return None
    return {k: grid[k] for k in "xywh"}


def _attr(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fit(text: str, width: float, size: float) -> str:
    """Cut `text` with an ellipsis to fit `width` pixels at font `size`."""
    room = max(int(width / (size * CHAR_WIDTH)), 1)
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"


def _num(value: float) -> str:
    return f"{value:g}"


def render_dashboard(document: dict[str, Any], *, statuses: Mapping[Any, str] | None = None,
                     caption: str = "", legend: bool = False) -> str:
    """The layout of one compiled dashboard as an SVG document.

    `statuses` maps panel ids to "added", "removed", "changed", "moved" or "resized": those boxes get that
    color and say so under their title.
    """
    statuses = statuses or {}
    top_level = [p for p in document.get("panels") or [] if isinstance(p, dict)]
    bottom = max((g["y"] + g["h"] for g in map(_grid, top_level) if g), default=0)
    height = HEADER + bottom * ROW_HEIGHT + MARGIN + (LEGEND_HEIGHT if legend else 0)
    title = str(document.get("title") or document.get("uid") or "dashboard")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{_num(height)}" '
        f'viewBox="0 0 {WIDTH} {_num(height)}" font-family="{FONT}" data-uid="{_attr(document.get("uid", ""))}">',
        f"<title>{html.escape(title)}</title>",
        f'<rect class="background" x="0" y="0" width="{WIDTH}" height="{_num(height)}" fill="#ffffff"/>',
        f'<text class="dashboard-title" x="{MARGIN}" y="24" font-size="18" font-weight="bold" fill="#1f2933">'
        f"{html.escape(_fit(title, WIDTH - 2 * MARGIN, 18))}</text>",
        f'<text class="caption" x="{MARGIN}" y="44" font-size="12" fill="#52606d">'
        f"{html.escape(_fit(caption or str(document.get('uid', '')), WIDTH - 2 * MARGIN, 12))}</text>",
        # The grid: faint column lines so positions can be read off.
        '<g class="grid" stroke="#e4e7eb" stroke-width="1">',
        *(f'<line x1="{MARGIN + c * COLUMN_WIDTH}" y1="{HEADER}" x2="{MARGIN + c * COLUMN_WIDTH}" '
          f'y2="{HEADER + bottom * ROW_HEIGHT}"/>' for c in range(GRID_COLUMNS + 1)),
        "</g>",
    ]
    for panel in top_level:
        grid = _grid(panel)
        if grid is None:
            continue
        if panel.get("type") == "row":
            out += _row(panel, grid, statuses)
        else:
            out += _panel(panel, grid, statuses.get(panel.get("id")))
    if legend:
        out += _legend(HEADER + bottom * ROW_HEIGHT + MARGIN)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _panel(panel: dict[str, Any], grid: dict[str, int], status: str | None) -> list[str]:
    box = panel_box(grid)
    title = str(panel.get("title") or "(untitled)")
    kind = str(panel.get("type") or "?")
    status_attr = f' data-status="{status}"' if status else ""
    tooltip = f"{title} ({kind}, id {panel.get('id')})"
    out = [
        f'<g class="panel" data-id="{_attr(panel.get("id", ""))}" data-type="{_attr(kind)}" '
        f'data-grid="{grid["x"]} {grid["y"]} {grid["w"]} {grid["h"]}"{status_attr}>',
        f"<title>{html.escape(tooltip)}</title>",
        # The box itself sits exactly on its grid cells; the white stroke draws the gutter between boxes.
        f'<rect class="box" x="{_num(box.left)}" y="{_num(box.top)}" width="{_num(box.width)}" '
        f'height="{_num(box.height)}" fill="{PANEL_FILL}" stroke="#ffffff" stroke-width="4"/>',
    ]
    if status:
        out.append(f'<rect class="highlight" x="{_num(box.left + 3.5)}" y="{_num(box.top + 3.5)}" '
                   f'width="{_num(max(box.width - 7, 1))}" height="{_num(max(box.height - 7, 1))}" fill="none" '
                   f'stroke="{COLORS[status]}" stroke-width="3"/>')
    inner = box.width - 16
    out.append(f'<text class="panel-title" x="{_num(box.left + 8)}" y="{_num(box.top + 20)}" font-size="12" '
               f'font-weight="bold" fill="#1f2933">{html.escape(_fit(title, inner, 12))}</text>')
    if box.height >= 2 * ROW_HEIGHT:
        label = kind + (f" · {status}" if status else "")
        out.append(f'<text class="panel-type" x="{_num(box.left + 8)}" y="{_num(box.top + 36)}" font-size="11" '
                   f'fill="#616e7c">{html.escape(_fit(label, inner, 11))}</text>')
    out.append("</g>")
    return out


def _row(panel: dict[str, Any], grid: dict[str, int], statuses: Mapping[Any, str]) -> list[str]:
    box = panel_box({**grid, "x": 0, "w": GRID_COLUMNS, "h": 1})
    collapsed = bool(panel.get("collapsed"))
    children = [p for p in panel.get("panels") or [] if isinstance(p, dict)]
    status = statuses.get(panel.get("id"))
    if status is None and collapsed and any(statuses.get(c.get("id")) for c in children):
        status = "changed"  # its hidden panels changed: say so on the band
    title = str(panel.get("title") or "(untitled row)")
    label = ("▸ " if collapsed else "▾ ") + title
    if collapsed:
        label += f"  (collapsed: {len(children)} panel{'s' if len(children) != 1 else ''} hidden)"
    status_attr = f' data-status="{status}"' if status else ""
    out = [
        f'<g class="row{" collapsed" if collapsed else ""}" data-id="{_attr(panel.get("id", ""))}" '
        f'data-grid="{grid["x"]} {grid["y"]} {GRID_COLUMNS} 1" data-collapsed="{str(collapsed).lower()}"'
        f"{status_attr}>",
        f'<rect class="band" x="{_num(box.left)}" y="{_num(box.top)}" width="{_num(box.width)}" '
        f'height="{_num(box.height)}" fill="{COLLAPSED_FILL if collapsed else ROW_FILL}" stroke="#ffffff" '
        f'stroke-width="2"/>',
    ]
    if status:
        out.append(f'<rect class="highlight" x="{_num(box.left + 2.5)}" y="{_num(box.top + 2.5)}" '
                   f'width="{_num(box.width - 5)}" height="{_num(box.height - 5)}" fill="none" '
                   f'stroke="{COLORS[status]}" stroke-width="3"/>')
    out.append(f'<text class="row-title" x="{_num(box.left + 8)}" y="{_num(box.top + 20)}" font-size="13" '
               f'font-weight="bold" fill="#1f2933">{html.escape(_fit(label, box.width - 16, 13))}</text>')
    out.append("</g>")
    return out


def _legend(top: float) -> list[str]:
    out = ['<g class="legend" font-size="12" fill="#1f2933">']
    x = MARGIN
    for status, label in LEGEND:
        out.append(f'<rect x="{x}" y="{_num(top + 6)}" width="18" height="14" fill="{PANEL_FILL}" '
                   f'stroke="{COLORS[status]}" stroke-width="3"/>')
        out.append(f'<text x="{x + 26}" y="{_num(top + 18)}">{html.escape(label)}</text>')
        x += 26 + int(len(label) * 12 * CHAR_WIDTH) + 28
    out.append("</g>")
    return out


# --- Statuses for a diff -----------------------------------------------------------------------------

CONTENT_ACTIONS = {"changed"}


def panel_statuses(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[Any, str], dict[Any, str]]:
    """({old panel id: status}, {new panel id: status}) for the panels that differ: "removed" and
    "added"; "changed" when anything but the place changed; else "moved" (position or row) or "resized"."""
    pairs, removed, added = match_panels(panel_infos(old), panel_infos(new))
    renamed_rows = {a.title: b.title for a, b in pairs if b.is_row}
    before = {info.id: "removed" for info in removed}
    after = {info.id: "added" for info in added}
    for a, b in pairs:
        changes = [c for c in panel_changes(a, b, renamed_rows) if c.field != "id"]
        if not changes:
            continue
        actions = {c.action for c in changes}
        status = "changed" if actions & CONTENT_ACTIONS else "moved" if "moved" in actions else "resized"
        before[a.id] = after[b.id] = status
    return before, after


# --- Files -------------------------------------------------------------------------------------------

def _dashboards(documents: Documents) -> dict[str, tuple[str, dict[str, Any]]]:
    return {dashboard_key(path, doc): (path, doc) for path, doc in sorted(documents.items())
            if isinstance(doc, dict) and is_dashboard_file(path)}


def _safe_name(uid: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in uid) or "dashboard"


def write_preview(documents: Documents, out_dir: Path) -> list[Path]:
    """One SVG per dashboard and an index.html listing them; returns the files written (index last)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    entries: list[str] = []
    for uid, (_, document) in _dashboards(documents).items():
        name = f"{_safe_name(uid)}.svg"
        written.append(_write(out_dir / name, render_dashboard(document)))
        entries.append(_figure(str(document.get("title") or uid), uid, [("layout", name)]))
    written.append(_write(out_dir / "index.html", _index("Dashboard layouts", entries)))
    return written


def write_diff_preview(old: Documents, new: Documents, report: Report, out_dir: Path) -> list[Path]:
    """Before and after pictures of each dashboard the report lists, and an index.html."""
    out_dir.mkdir(parents=True, exist_ok=True)
    old_dashboards, new_dashboards = _dashboards(old), _dashboards(new)
    written: list[Path] = []
    entries: list[str] = []
    for section in (s for s in report.sections if s.kind == "dashboard"):
        uid = section.key
        before_doc = old_dashboards.get(uid, (None, None))[1]
        after_doc = new_dashboards.get(uid, (None, None))[1]
        if before_doc is not None and after_doc is not None:
            before_status, after_status = panel_statuses(before_doc, after_doc)
        else:
            before_status = {p.get("id"): "removed" for p, _ in panels_with_paths(before_doc or {})}
            after_status = {p.get("id"): "added" for p, _ in panels_with_paths(after_doc or {})}
        pictures = []
        for side, document, statuses, label in (("before", before_doc, before_status, report.base or "base"),
                                                ("after", after_doc, after_status, report.head)):
            if document is None:
                continue
            name = f"{_safe_name(uid)}.{side}.svg"
            caption = f"{side}: {uid} at {label}"
            written.append(_write(out_dir / name, render_dashboard(document, statuses=statuses, caption=caption,
                                                                   legend=True)))
            pictures.append((side, name))
        entries.append(_figure(f"{section.title} ({section.status})", uid, pictures))
    title = "Dashboard changes" + (f": {report.base} → {report.head}" if report.base else "")
    summary = f"<p>{html.escape(report.summary())}</p>"
    written.append(_write(out_dir / "index.html", _index(title, entries, summary)))
    return written


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def _figure(title: str, uid: str, pictures: list[tuple[str, str]]) -> str:
    images = "\n".join(
        f'<figure><figcaption><a href="{_attr(name)}">{html.escape(side)}</a></figcaption>'
        f'<a href="{_attr(name)}"><img src="{_attr(name)}" alt="{_attr(f"{uid} {side}")}" width="{WIDTH}"></a>'
        f"</figure>"
        for side, name in pictures)
    return (f'<section data-uid="{_attr(uid)}"><h2>{html.escape(title)} <code>{html.escape(uid)}</code></h2>\n'
            f'<div class="pictures">{images}</div></section>')


def _index(title: str, entries: list[str], intro: str = "") -> str:
    body = "\n".join(entries) if entries else "<p>No dashboards.</p>"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: {FONT}; margin: 24px; color: #1f2933; }}
.pictures {{ display: flex; flex-wrap: wrap; gap: 24px; }}
figure {{ margin: 0; }}
img {{ border: 1px solid #cbd2d9; max-width: 100%; height: auto; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
{intro}
{body}
</body>
</html>
"""
