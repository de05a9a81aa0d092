"""obs preview: SVG pictures of dashboard layouts, checked as markup and in a real headless Chromium."""

from __future__ import annotations

import copy
import html
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from obs.diff import diff_documents
from obs.review import preview as pv

from helpers import run_obs

DASHBOARDS = "monitoring/grafana/dashboards"
SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = shutil.which("chromium")
# CI installs it (scripts/install-system-deps.sh): there a missing browser fails the test instead of skipping it.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="headless Chromium not installed (Debian package `chromium`: apt-get install chromium)")


@pytest.fixture
def dashboards(repo: Path) -> dict[str, Any]:
    return {f"{DASHBOARDS}/{p.name}": json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((repo / DASHBOARDS).glob("*.json"))}


def synthetic() -> dict[str, Any]:
    """A small dashboard: an open row with two panels, a collapsed row hiding one."""
    def panel(panel_id: int, title: str, x: int, y: int, w: int, h: int, kind: str = "timeseries") -> dict:
        return {"id": panel_id, "title": title, "type": kind, "gridPos": {"x": x, "y": y, "w": w, "h": h},
                "targets": [{"refId": "A", "expr": f"up{{panel='{panel_id}'}}"}]}

    return {"uid": "synthetic", "title": "Synthetic <&> dashboard", "panels": [
        {"id": 1, "type": "row", "title": "Open row", "collapsed": False, "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1},
         "panels": []},
        panel(2, "Left", 0, 1, 8, 6, "stat"),
        panel(3, "A very long panel title that cannot possibly fit in a narrow box", 8, 1, 4, 6),
        {"id": 4, "type": "row", "title": "Hidden things", "collapsed": True,
         "gridPos": {"x": 0, "y": 7, "w": 24, "h": 1}, "panels": [panel(5, "Hidden", 0, 8, 24, 8)]},
        panel(6, "Bottom", 0, 8, 24, 4),
    ]}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def boxes(svg: str) -> dict[str, dict[str, Any]]:
    """data-id -> {grid, x, y, width, height, status} of each panel group in the markup."""
    out = {}
    for group in parse(svg).iter(f"{SVG}g"):
        if group.get("class") != "panel":
            continue
        rect = next(r for r in group.iter(f"{SVG}rect") if r.get("class") == "box")
        out[group.get("data-id")] = {"grid": [int(v) for v in group.get("data-grid").split()],
                                     "status": group.get("data-status"),
                                     **{k: float(rect.get(k)) for k in ("x", "y", "width", "height")}}
    return out


# --- Markup ------------------------------------------------------------------------------------------

def test_boxes_follow_the_grid_and_rows_are_bands():
    svg = pv.render_dashboard(synthetic())
    found = boxes(svg)
    assert set(found) == {"2", "3", "6"}  # the collapsed row's panel is not drawn, as in Grafana
    for box in found.values():
        x, y, w, h = box["grid"]
        assert (box["x"], box["y"]) == (pv.MARGIN + x * pv.COLUMN_WIDTH, pv.HEADER + y * pv.ROW_HEIGHT)
        assert (box["width"], box["height"]) == (w * pv.COLUMN_WIDTH, h * pv.ROW_HEIGHT)
    rows = [g for g in parse(svg).iter(f"{SVG}g") if (g.get("class") or "").startswith("row")]
    assert [(g.get("data-id"), g.get("data-collapsed")) for g in rows] == [("1", "false"), ("4", "true")]
    texts = [t.text for t in parse(svg).iter(f"{SVG}text")]
    assert "▾ Open row" in texts
    assert "▸ Hidden things  (collapsed: 1 panel hidden)" in texts
    assert "Synthetic <&> dashboard" in texts  # escaped in the markup, whole again once parsed
    long_title = next(t for t in texts if t and t.startswith("A very"))
    assert long_title.endswith("…") and len(long_title) <= 20
    root = parse(svg)
    assert int(root.get("width")) == pv.WIDTH and float(root.get("height")) == pv.HEADER + 12 * 30 + pv.MARGIN


def test_rendering_is_deterministic(dashboards, tmp_path):
    for document in dashboards.values():
        assert pv.render_dashboard(document) == pv.render_dashboard(copy.deepcopy(document))
    first = pv.write_preview(dashboards, tmp_path / "a")
    second = pv.write_preview(dashboards, tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_preview_command(project, tmp_path):
    out = tmp_path / "pictures"
    result = run_obs("preview", "--root", str(project), "--out", str(out))
    assert result.exit_code == 0, result.output
    uids = sorted(p.stem for p in (project / DASHBOARDS).glob("*.json"))
    assert sorted(p.name for p in out.iterdir()) == sorted([*(f"{u}.svg" for u in uids), "index.html"])
    index = (out / "index.html").read_text(encoding="utf-8")
    for uid in uids:
        assert f'<img src="{uid}.svg"' in index
        parse((out / f"{uid}.svg").read_text(encoding="utf-8"))  # well-formed XML


def test_diff_statuses_highlight_changed_panels(dashboards, tmp_path):
    path, old = next((p, d) for p, d in dashboards.items()
                     if sum(1 for q in d["panels"] if q.get("type") != "row") >= 4)
    new = copy.deepcopy(old)
    panels = [p for p in new["panels"] if p.get("type") != "row"]
    panels[0]["targets"][0]["expr"] = "sum(up)"
    panels[1]["gridPos"]["h"] += 1
    panels[2]["gridPos"]["y"] += 50
    new["panels"].remove(panels[3])
    new["panels"].append({**copy.deepcopy(panels[0]), "id": 777, "title": "Brand new",
                          "gridPos": {"x": 0, "y": 80, "w": 6, "h": 4}})
    before, after = pv.panel_statuses(old, new)
    assert before == {panels[0]["id"]: "changed", panels[1]["id"]: "resized", panels[2]["id"]: "moved",
                      panels[3]["id"]: "removed"}
    assert after == {panels[0]["id"]: "changed", panels[1]["id"]: "resized", panels[2]["id"]: "moved",
                     777: "added"}

    report = diff_documents({path: old}, {path: new})
    report.base = "main (abc)"
    written = pv.write_diff_preview({path: old}, {path: new}, report, tmp_path)
    uid = old["uid"]
    assert [p.name for p in written] == [f"{uid}.before.svg", f"{uid}.after.svg", "index.html"]
    after_svg = (tmp_path / f"{uid}.after.svg").read_text(encoding="utf-8")
    statuses = {k: v["status"] for k, v in boxes(after_svg).items() if v["status"]}
    assert statuses == {str(panels[0]["id"]): "changed", str(panels[1]["id"]): "resized",
                        str(panels[2]["id"]): "moved", "777": "added"}
    assert 'class="legend"' in after_svg and "moved or resized" in after_svg
    assert pv.COLORS["added"] in after_svg
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert f"{uid}.before.svg" in index and f"{uid}.after.svg" in index and "1 dashboard changed" in index


def test_a_change_inside_a_collapsed_row_marks_the_row():
    old = synthetic()
    new = copy.deepcopy(old)
    new["panels"][3]["panels"][0]["targets"][0]["expr"] = "sum(up)"
    _, after = pv.panel_statuses(old, new)
    svg = pv.render_dashboard(new, statuses=after, legend=True)
    row = next(g for g in parse(svg).iter(f"{SVG}g") if g.get("data-id") == "4")
    assert row.get("data-status") == "changed"


# --- In a real browser -------------------------------------------------------------------------------

MEASURE = """
<script>
const out = [];
for (const [index, svg] of Array.from(document.querySelectorAll("#inline > svg")).entries()) {
  const origin = svg.getBoundingClientRect();
  for (const group of svg.querySelectorAll("g.panel, g.row")) {
    const box = group.querySelector("rect.box, rect.band").getBoundingClientRect();
    const label = group.querySelector("text").getBoundingClientRect();
    out.push({svg: index, uid: svg.dataset.uid, id: group.dataset.id, kind: group.getAttribute("class"),
              grid: group.dataset.grid, status: group.dataset.status || null,
              box: [box.left - origin.left, box.top - origin.top, box.width, box.height],
              label: [label.left - origin.left, label.top - origin.top, label.width, label.height]});
  }
}
const images = Array.from(document.images);
window.addEventListener("load", () => {
  document.getElementById("images").textContent = JSON.stringify(
    images.map(i => ({src: i.getAttribute("src"), width: i.naturalWidth, height: i.naturalHeight})));
});
document.getElementById("boxes").textContent = JSON.stringify(out);
</script>
"""


def chromium_dom(page: Path, profile: Path) -> str:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--allow-file-access-from-files", "--virtual-time-budget=5000",
               "--window-size=1280,1024", "--dump-dom", page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def measured(dom: str, element: str) -> Any:
    match = re.search(rf'<pre id="{element}">(.*?)</pre>', dom, re.S)
    assert match, f"no #{element} in the dumped DOM: {dom[:500]}"
    return json.loads(html.unescape(match.group(1)))


def harness(out: Path, index: str, svgs: list[str]) -> Path:
    """The index page as written, plus the pictures inline and a script that measures them."""
    inline = "\n".join(re.sub(r"^<\?xml[^>]*>", "", svg) for svg in svgs)
    page = index.replace("</body>", f'<div id="inline">{inline}</div><pre id="boxes"></pre>'
                                     f'<pre id="images"></pre>{MEASURE}</body>')
    path = out / "harness.html"
    path.write_text(page, encoding="utf-8")
    return path


def assert_where_grid_says(items: list[dict[str, Any]]) -> None:
    for item in items:
        x, y, w, h = (int(v) for v in item["grid"].split())
        expected = [pv.MARGIN + x * pv.COLUMN_WIDTH, pv.HEADER + y * pv.ROW_HEIGHT, w * pv.COLUMN_WIDTH,
                    h * pv.ROW_HEIGHT]
        assert item["box"] == pytest.approx(expected, abs=0.5), item
        left, top, width, height = item["label"]
        box_left, box_top, box_width, box_height = item["box"]
        assert width > 0 and height > 0, f"title of {item} not rendered"
        assert box_left <= left and left + width <= box_left + box_width + 1, f"title overflows its box: {item}"
        assert box_top <= top and top + height <= box_top + box_height + 1, f"title overflows its box: {item}"


@needs_chromium
def test_preview_renders_in_chromium_with_boxes_at_their_grid_positions(project, tmp_path):
    out = tmp_path / "pictures"
    assert run_obs("preview", "--root", str(project), "--out", str(out)).exit_code == 0
    svgs = sorted(out.glob("*.svg"))
    page = harness(out, (out / "index.html").read_text(encoding="utf-8"),
                   [p.read_text(encoding="utf-8") for p in svgs])
    dom = chromium_dom(page, tmp_path / "profile")

    items = measured(dom, "boxes")
    documents = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (project / DASHBOARDS).glob("*.json")}
    expected = sorted((uid, str(panel["id"])) for uid, d in documents.items() for panel in d["panels"])
    assert sorted((i["uid"], i["id"]) for i in items) == expected  # every top-level panel and row drawn
    for item in items:
        panel = next(p for p in documents[item["uid"]]["panels"] if str(p["id"]) == item["id"])
        grid = panel["gridPos"]
        if panel["type"] == "row":
            assert item["grid"] == f"0 {grid['y']} 24 1"
        else:
            assert item["grid"] == f"{grid['x']} {grid['y']} {grid['w']} {grid['h']}"
    assert_where_grid_says(items)

    images = measured(dom, "images")
    assert sorted(i["src"] for i in images) == sorted(p.name for p in svgs)
    for image in images:  # each SVG file loads on its own as an image, at its declared size
        svg = parse((out / image["src"]).read_text(encoding="utf-8"))
        assert (image["width"], image["height"]) == (int(svg.get("width")), int(float(svg.get("height")))), image


@needs_chromium
def test_diff_preview_renders_in_chromium(tmp_path):
    old = synthetic()
    new = copy.deepcopy(old)
    new["panels"][1]["gridPos"].update(x=12, w=12)  # Left: moved and resized
    new["panels"][2]["targets"][0]["expr"] = "sum(up)"  # the long-titled one: changed
    new["panels"].append({"id": 9, "title": "Added", "type": "stat", "gridPos": {"x": 0, "y": 12, "w": 6, "h": 3}})
    path = f"{DASHBOARDS}/synthetic.json"
    report = diff_documents({path: old}, {path: new})
    out = tmp_path / "diff"
    pv.write_diff_preview({path: old}, {path: new}, report, out)
    svgs = [(out / f"synthetic.{side}.svg").read_text(encoding="utf-8") for side in ("before", "after")]
    page = harness(out, (out / "index.html").read_text(encoding="utf-8"), svgs)
    items = measured(chromium_dom(page, tmp_path / "profile"), "boxes")
    assert_where_grid_says(items)
    before = {i["id"]: i["status"] for i in items if i["svg"] == 0 and i["kind"] == "panel"}
    after = {i["id"]: i["status"] for i in items if i["svg"] == 1 and i["kind"] == "panel"}
    assert before == {"2": "moved", "3": "changed", "6": None}
    assert after == {"2": "moved", "3": "changed", "6": None, "9": "added"}
    assert len(measured(chromium_dom(page, tmp_path / "profile2"), "images")) == 2
