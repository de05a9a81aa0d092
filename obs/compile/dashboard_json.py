"""Compile a grafanalib Dashboard to the JSON a current Grafana stores.

grafanalib 0.7.1 emits schemaVersion 12 with nulls and legacy keys (`rows`, `style`, `span`, target
`intervalFactor`...). Grafana migrates such a dashboard on load, so what was reviewed would not be what
runs. This module rebuilds the document key by key in Grafana's current model (the keys Grafana writes
when it saves, plugin option defaults filled in), so the compiled file is what Grafana keeps.

Everything here is a pure function of the grafanalib object.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import grafanalib.core as G
from grafanalib._gen import DashboardEncoder

from obs.author.layout import ROW_EXTRA_KEY
from obs.author.passthrough import RAW_KEY, SETTINGS_KEY

# Grafana 13's dashboard migrator stops at this version (DashboardMigrator / schemaversion LATEST_VERSION).
SCHEMA_VERSION = 42

# Grafana adds this annotation to every dashboard that lacks it, so a compiled dashboard carries it.
BUILTIN_ANNOTATION = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}

# Panel ids are derived from type and title into 1..PANEL_ID_SPACE (see number_panels).
PANEL_ID_SPACE = 9999

PROMETHEUS_VARIABLE_QUERY_REF = "PrometheusVariableQueryEditor-VariableQuery"

# The option and field-config defaults each panel plugin fills in when Grafana loads a panel.
PANEL_OPTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "timeseries": {
        "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"hideZeros": False, "mode": "single", "sort": "none"},
    },
    "stat": {
        "colorMode": "value",
        "graphMode": "area",
        "justifyMode": "auto",
        "orientation": "auto",
        "percentChangeColorMode": "standard",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "showPercentChange": False,
        "textMode": "auto",
        "wideLayout": True,
    },
    "table": {"cellHeight": "sm", "frameIndex": 0, "showHeader": True},
    "text": {"content": "", "mode": "markdown"},
    # No builder writes these; `obs import` brings them in. The defaults of @grafana/schema 13.2.3
    # (dist/esm/raw/composable/<panel>/panelcfg/x/types.gen.mjs `defaultOptions`, and common.gen.mjs
    # defaultVizLegendOptions / defaultReduceDataOptions), completed with the values the panels' option editors
    # start from (orientation auto, reduce to the last value, legend listed at the bottom) for what the plugin
    # schema requires and the generated defaults leave out.
    "gauge": {
        "barShape": "flat", "barWidthFactor": 0.5, "effects": {}, "endpointMarker": "point", "minVizHeight": 75,
        "minVizWidth": 75, "orientation": "auto",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "segmentCount": 1, "segmentSpacing": 0.3, "shape": "gauge", "showThresholdLabels": False,
        "showThresholdMarkers": True, "sizing": "auto", "sparkline": True, "textMode": "auto",
    },
    "bargauge": {
        "displayMode": "gradient",
        "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": False},
        "maxVizHeight": 300, "minVizHeight": 16, "minVizWidth": 8, "namePlacement": "auto", "orientation": "auto",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "showUnfilled": True, "sizing": "auto", "valueMode": "color",
    },
    "piechart": {
        "displayLabels": [],
        "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True, "values": []},
        "orientation": "auto", "pieType": "pie",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "sort": "desc", "tooltip": {"hideZeros": False, "mode": "single", "sort": "none"},
    },
}

FIELD_CUSTOM_DEFAULTS: dict[str, dict[str, Any]] = {
    "timeseries": {
        "axisBorderShow": False,
        "axisCenteredZero": False,
        "axisColorMode": "text",
        "axisLabel": "",
        "axisPlacement": "auto",
        "barAlignment": 0,
        "barWidthFactor": 0.6,
        "drawStyle": "line",
        "fillOpacity": 0,
        "gradientMode": "none",
        "hideFrom": {"legend": False, "tooltip": False, "viz": False},
        "insertNulls": False,
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "pointSize": 5,
        "scaleDistribution": {"type": "linear"},
        "showPoints": "auto",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "none"},
        "thresholdsStyle": {"mode": "off"},
    },
    "table": {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False},
}

FIELD_COLOR_DEFAULTS = {"timeseries": {"mode": "palette-classic"}}
DEFAULT_FIELD_COLOR = {"mode": "thresholds"}
DEFAULT_THRESHOLDS = {"mode": "absolute", "steps": [{"color": "green", "value": None}]}

# grafanalib's timeseries emits these with its own defaults; they are Grafana's defaults only in part.
GRAFANALIB_CUSTOM_KEYS_TO_DROP = ("axisSoftMin", "axisSoftMax")


class DashboardShapeError(ValueError):
    """The grafanalib object cannot become a Grafana dashboard (a path and a reason)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def grafanalib_json(dashboard: G.Dashboard) -> dict[str, Any]:
    """grafanalib's own rendering, as plain JSON values."""
    return json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))


def compile_dashboard(dashboard: G.Dashboard) -> dict[str, Any]:
    return _modernize(grafanalib_json(dashboard))


def modernize(raw: dict[str, Any]) -> dict[str, Any]:
    """Grafana's current model of a grafanalib-style dashboard document; `raw` is left as it is."""
    return _modernize(json_copy(raw))


def json_copy(value: Any) -> Any:
    """A copy of a JSON document (dicts, lists and scalars only): several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    return value


def _modernize(raw: dict[str, Any]) -> dict[str, Any]:
    """As modernize, taking ownership of `raw` (a fresh document nobody else holds)."""
    from catalog.grafana import MANAGED_TAG
    from catalog.versions import GRAFANA_VERSION

    if raw.get("rows"):
        raise DashboardShapeError("$.rows", "legacy rows are not supported; lay panels out with obs.author.layout")
    tags = list(raw.get("tags") or [])
    if MANAGED_TAG not in tags:
        tags.append(MANAGED_TAG)
    panels = number_panels(raw.get("panels") or [])
    out: dict[str, Any] = {
        "annotations": {"list": [json_copy(BUILTIN_ANNOTATION), *_annotations(raw)]},
        "description": raw.get("description") or "",
        "editable": bool(raw.get("editable", True)),
        "fiscalYearStartMonth": 0,
        "graphTooltip": int(raw.get("graphTooltip") or 0),
        "links": [_dashboard_link(link) for link in raw.get("links") or []],
        "panels": [_panel(panel, f"$.panels[{index}]", GRAFANA_VERSION) for index, panel in enumerate(panels)],
        "refresh": raw.get("refresh") or "",
        "schemaVersion": SCHEMA_VERSION,
        "tags": tags,
        "templating": {"list": [_variable(v, f"$.templating.list[{i}]")
                                for i, v in enumerate((raw.get("templating") or {}).get("list") or [])]},
        "time": {"from": raw["time"]["from"], "to": raw["time"]["to"]},
        "timepicker": {},
        "timezone": raw.get("timezone") or "browser",
        "title": raw.get("title") or "",
        "uid": raw.get("uid") or "",
    }
    if not out["description"]:
        del out["description"]
    # Settings kept as Grafana had them (obs.author.passthrough.with_settings) go over everything else.
    out.update(json_copy(raw.get(SETTINGS_KEY) or {}))
    return out


def _annotations(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in (raw.get("annotations") or {}).get("list") or [] if not a.get("builtIn")]


def number_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each panel without an id one derived from its type and title, so that moving a panel, or
    adding one above it, keeps its id: `?viewPanel=` links and alert links stay valid. Panels with the
    same type and title take the next free id in reading order. Sets the ids in place."""
    flat = [p for panel in panels for p in (panel, *(panel.get("panels") or []))]
    taken = {p["id"] for p in flat if p.get("id") is not None}
    for panel in flat:
        if panel.get("id") is None:
            candidate = derived_panel_id(panel.get("type"), panel.get("title"))
            while candidate in taken:
                candidate = candidate % PANEL_ID_SPACE + 1
            panel["id"] = candidate
            taken.add(candidate)
    return panels


def derived_panel_id(kind: Any, title: Any) -> int:
    """The id a panel of this type and title gets when none is taken (see number_panels)."""
    digest = hashlib.sha256(f"{kind}\0{title}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % PANEL_ID_SPACE + 1


def _panel(raw: dict[str, Any], path: str, plugin_version: str) -> dict[str, Any]:
    kind = raw.get("type")
    if not kind:
        raise DashboardShapeError(path, "panel has no type")
    if raw.get("gridPos") is None:
        raise DashboardShapeError(path, "panel has no gridPos; lay panels out with obs.author.layout")
    grid = {key: raw["gridPos"][key] for key in ("h", "w", "x", "y")}
    if raw.get(RAW_KEY):
        return _raw_panel(raw, path, grid, plugin_version)
    if kind == "row":
        return {
            "collapsed": bool(raw.get("collapsed")),
            "gridPos": grid,
            "id": raw["id"],
            "panels": [_panel(child, f"{path}.panels[{i}]", plugin_version)
                       for i, child in enumerate(raw.get("panels") or [])],
            "title": raw.get("title") or "",
            "type": "row",
            **json_copy(raw.get(ROW_EXTRA_KEY) or {}),
        }
    datasource = _datasource(raw.get("datasource"), f"{path}.datasource")
    out: dict[str, Any] = {
        "datasource": datasource,
        "description": raw.get("description") or "",
        "fieldConfig": _field_config(kind, raw.get("fieldConfig") or {}),
        "gridPos": grid,
        "id": raw["id"],
        "options": _options(kind, raw.get("options") or {}),
        "pluginVersion": plugin_version,
        "targets": _targets(raw.get("targets") or [], datasource, f"{path}.targets"),
        "title": raw.get("title") or "",
        "type": kind,
    }
    if datasource is None:
        del out["datasource"]
    if kind == "text":
        del out["targets"]
    for key in ("interval", "timeFrom", "timeShift", "repeat", "repeatDirection", "maxPerRow"):
        if raw.get(key):
            out[key] = raw[key]
    for key in ("transparent", "hideTimeOverride"):
        if raw.get(key):
            out[key] = True
    if raw.get("transformations"):
        out["transformations"] = raw["transformations"]
    return out


def _raw_panel(raw: dict[str, Any], path: str, grid: dict[str, int], plugin_version: str) -> dict[str, Any]:
    """A pass-through panel (obs.author.passthrough.raw_panel): as given, with the layout's place and id, and
    the option defaults its plugin fills in when Grafana loads it."""
    out = {key: json_copy(value) for key, value in raw.items() if key not in (RAW_KEY, "panels")}
    out["gridPos"] = grid
    if "panels" in raw:
        out["panels"] = [_panel(child, f"{path}.panels[{i}]", plugin_version)
                         for i, child in enumerate(raw.get("panels") or [])]
    return fill_plugin_defaults(out)


def fill_plugin_defaults(panel: dict[str, Any]) -> dict[str, Any]:
    """What a panel plugin fills in when Grafana loads a panel (PanelModel.pluginLoaded: the plugin's option
    defaults, and its custom field-config defaults), for the plugins PANEL_OPTION_DEFAULTS and
    FIELD_CUSTOM_DEFAULTS know; a value the panel has wins. Changes `panel` in place and returns it."""
    kind = panel.get("type")
    if kind in PANEL_OPTION_DEFAULTS:
        options = panel.get("options")
        panel["options"] = _deep_merge(PANEL_OPTION_DEFAULTS[kind], options if isinstance(options, dict) else {})
    if kind in FIELD_CUSTOM_DEFAULTS:
        config = panel.get("fieldConfig")
        if not isinstance(config, dict):
            config = panel["fieldConfig"] = {"defaults": {}, "overrides": []}
        defaults = config.get("defaults")
        if not isinstance(defaults, dict):
            defaults = config["defaults"] = {}
        custom = defaults.get("custom")
        defaults["custom"] = _deep_merge(FIELD_CUSTOM_DEFAULTS[kind], custom if isinstance(custom, dict) else {})
    return panel


def _datasource(value: Any, path: str) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, dict) and set(value) <= {"type", "uid"} and value.get("uid"):
        return {"type": value["type"], "uid": value["uid"]} if value.get("type") else {"uid": value["uid"]}
    raise DashboardShapeError(path, f"datasource must be a {{type, uid}} reference, got {value!r}")


def _options(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    return _deep_merge(PANEL_OPTION_DEFAULTS.get(kind, {}), _drop_nulls(raw))


def _field_config(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    defaults = _drop_nulls(raw.get("defaults") or {})
    custom = {k: v for k, v in (defaults.get("custom") or {}).items() if k not in GRAFANALIB_CUSTOM_KEYS_TO_DROP}
    if kind == "timeseries":
        custom = _timeseries_custom(custom)
    custom = _deep_merge(FIELD_CUSTOM_DEFAULTS.get(kind, {}), custom)
    out: dict[str, Any] = {}
    if custom:
        out["custom"] = custom
    out["color"] = defaults.get("color") or json_copy(FIELD_COLOR_DEFAULTS.get(kind, DEFAULT_FIELD_COLOR))
    for key in ("decimals", "displayName", "links", "max", "min", "noValue"):
        if key in defaults and not (key == "noValue" and defaults[key] == "none"):
            out[key] = defaults[key]
    out["mappings"] = defaults.get("mappings") or []
    out["thresholds"] = _thresholds(defaults.get("thresholds"))
    out["unit"] = defaults.get("unit") or ""
    if not out.get("links"):
        out.pop("links", None)
    return {"defaults": out, "overrides": raw.get("overrides") or []}


def _timeseries_custom(custom: dict[str, Any]) -> dict[str, Any]:
    custom = dict(custom)
    if not custom.get("stacking"):
        custom.pop("stacking", None)
    scale = custom.get("scaleDistribution")
    if isinstance(scale, dict) and scale.get("type") == "linear":
        # `log` only means something for a log scale; Grafana drops it for linear axes.
        custom["scaleDistribution"] = {"type": "linear"}
    if custom.get("axisLabel") == "":
        custom.pop("axisLabel")
    return custom


def _thresholds(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw.get("steps") or not isinstance(raw["steps"], list):
        return json_copy(DEFAULT_THRESHOLDS)
    steps = []
    for index, step in enumerate(raw["steps"]):
        value = step.get("value")
        steps.append({"color": step["color"], "value": None if index == 0 else value})
    return {"mode": raw.get("mode") or "absolute", "steps": steps}


def _targets(raw: list[dict[str, Any]], panel_datasource: dict | None, path: str) -> list[dict[str, Any]]:
    out = []
    used = {t.get("refId") for t in raw if t.get("refId")}
    letters = (chr(c) for c in range(ord("A"), ord("Z") + 1))
    for index, target in enumerate(raw):
        ref_id = target.get("refId") or next(letter for letter in letters if letter not in used)
        used.add(ref_id)
        datasource = _datasource(target.get("datasource"), f"{path}[{index}].datasource") or panel_datasource
        if "expr" in target:
            out.append(_prometheus_target(target, ref_id, datasource))
        else:
            out.append({**_drop_nulls(target), "datasource": datasource, "refId": ref_id})
    return out


def _prometheus_target(raw: dict[str, Any], ref_id: str, datasource: dict | None) -> dict[str, Any]:
    instant = bool(raw.get("instant"))
    out: dict[str, Any] = {
        "datasource": datasource,
        "editorMode": "code",
        "exemplar": bool(raw.get("exemplar")),
        "expr": raw["expr"],
        "instant": instant,
        "legendFormat": raw.get("legendFormat") or "__auto",
        "range": not instant,
        "refId": ref_id,
    }
    if instant:
        # An instant query feeds a table or a single value: table format keeps the labels as columns.
        out["format"] = "table"
    elif raw.get("format") and raw["format"] != "time_series":
        out["format"] = raw["format"]
    if raw.get("interval"):
        out["interval"] = raw["interval"]
    if raw.get("hide"):
        out["hide"] = True
    return out


def _variable(raw: dict[str, Any], path: str) -> dict[str, Any]:
    if raw.get(RAW_KEY):
        return {key: json_copy(value) for key, value in raw.items() if key != RAW_KEY}
    kind = raw.get("type")
    current = raw.get("current") or {}
    base: dict[str, Any] = {
        "description": raw.get("description") or "",
        "hide": raw.get("hide") or 0,
        "label": raw.get("label") or raw["name"],
        "name": raw["name"],
        "type": kind,
    }
    if not base["description"]:
        del base["description"]
    if kind == "datasource":
        return {
            **base,
            "current": {"text": current.get("text") or "", "value": current.get("value") or ""},
            "includeAll": False,
            "multi": False,
            "options": [],
            "query": raw["query"],
            "refresh": 1,
            "regex": raw.get("regex") or "",
        }
    if kind == "query":
        query = raw["query"] if isinstance(raw["query"], str) else raw["query"].get("query", "")
        include_all = bool(raw.get("includeAll"))
        multi = bool(raw.get("multi"))
        out = {
            **base,
            "current": _variable_current(current, include_all, multi),
            "datasource": _datasource(raw.get("datasource"), f"{path}.datasource"),
            "includeAll": include_all,
            "multi": multi,
            "options": [],
            "query": {"qryType": 1, "query": query, "refId": PROMETHEUS_VARIABLE_QUERY_REF},
            "refresh": raw.get("refresh") or 1,
            "regex": raw.get("regex") or "",
            "sort": raw.get("sort") or 0,
        }
        if include_all and raw.get("allValue"):
            out["allValue"] = raw["allValue"]
        if out["datasource"] is None:
            raise DashboardShapeError(f"{path}.datasource", f"query variable {raw['name']!r} has no datasource")
        return out
    if kind in ("textbox", "constant"):
        value = str(raw.get("query") or "")
        return {
            **base,
            "current": {"text": value, "value": value},
            "options": [{"selected": True, "text": value, "value": value}],
            "query": value,
        }
    if kind == "custom":
        values = [v.strip() for v in str(raw.get("query") or "").split(",") if v.strip()]
        return {
            **base,
            "current": {"text": current.get("text") or (values[0] if values else ""),
                        "value": current.get("value") or (values[0] if values else "")},
            "includeAll": bool(raw.get("includeAll")),
            "multi": bool(raw.get("multi")),
            "options": [{"selected": v == current.get("value"), "text": v, "value": v} for v in values],
            "query": raw.get("query") or "",
        }
    raise DashboardShapeError(f"{path}.type", f"unsupported variable type {kind!r}")


def _variable_current(current: dict[str, Any], include_all: bool, multi: bool) -> dict[str, Any]:
    value = current.get("value")
    if include_all and value in ("$__all", None):
        return {"text": ["All"], "value": ["$__all"]} if multi else {"text": "All", "value": "$__all"}
    if value is None:
        return {"text": "", "value": ""}
    return {"text": current.get("text") or value, "value": value}


def _dashboard_link(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "asDropdown": bool(raw.get("asDropdown")),
        "icon": raw.get("icon") or "external link",
        "includeVars": bool(raw.get("includeVars")),
        "keepTime": bool(raw.get("keepTime")),
        "tags": list(raw.get("tags") or []),
        "targetBlank": bool(raw.get("targetBlank")),
        "title": raw.get("title") or "",
        "tooltip": raw.get("tooltip") or "",
        "type": raw.get("type") or "link",
        "url": raw.get("url") or "",
    }


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`base` (shared defaults, copied) with `override` (owned by the caller, taken as is) laid over it."""
    out: dict[str, Any] = {}
    for key, value in base.items():
        if key not in override:
            out[key] = json_copy(value)
        elif isinstance(value, dict) and isinstance(override[key], dict):
            out[key] = _deep_merge(value, override[key])
        else:
            out[key] = override[key]
    for key, value in override.items():
        if key not in base:
            out[key] = value
    return out
