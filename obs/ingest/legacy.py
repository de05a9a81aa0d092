"""Angular panels, which Grafana 11 and later no longer have, changed to their React successors as Grafana
changes them when it loads a dashboard (PanelModel's automatic migration of Angular panels, then
`changePlugin`): the panel keeps its identity and queries (the properties PanelModel must keep, listed in
apps/dashboard/pkg/migration/schemaversion/angular_migration.go `mustKeepProperties`), everything else is
handed to the new plugin's change handler as the old panel's options, and what the handler returns becomes
the panel's options and field config.

    graph       -> timeseries   graphPanelChangedHandler / flotToGraphOptions
                                (public/app/plugins/panel/timeseries/migrations.ts, read at commit 31fea64)
    singlestat  -> stat         statPanelChangedHandler (public/app/plugins/panel/stat/StatMigrations.ts) over
                                sharedSingleStatPanelChangedHandler and convertOldAngularValueMapping
                                (packages/grafana-ui/src/components/SingleStatShared/SingleStatBaseOptions.ts)

Both go to the plugin Grafana 13 picks: a singlestat becomes a stat even when it showed a gauge (the backend port,
apps/dashboard/pkg/migration/schemaversion/v28.go, explains why the gauge branch never runs). A graph drawn
as series bars or as a histogram would become a barchart or a histogram panel, whose handlers obs import does not
have: those, and the other Angular panels in NOT_MIGRATED, are kept as they are, with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Panel = dict[str, Any]

MUST_KEEP = frozenset({
    "id", "gridPos", "type", "title", "scopedVars", "repeat", "repeatPanelId", "repeatDirection", "repeatedByRow",
    "minSpan", "collapsed", "panels", "targets", "datasource", "timeFrom", "timeShift", "hideTimeOverride",
    "description", "links", "fullscreen", "isEditing", "isViewing", "hasRefreshed", "events", "cacheTimeout",
    "queryCachingTTL", "cachedPluginOptions", "transparent", "pluginVersion", "queryRunner", "transformations",
    "fieldConfig", "maxDataPoints", "interval", "replaceVariables", "libraryPanel", "getDisplayTitle", "configRev",
    "key",
})
# The panel's own version goes: Grafana sets the new plugin's on load (obs writes the pinned Grafana's).
DROPPED_ON_CHANGE = frozenset({"pluginVersion"})

# Angular panels Grafana 13 migrates with handlers obs import does not implement, and what they become.
NOT_MIGRATED = {
    "table-old": "table",
    "grafana-piechart-panel": "piechart",
    "grafana-worldmap-panel": "geomap",
}

# fieldReducers ids a legacy legend or singlestat value name maps to (@grafana/data fieldReducers: each
# reducer's id and its aliasIds: mean 'avg', lastNotNull 'current', sum 'total').
REDUCERS = {
    "min": "min", "max": "max", "mean": "mean", "avg": "mean", "sum": "sum", "total": "sum", "count": "count",
    "last": "last", "lastNotNull": "lastNotNull", "current": "lastNotNull", "first": "first",
    "firstNotNull": "firstNotNull", "range": "range", "delta": "delta", "diff": "diff", "step": "step",
    "median": "median", "diffperc": "diffperc", "logmin": "logmin", "variance": "variance", "stdDev": "stdDev",
    "changeCount": "changeCount", "distinctCount": "distinctCount", "allIsNull": "allIsNull",
    "allIsZero": "allIsZero",
}


def _change_plugin(panel: Panel, new_type: str) -> tuple[Panel, dict[str, Any], dict[str, Any]]:
    """clearPropertiesBeforePluginChange: (the panel keeping what it must, the old options, the old field
    config)."""
    old_options = {k: v for k, v in panel.items() if k not in MUST_KEEP}
    old_field_config = panel.get("fieldConfig") if isinstance(panel.get("fieldConfig"), dict) else {}
    kept = {k: v for k, v in panel.items() if k in MUST_KEEP and k not in DROPPED_ON_CHANGE}
    kept["type"] = new_type
    return kept, old_options, old_field_config


# ---------------------------------------------------------------------- graph -> timeseries


def drawn_as(panel: Panel) -> str:
    """How a graph panel draws its x axis: time (a time series), series (bars per series) or histogram."""
    xaxis = panel.get("xaxis") if isinstance(panel.get("xaxis"), dict) else {}
    return str(xaxis.get("mode") or "time")


def graph_to_timeseries(panel: Panel) -> Panel:
    if drawn_as(panel) in ("series", "histogram"):
        return panel  # Grafana makes it a barchart or a histogram panel (see NOT_MIGRATED); the caller warns
    new, angular, field_config = _change_plugin(panel, "timeseries")
    config, options = flot_to_graph_options({**angular, "fieldConfig": field_config})
    new["fieldConfig"] = config
    new["options"] = options
    if angular.get("alert") is not None:
        new["alert"] = angular["alert"]
    return new


def flot_to_graph_options(angular: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """flotToGraphOptions: (fieldConfig, options) of the timeseries panel a flot graph becomes."""
    field_config = angular.get("fieldConfig") or {}
    overrides: list[Any] = list(field_config.get("overrides") or [])
    yaxes = angular.get("yaxes") or []
    y1 = _axis_config(yaxes[0] if yaxes else None)
    if isinstance(field_config.get("defaults"), dict):
        y1 = {**field_config["defaults"], **y1}
    dash = {"fill": "dash" if angular.get("dashes") else "solid",
            "dash": [_or(angular.get("dashLength"), 10), _or(angular.get("spaceLength"), 10)]}

    for alias, color in (angular.get("aliasColors") or {}).items():
        if color:
            overrides.append({"matcher": {"id": "byName", "options": alias},
                              "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}]})

    fill_below_to = False
    for series in angular.get("seriesOverrides") or []:
        alias = series.get("alias") if isinstance(series, dict) else None
        if not alias:
            continue
        is_regex = bool(re.match(r"^([/~@;%#'])(.*?)\1([gimsuy]*)$", alias))
        properties: list[dict[str, Any]] = []
        dash_override: dict[str, Any] | None = None
        for key, value in series.items():
            if key in ("alias", "$$hashKey"):
                continue
            if key == "yaxis":
                if value == 2:
                    _fill_y2(y1, _axis_config(yaxes[1] if len(yaxes) > 1 else None), properties)
            elif key == "fill":
                properties.append({"id": "custom.fillOpacity", "value": value * 10})
            elif key == "fillBelowTo":
                fill_below_to = True
                properties.append({"id": "custom.fillBelowTo", "value": value})
            elif key == "fillGradient":
                if value:
                    properties.append({"id": "custom.fillGradient", "value": "opacity"})
                    properties.append({"id": "custom.fillOpacity", "value": value * 10})
            elif key == "points":
                properties.append({"id": "custom.showPoints", "value": "always" if value else "never"})
            elif key == "bars":
                if value:
                    properties.append({"id": "custom.drawStyle", "value": "bars"})
                    properties.append({"id": "custom.fillOpacity", "value": 100})
                else:
                    properties.append({"id": "custom.drawStyle", "value": "line"})
            elif key == "lines":
                properties.append({"id": "custom.lineWidth", "value": 0})
            elif key == "linewidth":
                properties.append({"id": "custom.lineWidth", "value": value})
            elif key == "pointradius":
                properties.append({"id": "custom.pointSize", "value": 2 + value * 2})
            elif key in ("dashLength", "spaceLength", "dashes"):
                dash_override = dash_override or {"fill": dash["fill"], "dash": list(dash["dash"])}
                if key == "dashLength":
                    dash_override["dash"][0] = value
                elif key == "spaceLength":
                    dash_override["dash"][1] = value
                else:
                    dash_override["fill"] = "dash" if value else "solid"
            elif key == "stack":
                properties.append({"id": "custom.stacking", "value": {"mode": "normal", "group": value}})
            elif key == "color":
                properties.append({"id": "color", "value": {"fixedColor": value, "mode": "fixed"}})
            elif key == "transform":
                properties.append({"id": "custom.transform",
                                   "value": "negative-Y" if value == "negative-Y" else "constant"})
            # anything else: "Ignore override migration" in Grafana too
        if dash_override:
            properties.append({"id": "custom.lineStyle", "value": dash_override})
        if properties:
            overrides.append({"matcher": {"id": "byRegexp" if is_regex else "byName", "options": alias},
                              "properties": properties})

    graph = dict(y1.get("custom") or {})
    graph["drawStyle"] = "bars" if angular.get("bars") else "line" if angular.get("lines") else "points"
    if angular.get("points"):
        graph["showPoints"] = "always"
        if _is_number(angular.get("pointradius")):
            graph["pointSize"] = 2 + angular["pointradius"] * 2
    elif graph["drawStyle"] != "points":
        graph["showPoints"] = "never"
    graph["lineWidth"] = angular.get("linewidth")
    if dash["fill"] != "solid":
        graph["lineStyle"] = dash
    if fill_below_to:
        graph["fillOpacity"] = 35  # bands are hard-coded in flot
    elif _is_number(angular.get("fill")):
        graph["fillOpacity"] = angular["fill"] * 10
    if _is_number(angular.get("fillGradient")) and angular["fillGradient"] > 0:
        graph["gradientMode"] = "opacity"
        graph["fillOpacity"] = angular["fillGradient"] * 10
    graph["spanNulls"] = angular.get("nullPointMode") == "connected"  # NullValueMode.Ignore
    if angular.get("steppedLine"):
        graph["lineInterpolation"] = "stepAfter"
    if graph["drawStyle"] == "bars":
        graph["fillOpacity"] = 100
    if angular.get("stack"):
        graph["stacking"] = {"mode": "normal", "group": "A"}
    y1["custom"] = {k: v for k, v in graph.items() if v is not None}
    y1["nullValueMode"] = angular.get("nullPointMode")

    options: dict[str, Any] = {
        "legend": {"displayMode": "list", "showLegend": True, "placement": "bottom", "calcs": []},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    legend = angular.get("legend")
    if isinstance(legend, dict):
        if legend.get("show"):
            options["legend"]["displayMode"] = "table" if legend.get("alignAsTable") else "list"
        else:
            options["legend"]["showLegend"] = False
        if legend.get("rightSide"):
            options["legend"]["placement"] = "right"
        if legend.get("values"):
            options["legend"]["calcs"] = [REDUCERS[k] for k, v in legend.items() if v and k in REDUCERS]
        if legend.get("sideWidth"):
            options["legend"]["width"] = legend["sideWidth"]
    tooltip = angular.get("tooltip")
    if isinstance(tooltip, dict):
        if tooltip.get("shared") is not None:
            options["tooltip"]["mode"] = "multi" if tooltip["shared"] else "single"
        if tooltip.get("sort") is not None and tooltip.get("shared"):
            options["tooltip"]["sort"] = {1: "asc", 2: "desc"}.get(tooltip["sort"], "none")

    thresholds = [t for t in angular.get("thresholds") or [] if isinstance(t, dict)]
    if thresholds:
        steps: list[dict[str, Any]] = []
        area = line = False
        ordered = sorted(thresholds, key=lambda t: _sort_value(t.get("value")))
        for index, threshold in enumerate(ordered):
            following = ordered[index + 1] if index + 1 < len(ordered) else None
            area = area or bool(threshold.get("fill"))
            line = line or bool(threshold.get("line"))
            if threshold.get("op") == "gt":
                steps.append({"value": threshold.get("value"), "color": _threshold_color(threshold)})
            if threshold.get("op") == "lt":
                if not steps:
                    steps.append({"value": None, "color": _threshold_color(threshold)})
                if following and following.get("op") == "gt" and _sort_value(following.get("value")) > \
                        _sort_value(threshold.get("value")):
                    steps.append({"value": threshold.get("value"), "color": "transparent"})
                elif following and following.get("op") == "lt":
                    steps.append({"value": threshold.get("value"), "color": _threshold_color(following)})
                else:
                    steps.append({"value": threshold.get("value"), "color": "transparent"})
        if steps and steps[0]["value"] is not None:
            steps.insert(0, {"color": "transparent", "value": None})  # -Infinity, written as null
        mode = "line+area" if line and area else "area" if area else "line"
        y1["custom"]["thresholdsStyle"] = {"mode": mode}
        y1["thresholds"] = {"mode": "absolute", "steps": steps}

    xaxis = angular.get("xaxis")
    if isinstance(xaxis, dict) and xaxis.get("show") is False and xaxis.get("mode") == "time":
        overrides.append({"matcher": {"id": "byType", "options": "time"},
                          "properties": [{"id": "custom.axisPlacement", "value": "hidden"}]})
    return {"defaults": {k: v for k, v in y1.items() if v is not None}, "overrides": overrides}, options


def _axis_config(axis: Any) -> dict[str, Any]:
    """getFieldConfigFromOldAxis."""
    if not isinstance(axis, dict):
        return {}
    graph: dict[str, Any] = {"axisPlacement": "auto" if axis.get("show") else "hidden"}
    if axis.get("label"):
        graph["axisLabel"] = axis["label"]
    if axis.get("logBase") in (2, 10):
        graph["scaleDistribution"] = {"type": "log", "log": axis["logBase"]}
    out = {"unit": axis.get("format"), "decimals": _number(axis.get("decimals")), "min": _number(axis.get("min")),
           "max": _number(axis.get("max")), "custom": graph}
    return {k: v for k, v in out.items() if v is not None}


def _fill_y2(y1: dict[str, Any], y2: dict[str, Any], properties: list[dict[str, Any]]) -> None:
    """fillY2DynamicValues."""
    for key, value in y2.items():
        if key != "custom" and value != y1.get(key):
            properties.append({"id": key, "value": value})
    y1_custom = y1.get("custom") or {}
    for key, value in (y2.get("custom") or {}).items():
        if value != y1_custom.get(key):
            properties.append({"id": f"custom.{key}", "value": value})


def _threshold_color(threshold: dict[str, Any]) -> str:
    mode = threshold.get("colorMode")
    if mode == "warning":
        return "orange"
    if mode == "custom":
        return threshold.get("fillColor") or threshold.get("lineColor")
    return "red"


# ---------------------------------------------------------------------- singlestat -> stat


def singlestat_to_stat(panel: Panel) -> Panel:
    previous = panel.get("type")
    new, angular, _ = _change_plugin(panel, "stat")
    options: dict[str, Any] = {"reduceOptions": {"calcs": [REDUCERS.get(str(angular.get("valueName")), "mean")]},
                               "orientation": "horizontal"}
    defaults: dict[str, Any] = {}
    if angular.get("format"):
        defaults["unit"] = angular["format"]
    if angular.get("tableColumn"):
        options["reduceOptions"]["fields"] = f"/^{angular['tableColumn']}$/"
    if angular.get("nullPointMode"):
        defaults["nullValueMode"] = angular["nullPointMode"]
    if angular.get("nullText"):
        defaults["noValue"] = angular["nullText"]
    if angular.get("decimals") or angular.get("decimals") == 0:
        defaults["decimals"] = angular["decimals"]
    if angular.get("thresholds") and angular.get("colors"):
        levels = [_js_number(part) for part in str(angular["thresholds"]).split(",")]
        steps: list[dict[str, Any]] = []
        for color in angular["colors"]:
            index = len(steps) - 1
            if index < 0:
                steps.append({"value": None, "color": color})  # -Infinity
            elif index < len(levels):
                steps.append({"value": levels[index], "color": color})
            else:
                steps.append({"color": color})
        defaults["thresholds"] = {"mode": "absolute", "steps": steps}
    mappings = _old_value_mappings(angular)
    if mappings:
        defaults["mappings"] = mappings
    gauge = angular.get("gauge")
    if isinstance(gauge, dict) and gauge.get("show"):
        defaults["min"] = gauge.get("minValue")
        defaults["max"] = gauge.get("maxValue")
    config = new.get("fieldConfig") if isinstance(new.get("fieldConfig"), dict) else {"defaults": {}, "overrides": []}
    config["defaults"] = defaults
    config.setdefault("overrides", [])
    new["fieldConfig"] = config

    # statPanelChangedHandler, from an Angular singlestat
    sparkline = angular.get("sparkline") if isinstance(angular.get("sparkline"), dict) else {}
    options["graphMode"] = "area" if sparkline.get("show") else "none"
    if angular.get("colorBackground"):
        options["colorMode"] = "background"
    elif angular.get("colorValue"):
        options["colorMode"] = "value"
    else:
        options["colorMode"] = "none"
        if sparkline.get("lineColor") and options["graphMode"] == "area":
            defaults["color"] = {"mode": "fixed", "fixedColor": sparkline["lineColor"]}
    if angular.get("valueName") == "name":
        options["textMode"] = "name"
    new["options"] = options
    if previous == "grafana-singlestat-panel":
        new["options"] = {**(panel.get("options") or {}), **options}
    return new


def _old_value_mappings(angular: dict[str, Any]) -> list[dict[str, Any]]:
    """convertOldAngularValueMapping: singlestat's value or range maps, in the model schema 30 upgrades."""
    mapping_type = angular.get("mappingType")
    if not mapping_type:
        if angular.get("valueMaps"):
            mapping_type = 1
        elif angular.get("rangeMaps"):
            mapping_type = 2
    source = angular.get("valueMaps") if mapping_type == 1 else angular.get("rangeMaps") if mapping_type == 2 else []
    return [{**item, "id": index, "type": mapping_type} for index, item in enumerate(source or [])
            if isinstance(item, dict)]


# ---------------------------------------------------------------------- helpers


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> float | int | None:
    """validNumber: a number, or a string holding one."""
    if _is_number(value):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return int(number) if number.is_integer() else number
    return None


def _js_number(text: str) -> float | int | None:
    """JavaScript's Number() of a trimmed string: '' is 0, junk is NaN (here None)."""
    text = text.strip()
    if not text:
        return 0
    number = _number(text)
    return number


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _sort_value(value: Any) -> float:
    return value if _is_number(value) else float("-inf")


HANDLERS: dict[str, Callable[[Panel], Panel]] = {
    "graph": graph_to_timeseries,
    "singlestat": singlestat_to_stat,
    "grafana-singlestat-panel": singlestat_to_stat,
}
SOURCES = {
    "graph": "timeseries/migrations.ts graphPanelChangedHandler",
    "singlestat": "stat/StatMigrations.ts statPanelChangedHandler",
    "grafana-singlestat-panel": "stat/StatMigrations.ts statPanelChangedHandler",
}
