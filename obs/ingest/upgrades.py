"""The panel steps of Grafana's DashboardMigrator (public/app/features/dashboard/state/DashboardMigrator.ts
`updateSchema`, read at grafana/grafana commit 01e3d94), one function per schema version that upgrades panels,
named by it; obs.ingest.migrate runs them in Grafana's order, on every panel and every panel of a row.

Each takes a panel (a dict it may change) and returns it, as Grafana's PanelSchemeUpgradeHandler does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

GRID_COLUMNS = 24
Panel = dict[str, Any]
PanelUpgrade = Callable[[Panel], Panel]


def v4_alias_y_axis(panel: Panel) -> Panel:
    if panel.get("type") == "graph" and isinstance(panel.get("aliasYAxis"), dict):
        for key, value in panel["aliasYAxis"].items():
            panel["seriesOverrides"] = [{"alias": key, "yaxis": value}]
    if panel.get("type") == "graph":
        panel.pop("aliasYAxis", None)
    return panel


def v7_ref_ids(panel: Panel) -> Panel:
    targets = [t for t in panel.get("targets") or [] if isinstance(t, dict)]
    for target in targets:
        if not target.get("refId"):
            target["refId"] = _next_ref_id(targets)
    return panel


def v9_singlestat_thresholds(panel: Panel) -> Panel:
    if panel.get("type") != "singlestat" and panel.get("thresholds") != "":
        return panel
    if isinstance(panel.get("thresholds"), str) and panel["thresholds"]:
        parts = panel["thresholds"].split(",")
        if len(parts) >= 3:
            panel["thresholds"] = ",".join(parts[1:])
    return panel


def v10_table_thresholds(panel: Panel) -> Panel:
    if panel.get("type") == "table":
        for style in panel.get("styles") or []:
            if isinstance(style.get("thresholds"), list) and len(style["thresholds"]) >= 3:
                style["thresholds"] = style["thresholds"][1:]
    return panel


def v12_graph_axes(panel: Panel) -> Panel:
    grid = panel.get("grid")
    if panel.get("type") != "graph" or not isinstance(grid, dict) or panel.get("yaxes"):
        return panel
    formats = panel.get("y_formats") or [None, None]
    panel["yaxes"] = [
        {"show": panel.get("y-axis"), "min": grid.get("leftMin"), "max": grid.get("leftMax"),
         "logBase": grid.get("leftLogBase"), "format": formats[0], "label": panel.get("leftYAxisLabel")},
        {"show": panel.get("y-axis"), "min": grid.get("rightMin"), "max": grid.get("rightMax"),
         "logBase": grid.get("rightLogBase"), "format": formats[1] if len(formats) > 1 else None,
         "label": panel.get("rightYAxisLabel")},
    ]
    panel["xaxis"] = {"show": panel.get("x-axis")}
    for key in ("leftMin", "leftMax", "leftLogBase", "rightMin", "rightMax", "rightLogBase"):
        grid.pop(key, None)
    for key in ("y_formats", "leftYAxisLabel", "rightYAxisLabel", "y-axis", "x-axis"):
        panel.pop(key, None)
    return panel


def v13_graph_thresholds(panel: Panel) -> Panel:
    grid = panel.get("grid")
    if panel.get("type") != "graph" or not isinstance(grid, dict):
        return panel
    thresholds = panel.setdefault("thresholds", [])
    pair = []
    for which in ("threshold1", "threshold2"):
        threshold: dict[str, Any] = {}
        if grid.get(which) is not None:
            threshold["value"] = grid[which]
            kind = "line" if grid.get("thresholdLine") else "fill"
            threshold[kind] = True
            threshold[f"{kind}Color"] = grid.get(f"{which}Color")
            threshold["colorMode"] = "custom"
        pair.append(threshold)
    t1, t2 = pair
    if _is_number(t1.get("value")):
        if _is_number(t2.get("value")):
            t1["op"] = t2["op"] = "lt" if t1["value"] > t2["value"] else "gt"
            thresholds += [t1, t2]
        else:
            t1["op"] = "gt"
            thresholds.append(t1)
    for key in ("threshold1", "threshold1Color", "threshold2", "threshold2Color", "thresholdLine"):
        grid.pop(key, None)
    return panel


def v17_min_span(panel: Panel) -> Panel:
    if panel.get("minSpan"):
        most = GRID_COLUMNS / panel["minSpan"]
        factors = [f for f in range(1, GRID_COLUMNS + 1) if GRID_COLUMNS % f == 0]
        index = next((i for i, f in enumerate(factors) if f > most), 0) - 1
        panel["maxPerRow"] = factors[index]
    panel.pop("minSpan", None)
    return panel


def v18_gauge_options(panel: Panel) -> Panel:
    if isinstance(panel.get("options-gauge"), dict):
        options = panel.pop("options-gauge")
        options["valueOptions"] = {key: options.get(key) for key in ("unit", "stat", "decimals", "prefix", "suffix")}
        if isinstance(options.get("thresholds"), list):
            options["thresholds"].reverse()
        for key in ("options", "unit", "stat", "decimals", "prefix", "suffix"):
            options.pop(key, None)
        panel["options"] = options
    return panel


def v19_panel_links(panel: Panel) -> Panel:
    """upgradePanelLink: old dashboard links of a panel become URL links."""
    if not isinstance(panel.get("links"), list):
        return panel
    links = []
    for link in panel["links"]:
        url = link.get("url")
        if not url and link.get("dashboard"):
            url = f"dashboard/db/{_slugify(link['dashboard'])}"
        if not url and link.get("dashUri"):
            url = f"dashboard/{link['dashUri']}"
        url = url or "/"
        for flag, variable in (("keepTime", "$__url_time_range"), ("includeVars", "$__all_variables")):
            if link.get(flag):
                url = _append_query(url, variable)
        if link.get("params"):
            url = _append_query(url, link["params"])
        links.append({"url": url, "title": link.get("title"), "targetBlank": link.get("targetBlank")})
    panel["links"] = links
    return panel


def v20_variables_syntax(text: str) -> str:
    replacements = {"__series_name": "__series.name", "$__series_name": "${__series.name}",
                    "__value_time": "__value.time", "__field_name": "__field.name", "$__field_name": "${__field.name}"}
    return re.sub(r"(\$__series_name)|(__series_name)|(__value_time)|(\$__field_name)|(__field_name)",
                  lambda match: replacements[match.group(0)], text)


def data_links(update: Callable[[str], str]) -> PanelUpgrade:
    def upgrade(panel: Panel) -> Panel:
        options = panel.get("options")
        if not isinstance(options, dict):
            return panel
        links = options.get("dataLinks")
        if isinstance(links, list):
            options["dataLinks"] = [{**link, "url": update(str(link.get("url") or ""))} for link in links]
        defaults = (options.get("fieldOptions") or {}).get("defaults") if isinstance(options.get("fieldOptions"),
                                                                                     dict) else None
        if isinstance(defaults, dict) and isinstance(defaults.get("links"), list):
            defaults["links"] = [{**link, "url": update(str(link.get("url") or ""))} for link in defaults["links"]]
        return panel

    return upgrade


def v22_table_align(panel: Panel) -> Panel:
    if panel.get("type") == "table":
        for style in panel.get("styles") or []:
            style["align"] = "auto"
    return panel


def v24_table_old(panel: Panel) -> Panel:
    if panel.get("type") == "table" and panel.get("styles") and panel.get("table") != "table2":
        panel["type"] = "table-old"
    return panel


def v26_text2(panel: Panel) -> Panel:
    if panel.get("type") == "text2":
        panel["type"] = "text"
        (panel.get("options") or {}).pop("angular", None)
    return panel


def v30_value_mappings(panel: Panel) -> Panel:
    config = panel.get("fieldConfig")
    if not isinstance(config, dict):
        return panel
    defaults = config.get("defaults")
    if isinstance(defaults, dict) and defaults.get("mappings"):
        defaults["mappings"] = upgrade_value_mappings(defaults["mappings"], defaults.get("thresholds"))
    for override in config.get("overrides") or []:
        for prop in override.get("properties") or []:
            if prop.get("id") == "mappings" and prop.get("value"):
                prop["value"] = upgrade_value_mappings(prop["value"], None)
    return panel


def upgrade_value_mappings(old: list[Any], thresholds: Any) -> list[Any]:
    """upgradeValueMappings (DashboardMigrator.ts): old value and range maps to the current mapping model,
    each coloured as the thresholds colour its text."""
    value_map: dict[str, Any] = {"type": "value", "options": {}}
    mappings: list[Any] = []
    for item in old:
        if not isinstance(item, dict):
            continue
        if item.get("type") and item.get("options"):
            if item["type"] == "value":
                value_map["options"] = {**value_map["options"], **item["options"]}
            else:
                mappings.append(item)
            continue
        color = None
        numeric = _parse_float(item.get("text"))
        if isinstance(thresholds, dict) and numeric is not None:
            color = _active_threshold_color(numeric, thresholds.get("steps") or [])
        result = {"text": item.get("text"), **({"color": color} if color else {})}
        if item.get("type") == 1 and item.get("value") is not None:
            if item["value"] == "null":
                mappings.append({"type": "special", "options": {"match": "null", "result": result}})
            else:
                value_map["options"][str(item["value"])] = result
        elif item.get("type") == 2:
            mappings.append({"type": "range", "options": {"from": _to_number(item.get("from")),
                                                          "to": _to_number(item.get("to")), "result": result}})
    if value_map["options"]:
        mappings.insert(0, value_map)
    return mappings


def v30_tooltip_options(panel: Panel) -> Panel:
    options = panel.get("options")
    if panel.get("type") in ("timeseries", "xychart") and isinstance(options, dict) and "tooltipOptions" in options:
        options["tooltip"] = options.pop("tooltipOptions")
    return panel


def v31_labels_to_fields(panel: Panel) -> Panel:
    transformations = panel.get("transformations")
    if isinstance(transformations, list) and any(t.get("id") == "labelsToFields" for t in transformations):
        out = []
        for transformation in transformations:
            out.append(transformation)
            if transformation.get("id") == "labelsToFields":
                out.append({"id": "merge", "options": {}})
        panel["transformations"] = out
    return panel


def v35_x_axis(panel: Panel) -> Panel:
    custom = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("custom") or {}
    if panel.get("type") == "timeseries" and custom.get("axisPlacement") == "hidden":
        panel["fieldConfig"]["overrides"] = [*(panel["fieldConfig"].get("overrides") or []), {
            "matcher": {"id": "byType", "options": "time"},
            "properties": [{"id": "custom.axisPlacement", "value": "auto"}]}]
    return panel


def v37_legend(panel: Panel) -> Panel:
    options = panel.get("options")
    legend = options.get("legend") if isinstance(options, dict) else None
    if isinstance(legend, dict):
        if legend.get("displayMode") == "hidden" or legend.get("showLegend") is False:
            legend["displayMode"] = "list"
            legend["showLegend"] = False
        else:
            options["legend"] = {**legend, "showLegend": True}
    return panel


# migrateTableDisplayModeToCellOptions (packages/grafana-ui/src/components/Table/utils.ts)
CELL_OPTIONS = {
    "basic": {"type": "gauge", "mode": "basic"},
    "gradient-gauge": {"type": "gauge", "mode": "gradient"},
    "lcd-gauge": {"type": "gauge", "mode": "lcd"},
    "color-background": {"type": "color-background", "mode": "gradient"},
    "color-background-solid": {"type": "color-background", "mode": "basic"},
}


def _cell_options(mode: Any) -> dict[str, Any]:
    return dict(CELL_OPTIONS.get(mode, {"type": mode}))


def v38_table_cell_options(panel: Panel) -> Panel:
    config = panel.get("fieldConfig")
    if panel.get("type") != "table" or not isinstance(config, dict):
        return panel
    custom = (config.get("defaults") or {}).get("custom")
    if isinstance(custom, dict) and "displayMode" in custom:
        custom["cellOptions"] = _cell_options(custom.pop("displayMode"))
    for override in config.get("overrides") or []:
        for prop in override.get("properties") or []:
            if prop.get("id") == "custom.displayMode":
                prop["id"] = "custom.cellOptions"
                prop["value"] = _cell_options(prop.get("value"))
    return panel


def v39_time_series_table(panel: Panel) -> Panel:
    for transformation in panel.get("transformations") or []:
        options = transformation.get("options")
        if (transformation.get("id") == "timeSeriesTable" and isinstance(options, dict)
                and isinstance(options.get("refIdToStat"), dict)):
            transformation["options"] = {ref: {"stat": stat} for ref, stat in options["refIdToStat"].items()}
    return panel


def v42_hide_from(panel: Panel) -> Panel:
    for override in (panel.get("fieldConfig") or {}).get("overrides") or []:
        for prop in override.get("properties") or []:
            value = prop.get("value")
            if prop.get("id") == "custom.hideFrom" and isinstance(value, dict) and value.get("viz") is True:
                value["tooltip"] = True
    return panel


# ---------------------------------------------------------------------- helpers

def _next_ref_id(targets: list[dict[str, Any]]) -> str:
    used = {t.get("refId") for t in targets}
    letter = 0
    while True:
        ref = ""
        n = letter
        while True:
            ref = chr(ord("A") + n % 26) + ref
            n = n // 26 - 1
            if n < 0:
                break
        if ref not in used:
            return ref
        letter += 1

def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

def _parse_float(value: Any) -> float | None:
    match = re.match(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", str(value)) if value is not None else None
    return float(match.group(0)) if match else None

def _to_number(value: Any) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else number

def _active_threshold_color(value: float, steps: list[Any]) -> str | None:
    """getActiveThreshold: the last step whose value is at or below `value` (the first step is -Infinity)."""
    color = None
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        bound = step.get("value")
        if index == 0 or bound is None or value >= bound:
            color = step.get("color")
        else:
            break
    return color

def _slugify(text: str) -> str:
    """kbn.slugifyForUrl."""
    return re.sub(r"[^\w]+", "-", re.sub(r"[^\w\s-]", "", text.lower())).strip("-")

def _append_query(url: str, query: str) -> str:
    """urlUtil.appendQueryToUrl."""
    return f"{url}{'&' if '?' in url else '?'}{query}"
