"""Dashboard schema conversion v1 <-> v2, the way Grafana 13's backend converts a dashboard read at another API
version than the one it is stored in (and the way a save from the 13.x UI turns a classic dashboard into v2).

Written from grafana/grafana `apps/dashboard/pkg/migration/conversion/` (the emulator's own code: it never
imports obs). The chain Grafana registers:

    v1 -> v2:  Convert_V1beta1_to_V2 = convertDashboardSpec_V1beta1_to_V2alpha1 (v1beta1_to_v2alpha1.go)
               -> convert*_V2alpha1_to_V2beta1 (v2alpha1_to_v2beta1.go) -> Convert_V2beta1_to_V2 (v2beta1_to_v2.go)
    v2 -> v1:  Convert_V2_to_V1beta1 = Convert_V2_to_V2beta1 (transformations back)
               -> convertDataQuery_V2beta1_to_V2alpha1 (datasource out of the query, v2beta1_to_v2alpha1.go)
               -> convertDashboardSpec_V2alpha1_to_V1beta1 (v2alpha1_to_v1beta1.go)

Only the parts a dashboard of this project exercises are emulated: grid and row layouts (AutoGrid and Tabs
layouts raise NotEmulated), panels and library panels, queries, transformations, query options, field config,
the variable kinds datasource/query/custom/textbox/constant, annotations, links, time settings. Both directions
are lossy in the same places Grafana's are (see v2_to_v1: rows come back with id -1, panels in an expanded row one
grid unit higher, the panel-level datasource gone).
"""

from __future__ import annotations

import copy
from typing import Any

LATEST_SCHEMA_VERSION = 42  # schemaversion.LATEST_VERSION as Grafana 13.2 writes it (obs compiles to 42)
DEFAULT_REFRESH_INTERVALS = ["5s", "10s", "30s", "1m", "5m", "15m", "30m", "1h", "2h", "1d"]
LEGACY_STRING_VALUE_KEY = "__legacyStringValue"
# transformCursorSyncToEnum / transformCursorSyncFromEnum
CURSOR_SYNC = {0: "Off", 1: "Crosshair", 2: "Tooltip"}
# transformVariableHideToEnum / ...FromEnum, transformVariableRefreshToEnum, transformVariableSortToEnum
HIDE = {0: "dontHide", 1: "hideLabel", 2: "hideVariable"}
REFRESH = {0: "never", 1: "onDashboardLoad", 2: "onTimeRangeChanged"}
SORT = {0: "disabled", 1: "alphabeticalAsc", 2: "alphabeticalDesc", 3: "numericalAsc", 4: "numericalDesc",
        5: "alphabeticalCaseInsensitiveAsc", 6: "alphabeticalCaseInsensitiveDesc", 7: "naturalAsc", 8: "naturalDesc"}
# extractFieldConfigDefaults: the only field-config defaults the v1 -> v2 step carries
FIELD_DEFAULT_KEYS = ("custom", "decimals", "max", "min", "description", "displayName", "displayNameFromDS",
                      "noValue", "path", "unit", "filterable", "writeable", "links", "color", "mappings", "thresholds")


class NotEmulated(ValueError):
    """A dashboard feature this emulator does not convert (Grafana would)."""


def _reverse(table: dict[int, str]) -> dict[str, int]:
    return {v: k for k, v in table.items()}


# --------------------------------------------------------------------------- v1 -> v2


def _data_query(spec: dict[str, Any], ds: dict[str, Any] | None, fallback_type: str = "") -> dict[str, Any]:
    # v1beta1_to_v2alpha1.go buildDataQueryKind: kind = datasource type, datasource ref beside the query;
    # v2alpha1_to_v2beta1.go convertDataQuery_V2alpha1_to_V2beta1: kind "DataQuery", group = type,
    # version "v0", datasource {name: uid} only when the uid is set.
    query: dict[str, Any] = {"kind": "DataQuery", "group": (ds or {}).get("type") or fallback_type, "version": "v0"}
    if ds and ds.get("uid"):
        query["datasource"] = {"name": ds["uid"]}
    query["spec"] = spec
    return query


def _time_settings(d: dict[str, Any]) -> dict[str, Any]:
    # v1beta1_to_v2alpha1.go transformTimeSettings (defaults from NewDashboardTimeSettingsSpec)
    picker = d.get("timepicker") or {}
    time = d.get("time") or {}
    out: dict[str, Any] = {
        "timezone": d["timezone"] if isinstance(d.get("timezone"), str) else "browser",
        "from": time.get("from") or "now-6h",
        "to": time.get("to") or "now",
        "autoRefresh": d.get("refresh") or "",
        "autoRefreshIntervals": [i for i in picker.get("refresh_intervals") or [] if isinstance(i, str)]
        or list(DEFAULT_REFRESH_INTERVALS),
        "hideTimepicker": bool(picker.get("hidden", False)),
        "fiscalYearStartMonth": int(d.get("fiscalYearStartMonth") or 0),
    }
    if d.get("weekStart"):
        out["weekStart"] = d["weekStart"]
    if picker.get("nowDelay"):
        out["nowDelay"] = picker["nowDelay"]
    if isinstance(picker.get("quick_ranges"), list):
        out["quickRanges"] = [{"display": q.get("display", ""), "from": q.get("from", ""), "to": q.get("to", "")}
                              for q in picker["quick_ranges"]]
    return out


def _link_v2(link: dict[str, Any]) -> dict[str, Any]:
    # v1beta1_to_v2alpha1.go transformLinks
    out: dict[str, Any] = {
        "title": link.get("title", ""), "type": link.get("type") or "link", "icon": link.get("icon", ""),
        "tooltip": link.get("tooltip", ""), "tags": [t for t in link.get("tags") or [] if isinstance(t, str)],
        "asDropdown": bool(link.get("asDropdown", False)), "targetBlank": bool(link.get("targetBlank", False)),
        "includeVars": bool(link.get("includeVars", False)), "keepTime": bool(link.get("keepTime", False)),
    }
    if isinstance(link.get("url"), str):
        out["url"] = link["url"]
    if isinstance(link.get("placement"), str):
        out["placement"] = link["placement"]
    return out


def _field_defaults_v2(defaults: dict[str, Any]) -> dict[str, Any]:
    # v1beta1_to_v2alpha1.go extractFieldConfigDefaults + buildThresholdsConfig; empty custom/links/mappings
    # vanish through the Go structs' omitempty.
    out: dict[str, Any] = {}
    for key in FIELD_DEFAULT_KEYS:
        if key not in defaults:
            continue
        value = copy.deepcopy(defaults[key])
        if key == "color" and isinstance(value, dict):
            value = {k: value[k] for k in ("mode", "fixedColor", "seriesBy") if k in value}
        if key == "thresholds" and isinstance(value, dict):
            steps = value.get("steps") or []
            value = {"mode": value.get("mode", ""), "steps": [{"value": s.get("value"), "color": s.get("color", "")}
                                                              for s in steps]}
        if key in ("custom", "links", "mappings") and not value:
            continue
        out[key] = value
    return out


def _element(panel: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    # v1beta1_to_v2alpha1.go buildElement / buildPanelKind / transformPanelQueries / transformSingleQuery /
    # transformPanelTransformations / buildQueryOptions / transformDataLinks / buildVizConfig; then the
    # v2alpha1 -> v2beta1 moves (vizConfig kind -> group, pluginVersion -> version) and v2beta1 -> v2
    # (fixupTransformations_V2beta1_to_V2: transformation kind -> group).
    pid = int(panel.get("id") or 0)
    name = f"panel-{pid}"
    if panel.get("libraryPanel"):
        lib = panel["libraryPanel"]
        return name, {"kind": "LibraryPanel", "spec": {"id": pid, "title": panel.get("title", ""),
                                                        "libraryPanel": {"uid": lib.get("uid", ""),
                                                                         "name": lib.get("name", "")}}}
    panel_ds = panel.get("datasource") if isinstance(panel.get("datasource"), dict) else None
    queries = []
    used = {t.get("refId") for t in panel.get("targets") or [] if t.get("refId")}
    letters = iter(chr(c) for c in range(ord("A"), ord("Z") + 1))
    for target in panel.get("targets") or []:
        ds = target.get("datasource") if isinstance(target.get("datasource"), dict) else None
        if not ds or not (ds.get("uid") or ds.get("type")):
            ds = panel_ds if panel_ds and panel_ds.get("uid") != "-- Mixed --" else None
        ref = target.get("refId")
        if not ref:  # nextAvailableRefId
            ref = next(letter for letter in letters if letter not in used)
            used.add(ref)
        spec = {k: copy.deepcopy(v) for k, v in target.items() if k not in ("refId", "hide", "datasource")}
        queries.append({"kind": "PanelQuery", "spec": {
            "query": _data_query(spec, ds, (ds or {}).get("type", "")),
            "refId": ref,
            "hidden": bool(target.get("hide", False)),
        }})
    options: dict[str, Any] = {}
    for key in ("timeFrom", "timeShift", "interval", "cacheTimeout"):
        if isinstance(panel.get(key), str) and panel[key]:
            options[key] = panel[key]
    if isinstance(panel.get("maxDataPoints"), int | float) and panel["maxDataPoints"] > 0:
        options["maxDataPoints"] = int(panel["maxDataPoints"])
    if panel.get("hideTimeOverride") is True:
        options["hideTimeOverride"] = True
    viz_options = copy.deepcopy(panel.get("options") or {})
    if isinstance(viz_options.get("legend"), dict):
        viz_options["legend"].setdefault("showLegend", True)
    field_config = panel.get("fieldConfig") or {}
    spec: dict[str, Any] = {
        "id": pid,
        "title": panel.get("title", ""),
        "description": panel.get("description", ""),
        "links": [dict({"title": lk.get("title", ""), "url": lk.get("url", "")},
                       **({"targetBlank": bool(lk["targetBlank"])} if "targetBlank" in lk else {}))
                  for lk in panel.get("links") or []],
        "data": {"kind": "QueryGroup", "spec": {
            "queries": queries,
            "transformations": [{"kind": "Transformation", "group": t.get("id", ""),
                                 "spec": {"options": copy.deepcopy(t.get("options"))}}
                                for t in panel.get("transformations") or []],
            "queryOptions": options,
        }},
        "vizConfig": {"kind": "VizConfig", "group": panel.get("type") or "timeseries",
                      "version": panel.get("pluginVersion", ""),
                      "spec": {"options": viz_options,
                               "fieldConfig": {"defaults": _field_defaults_v2(field_config.get("defaults") or {}),
                                               "overrides": copy.deepcopy(field_config.get("overrides") or [])}}},
    }
    if panel.get("transparent"):
        spec["transparent"] = True
    return name, {"kind": "Panel", "spec": spec}


def _grid_item(panel: dict[str, Any], name: str, y: int | None = None) -> dict[str, Any]:
    # v1beta1_to_v2alpha1.go buildGridItemKind / getRepeatOptionsFromPanel (no gridPos: 0,0,6,3)
    grid = panel.get("gridPos") or {}
    spec: dict[str, Any] = {"x": grid.get("x", 0), "y": grid.get("y", 0) if y is None else y,
                            "width": grid.get("w", 6), "height": grid.get("h", 3),
                            "element": {"kind": "ElementReference", "name": name}}
    if panel.get("repeat"):
        repeat: dict[str, Any] = {"mode": "variable", "value": panel["repeat"]}
        if panel.get("repeatDirection") in ("h", "v"):
            repeat["direction"] = panel["repeatDirection"]
        if int(panel.get("maxPerRow") or 0) > 0:
            repeat["maxPerRow"] = int(panel["maxPerRow"])
        spec["repeat"] = repeat
    return {"kind": "GridLayoutItem", "spec": spec}


def _layout_v2(panels: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    # v1beta1_to_v2alpha1.go transformPanelsToElementsAndLayout, convertToGridLayout, convertToRowsLayout,
    # buildRowKind, yOffsetInRows (item y = panel y - row y - 1; GRID_ROW_HEIGHT 1)
    elements: dict[str, Any] = {}
    if not any(p.get("type") == "row" for p in panels):
        items = []
        for panel in panels:
            name, element = _element(panel)
            elements[name] = element
            items.append(_grid_item(panel, name))
        return elements, {"kind": "GridLayout", "spec": {"items": items}}
    rows: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    row_y = 0
    for panel in panels:
        if panel.get("type") == "row":
            if current is not None:
                rows.append(current)
            row_y = (panel.get("gridPos") or {}).get("y", 0)
            items = []
            for child in panel.get("panels") or []:  # a collapsed row keeps its panels inside it
                name, element = _element(child)
                elements[name] = element
                items.append(_grid_item(child, name, (child.get("gridPos") or {}).get("y", 0) - row_y - 1))
            row_spec: dict[str, Any] = {"title": panel.get("title", ""), "collapse": bool(panel.get("collapsed"))}
            if panel.get("repeat"):
                row_spec["repeat"] = {"mode": "variable", "value": panel["repeat"]}
            row_spec["layout"] = {"kind": "GridLayout", "spec": {"items": items}}
            current = {"kind": "RowsLayoutRow", "spec": row_spec}
            continue
        name, element = _element(panel)
        elements[name] = element
        if current is None:  # panels above the first row: a row without header
            row_y = -1
            current = {"kind": "RowsLayoutRow", "spec": {"title": "", "collapse": False, "hideHeader": True,
                                                         "layout": {"kind": "GridLayout", "spec": {"items": []}}}}
        y = (panel.get("gridPos") or {}).get("y", 0) - row_y - 1
        current["spec"]["layout"]["spec"]["items"].append(_grid_item(panel, name, y))
    if current is not None:
        rows.append(current)
    return elements, {"kind": "RowsLayout", "spec": {"rows": rows}}


def _option_v2(option: dict[str, Any]) -> dict[str, Any]:
    return {"selected": bool(option.get("selected", False)), "text": option.get("text", ""),
            "value": option.get("value", "")}


def _current_v2(current: Any) -> dict[str, Any]:
    # buildVariableCurrent: {text, value}, no "selected"
    if not isinstance(current, dict):
        return {"text": "", "value": ""}
    return {"text": current.get("text", ""), "value": current.get("value", "")}


def _variable_v2(v: dict[str, Any]) -> dict[str, Any] | None:
    # v1beta1_to_v2alpha1.go transformVariables, extractCommonVariableProperties, buildQueryVariable,
    # buildDatasourceVariable, buildCustomVariable, buildTextVariable, buildConstantVariable;
    # v2alpha1_to_v2beta1.go convertVariable_V2alpha1_to_V2beta1 (query datasource into the DataQuery)
    spec: dict[str, Any] = {"name": v.get("name", "")}
    if v.get("label"):
        spec["label"] = v["label"]
    spec["hide"] = HIDE.get(v.get("hide", 0), "dontHide") if not isinstance(v.get("hide"), str) else v["hide"]
    spec["skipUrlSync"] = bool(v.get("skipUrlSync", False))
    if v.get("description"):
        spec["description"] = v["description"]
    kind = v.get("type")
    options = [_option_v2(o) for o in v.get("options") or []]
    if kind == "datasource":
        spec.update(pluginId=v.get("query") if isinstance(v.get("query"), str) else "grafana",
                    refresh=REFRESH.get(v.get("refresh", 0), "never"), regex=v.get("regex", ""),
                    current=_current_v2(v.get("current")), options=options, multi=bool(v.get("multi", False)),
                    includeAll=bool(v.get("includeAll", False)))
        if v.get("allValue"):
            spec["allValue"] = v["allValue"]
        spec["allowCustomValue"] = bool(v.get("allowCustomValue", True))
        return {"kind": "DatasourceVariable", "spec": spec}
    if kind == "query":
        ds = v.get("datasource") if isinstance(v.get("datasource"), dict) else {}
        query = v.get("query")
        query_spec = copy.deepcopy(query) if isinstance(query, dict) else (
            {LEGACY_STRING_VALUE_KEY: query} if query else {})
        spec.update(current=_current_v2(v.get("current")), refresh=REFRESH.get(v.get("refresh", 0), "never"),
                    query=_data_query(query_spec, ds if ds.get("uid") else None, ds.get("type", "")),
                    regex=v.get("regex", ""), sort=SORT.get(v.get("sort", 0), "disabled"))
        if isinstance(v.get("definition"), str):
            spec["definition"] = v["definition"]
        spec.update(options=options, multi=bool(v.get("multi", False)), includeAll=bool(v.get("includeAll", False)))
        if v.get("allValue"):
            spec["allValue"] = v["allValue"]
        spec["allowCustomValue"] = bool(v.get("allowCustomValue", True))
        return {"kind": "QueryVariable", "spec": spec}
    if kind == "custom":
        spec.update(query=v.get("query", ""), current=_current_v2(v.get("current")), options=options,
                    multi=bool(v.get("multi", False)), includeAll=bool(v.get("includeAll", False)))
        if v.get("allValue"):
            spec["allValue"] = v["allValue"]
        spec["allowCustomValue"] = bool(v.get("allowCustomValue", True))
        return {"kind": "CustomVariable", "spec": spec}
    if kind == "textbox":
        spec.update(query=v.get("query", ""), current=_current_v2(v.get("current")))
        return {"kind": "TextVariable", "spec": spec}
    if kind == "constant":
        query = v.get("query", "") if isinstance(v.get("query"), str) else ""
        current = _current_v2(v["current"]) if v.get("current") else {"text": query, "value": query}
        spec.update(query=query, current=current)
        return {"kind": "ConstantVariable", "spec": spec}
    if kind in ("interval", "adhoc", "groupby", "switch"):
        raise NotEmulated(f"variable type {kind!r}")
    return None  # unknown types are skipped, as Grafana does


def _annotation_v2(a: dict[str, Any]) -> dict[str, Any]:
    # v1beta1_to_v2alpha1.go transformAnnotations / buildAnnotationQuery (every other v1 key -> legacyOptions)
    ds = a.get("datasource") if isinstance(a.get("datasource"), dict) else {}
    ref = ds if ds.get("uid") and ds.get("type") else None
    spec: dict[str, Any] = {"query": _data_query(copy.deepcopy(a.get("target") or {}), ref, ds.get("type", "")),
                            "enable": bool(a.get("enable", False)), "hide": bool(a.get("hide", False)),
                            "iconColor": a.get("iconColor", ""), "name": a.get("name", "")}
    if a.get("builtIn") is not None:
        spec["builtIn"] = bool(a["builtIn"])
    legacy = {k: copy.deepcopy(v) for k, v in a.items()
              if k not in ("name", "datasource", "enable", "hide", "iconColor", "filter", "target", "builtIn",
                           "mappings")}
    if legacy:
        spec["legacyOptions"] = legacy
    return {"kind": "AnnotationQuery", "spec": spec}


def v1_to_v2(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The v2 spec of a classic (v0/v1) dashboard spec: convertDashboardSpec_V1beta1_to_V2alpha1 then the
    v2alpha1 -> v2beta1 -> v2 steps. id, uid, version and schemaVersion do not exist in v2."""
    elements, layout = _layout_v2(dashboard.get("panels") or [])
    spec: dict[str, Any] = {
        "annotations": [_annotation_v2(a) for a in (dashboard.get("annotations") or {}).get("list") or []],
        "cursorSync": CURSOR_SYNC.get(int(dashboard.get("graphTooltip") or 0), "Off"),
        "editable": bool(dashboard.get("editable", True)),
        "elements": elements,
        "layout": layout,
        "links": [_link_v2(lk) for lk in dashboard.get("links") or []],
        "liveNow": bool(dashboard.get("liveNow", False)),
        "preload": bool(dashboard.get("preload", False)),
        "tags": [t for t in dashboard.get("tags") or [] if isinstance(t, str)],
        "timeSettings": _time_settings(dashboard),
        "title": dashboard.get("title", ""),
        "variables": [x for x in (_variable_v2(v) for v in (dashboard.get("templating") or {}).get("list") or [])
                      if x],
    }
    if isinstance(dashboard.get("description"), str) and dashboard["description"]:
        spec["description"] = dashboard["description"]  # getStringPtr: only a non-empty string
    if isinstance(dashboard.get("revision"), int | float) and not isinstance(dashboard.get("revision"), bool):
        spec["revision"] = int(dashboard["revision"])
    return spec


# --------------------------------------------------------------------------- v2 -> v1


def _datasource_v1(query: dict[str, Any] | None) -> dict[str, Any] | None:
    # v2beta1_to_v2alpha1.go convertDataQuery_V2beta1_to_V2alpha1 (group -> query kind; datasource.name ->
    # {uid: name, type: group}), then v2alpha1_to_v1beta1.go getDataSourceForQuery: {uid, type} with a uid,
    # {type} with only a type, nothing otherwise.
    if not query:
        return None
    group = query.get("group") or ""
    name = (query.get("datasource") or {}).get("name")
    if name:
        return {"uid": name, "type": group} if group else {"uid": name}
    return {"type": group} if group else None


def _target_v1(query: dict[str, Any]) -> dict[str, Any]:
    # v2alpha1_to_v1beta1.go convertPanelQueryToV1: query spec copied (__legacyStringValue -> query),
    # refId, hide only when true, datasource from getDataSourceForQuery
    spec = query.get("spec") or {}
    data_query = spec.get("query") or {}
    target: dict[str, Any] = {}
    for key, value in (data_query.get("spec") or {}).items():
        if key == LEGACY_STRING_VALUE_KEY:
            if isinstance(value, str):
                target["query"] = value
            continue
        target[key] = copy.deepcopy(value)
    target["refId"] = spec.get("refId", "")
    if spec.get("hidden"):
        target["hide"] = True
    datasource = _datasource_v1(data_query)
    if datasource is not None:
        target["datasource"] = datasource
    return target


def _mixed_datasource(queries: list[dict[str, Any]]) -> dict[str, Any] | None:
    # v2alpha1_to_v1beta1.go detectMixedDatasource: {"type": "mixed", "uid": "-- Mixed --"} only when the
    # queries use different datasources
    seen = set()
    for query in queries:
        data_query = (query.get("spec") or {}).get("query") or {}
        seen.add(((data_query.get("datasource") or {}).get("name") or "", data_query.get("group") or ""))
    return {"type": "mixed", "uid": "-- Mixed --"} if len(seen) > 1 else None


def _field_config_v1(field_config: dict[str, Any]) -> dict[str, Any] | None:
    # v2alpha1_to_v1beta1.go convertFieldConfigSourceToV1 / convertFieldConfigDefaultsToV1 /
    # convertFieldConfigOverridesToV1 (overrides only when there are some) / convertThresholdsToV1
    result: dict[str, Any] = {}
    defaults = {}
    for key in FIELD_DEFAULT_KEYS:
        if key in (field_config.get("defaults") or {}):
            value = copy.deepcopy(field_config["defaults"][key])
            if key == "thresholds" and isinstance(value, dict):
                value = {"mode": value.get("mode", ""),
                         "steps": [{"color": s.get("color", ""), "value": s.get("value")}
                                   for s in value.get("steps") or []]}
            defaults[key] = value
    if defaults:
        result["defaults"] = defaults
    overrides = field_config.get("overrides") or []
    if overrides:
        result["overrides"] = [
            {**({"__systemRef": o["__systemRef"]} if "__systemRef" in o else {}),
             "matcher": {"id": (o.get("matcher") or {}).get("id", ""),
                         "options": (o.get("matcher") or {}).get("options")},
             "properties": [{"id": p.get("id", ""), "value": copy.deepcopy(p.get("value"))}
                            for p in o.get("properties") or []]}
            for o in overrides]
    return result or None


def _panel_v1(element: dict[str, Any], item: dict[str, Any], y: int) -> dict[str, Any]:
    # v2alpha1_to_v1beta1.go convertPanelFromElement / convertPanelKindToV1 / convertLibraryPanelKindToV1
    grid = item.get("spec") or {}
    panel: dict[str, Any] = {"gridPos": {"x": grid.get("x", 0), "y": y, "w": grid.get("width", 0),
                                         "h": grid.get("height", 0)}}
    repeat = grid.get("repeat")
    if repeat:
        panel["repeat"] = repeat.get("value", "")
        if repeat.get("direction") in ("h", "v"):
            panel["repeatDirection"] = repeat["direction"]
        if repeat.get("maxPerRow") is not None:
            panel["maxPerRow"] = repeat["maxPerRow"]
    spec = element.get("spec") or {}
    if element.get("kind") == "LibraryPanel":
        lib = spec.get("libraryPanel") or {}
        panel.update(id=int(spec.get("id") or 0), title=spec.get("title", ""), type="library-panel-ref",
                     libraryPanel={"uid": lib.get("uid", ""), "name": lib.get("name", "")})
        return panel
    viz = spec.get("vizConfig") or {}
    panel["id"] = int(spec.get("id") or 0)
    panel["title"] = spec.get("title", "")
    panel["pluginVersion"] = viz.get("version", "")  # v2beta1 -> v2alpha1: version -> spec.pluginVersion
    if spec.get("description"):
        panel["description"] = spec["description"]
    panel["type"] = viz.get("group", "")  # v2beta1 -> v2alpha1: group -> kind
    viz_spec = viz.get("spec") or {}
    if viz_spec.get("options") is not None:
        panel["options"] = copy.deepcopy(viz_spec["options"])
    field_config = _field_config_v1(viz_spec.get("fieldConfig") or {})
    if field_config is not None:
        panel["fieldConfig"] = field_config
    if spec.get("links"):
        panel["links"] = [dict({"title": lk.get("title", ""), "url": lk.get("url", "")},
                               **({"targetBlank": lk["targetBlank"]} if "targetBlank" in lk else {}))
                          for lk in spec["links"]]
    data = (spec.get("data") or {}).get("spec") or {}
    queries = data.get("queries") or []
    panel["targets"] = [_target_v1(q) for q in queries]
    mixed = _mixed_datasource(queries)
    if mixed:
        panel["datasource"] = mixed
    if data.get("transformations"):
        # Convert_V2_to_V2beta1 puts group back as kind and spec.id; convertPanelKindToV1 keeps id + options
        panel["transformations"] = [{"id": t.get("group", ""), "options": copy.deepcopy((t.get("spec") or {})
                                                                                        .get("options"))}
                                    for t in data["transformations"]]
    for key in ("cacheTimeout", "maxDataPoints", "interval", "hideTimeOverride", "queryCachingTTL", "timeFrom",
                "timeShift"):
        if key in (data.get("queryOptions") or {}):
            panel[key] = data["queryOptions"][key]
    if "transparent" in spec:
        panel["transparent"] = spec["transparent"]
    return panel


def _panels_v1(elements: dict[str, Any], layout: dict[str, Any]) -> list[dict[str, Any]]:
    # v2alpha1_to_v1beta1.go convertPanelsFromElementsAndLayout, convertGridLayoutToPanels,
    # convertRowsLayoutToPanels -> processRowItem / extractExpandedPanels / extractCollapsedPanelsWithAbsoluteY
    def element(name: str) -> dict[str, Any]:
        if name not in elements:
            raise ValueError(f"panel with uid {name} not found in the dashboard elements")
        return elements[name]

    kind = layout.get("kind")
    if kind == "GridLayout":
        return [_panel_v1(element(i["spec"]["element"]["name"]), i, i["spec"].get("y", 0))
                for i in (layout.get("spec") or {}).get("items") or []]
    if kind != "RowsLayout":
        raise NotEmulated(f"layout {kind!r}")
    panels: list[dict[str, Any]] = []
    current_y = 0
    for row in (layout.get("spec") or {}).get("rows") or []:
        spec = row.get("spec") or {}
        inner = spec.get("layout") or {}
        if inner.get("kind") != "GridLayout":
            raise NotEmulated(f"row layout {inner.get('kind')!r}")
        items = (inner.get("spec") or {}).get("items") or []
        hidden = bool(spec.get("hideHeader"))
        collapsed = bool(spec.get("collapse"))
        if not hidden:
            row_panel: dict[str, Any] = {"type": "row", "id": -1}
            if "title" in spec:
                row_panel["title"] = spec["title"]
            if "collapse" in spec:
                row_panel["collapsed"] = spec["collapse"]
            if (spec.get("repeat") or {}).get("value"):
                row_panel["repeat"] = spec["repeat"]["value"]
            if items or collapsed:  # gridPos only with content, or when collapsed
                row_panel["gridPos"] = {"x": 0, "y": current_y, "w": 24, "h": 1}
            if collapsed:  # the children keep absolute y inside the row panel
                children = [_panel_v1(element(i["spec"]["element"]["name"]), i, i["spec"].get("y", 0) + current_y + 1)
                            for i in items]
                if children:
                    row_panel["panels"] = children
            panels.append(row_panel)
            current_y += 1
        if not collapsed or hidden:
            # extractExpandedPanels: y = item y + currentY - 1 under a header; the next row starts at the lowest
            # panel end of this one (0 for a row whose grid has no items, as Grafana's code has it)
            local_max = 0
            for item in items:
                y = item["spec"].get("y", 0) + (current_y - 1 if not hidden else 0)
                panels.append(_panel_v1(element(item["spec"]["element"]["name"]), item, y))
                local_max = max(local_max, y + item["spec"].get("height", 0))
            current_y = local_max
    return panels


def _variable_v1(variable: dict[str, Any]) -> dict[str, Any] | None:
    # v2alpha1_to_v1beta1.go convertVariablesToV1 and convert{Query,Datasource,Custom,Constant,Text}VariableToV1
    kind = variable.get("kind")
    spec = variable.get("spec") or {}
    hide, refresh, sort = _reverse(HIDE), _reverse(REFRESH), _reverse(SORT)

    def current() -> dict[str, Any]:
        c = spec.get("current") or {}
        return {"text": c.get("text", ""), "value": c.get("value", "")}

    def options() -> list[dict[str, Any]]:
        return [dict({"text": o.get("text", ""), "value": o.get("value", "")},
                     **({"selected": o["selected"]} if "selected" in o else {})) for o in spec.get("options") or []]

    out: dict[str, Any] = {"name": spec.get("name", ""), "hide": hide.get(spec.get("hide"), 0),
                           "skipUrlSync": bool(spec.get("skipUrlSync", False))}
    if kind == "QueryVariable":
        out.update(type="query", multi=bool(spec.get("multi")), includeAll=bool(spec.get("includeAll")),
                   refresh=refresh.get(spec.get("refresh"), 0), sort=sort.get(spec.get("sort"), 0),
                   regex=spec.get("regex", ""), current=current(), options=options())
        for key in ("allValue", "definition", "regexApplyTo"):
            if key in spec:
                out[key] = spec[key]
        out["allowCustomValue"] = bool(spec.get("allowCustomValue", False))
        query = spec.get("query") or {}
        query_spec = query.get("spec") or {}
        legacy = query_spec.get(LEGACY_STRING_VALUE_KEY)
        out["query"] = legacy if isinstance(legacy, str) else copy.deepcopy(query_spec)
        datasource = _datasource_v1(query)
        if datasource is not None:
            out["datasource"] = datasource
    elif kind == "DatasourceVariable":
        out.update(type="datasource", multi=bool(spec.get("multi")), includeAll=bool(spec.get("includeAll")),
                   refresh=refresh.get(spec.get("refresh"), 0), regex=spec.get("regex", ""),
                   query=spec.get("pluginId", ""), current=current(), options=options())
        if "allValue" in spec:
            out["allValue"] = spec["allValue"]
        out["allowCustomValue"] = bool(spec.get("allowCustomValue", False))
    elif kind == "CustomVariable":
        out.update(type="custom", multi=bool(spec.get("multi")), includeAll=bool(spec.get("includeAll")),
                   query=spec.get("query", ""), current=current(), options=options())
        if "allValue" in spec:
            out["allValue"] = spec["allValue"]
        out["allowCustomValue"] = bool(spec.get("allowCustomValue", False))
    elif kind == "ConstantVariable":
        # "Constant variables in v1beta1 must always be hidden (hide: 2)"
        out.update(type="constant", hide=2, query=spec.get("query", ""), current=current())
    elif kind == "TextVariable":
        out.update(type="textbox", query=spec.get("query", ""), current=current())
    else:
        raise NotEmulated(f"variable kind {kind!r}")
    for key in ("label", "description"):
        if key in spec:
            out[key] = spec[key]
    return out


def _annotation_v1(annotation: dict[str, Any]) -> dict[str, Any]:
    # v2alpha1_to_v1beta1.go convertAnnotationsToV1 (builtIn true -> 1 and type "dashboard"; legacyOptions back
    # at the root)
    spec = annotation.get("spec") or {}
    out: dict[str, Any] = {"name": spec.get("name", ""), "enable": bool(spec.get("enable")),
                           "hide": bool(spec.get("hide")), "iconColor": spec.get("iconColor", "")}
    if spec.get("builtIn"):
        out["builtIn"] = 1
        out["type"] = "dashboard"
    query = spec.get("query")
    datasource = _datasource_v1(query)
    if datasource is not None:
        out["datasource"] = datasource
    target = copy.deepcopy((query or {}).get("spec") or {})
    if target:
        out["target"] = target
    for key, value in (spec.get("legacyOptions") or {}).items():
        if key not in ("name", "enable", "hide", "iconColor", "datasource", "target", "filter", "builtIn",
                       "placement", "mappings"):
            out[key] = copy.deepcopy(value)
    return out


def v2_to_v1(spec: dict[str, Any]) -> dict[str, Any]:
    """The classic spec Grafana serves at dashboard.grafana.app/v1 for a dashboard stored as v2
    (convertDashboardSpec_V2alpha1_to_V1beta1 after the v2 -> v2beta1 -> v2alpha1 steps)."""
    time = spec.get("timeSettings") or {}
    dashboard: dict[str, Any] = {"title": spec.get("title", "")}
    if "description" in spec:
        dashboard["description"] = spec["description"]
    if spec.get("tags"):
        dashboard["tags"] = list(spec["tags"])
    dashboard["graphTooltip"] = _reverse(CURSOR_SYNC).get(spec.get("cursorSync"), 0)
    dashboard["schemaVersion"] = LATEST_SCHEMA_VERSION
    dashboard["preload"] = bool(spec.get("preload", False))
    dashboard["editable"] = spec.get("editable", True)
    if "liveNow" in spec:
        dashboard["liveNow"] = spec["liveNow"]
    if "revision" in spec:
        dashboard["revision"] = spec["revision"]
    # convertTimeSettingsToV1
    dashboard["time"] = {"from": time.get("from") or "now-6h", "to": time.get("to") or "now"}
    if "timezone" in time:
        dashboard["timezone"] = time["timezone"]
    dashboard["refresh"] = time.get("autoRefresh", "")
    dashboard["fiscalYearStartMonth"] = time.get("fiscalYearStartMonth", 0)
    if "weekStart" in time:
        dashboard["weekStart"] = time["weekStart"]
    picker: dict[str, Any] = {}
    if time.get("autoRefreshIntervals"):
        picker["refresh_intervals"] = list(time["autoRefreshIntervals"])
    if time.get("hideTimepicker"):
        picker["hidden"] = True
    if "nowDelay" in time:
        picker["nowDelay"] = time["nowDelay"]
    if time.get("quickRanges"):
        picker["quick_ranges"] = [{"display": q.get("display", ""), "from": q.get("from", ""), "to": q.get("to", "")}
                                  for q in time["quickRanges"]]
    if picker:
        dashboard["timepicker"] = picker
    if spec.get("links"):  # convertLinksToV1
        dashboard["links"] = [dict({k: lk.get(k) for k in ("title", "type", "icon", "tooltip", "tags", "asDropdown",
                                                            "targetBlank", "includeVars", "keepTime")},
                                   **{k: lk[k] for k in ("url", "placement") if k in lk})
                              for lk in spec["links"]]
    panels = _panels_v1(spec.get("elements") or {}, spec.get("layout") or {"kind": "GridLayout", "spec": {}})
    if panels:
        dashboard["panels"] = panels
    variables = [v for v in (_variable_v1(v) for v in spec.get("variables") or []) if v]
    if variables:
        dashboard["templating"] = {"list": variables}
    # "always include even if empty to prevent DashboardModel from adding built-in"
    dashboard["annotations"] = {"list": [_annotation_v1(a) for a in spec.get("annotations") or []]}
    return dashboard
