"""Dashboard schema v2: the `spec` of a `dashboard.grafana.app/v2` resource, compiled from the v1 document
(schemaVersion 42) obs already builds, and the way back.

`to_v2_spec` writes what Grafana's own v1 -> v2 conversion writes for the same document. Grafana converts in
three steps, each cited beside the rules below (all in grafana/grafana apps/dashboard/pkg/migration/conversion/):

    v1beta1_to_v2alpha1.go   convertDashboardSpec_V1beta1_to_V2alpha1 and the functions it calls: the real work
    v2alpha1_to_v2beta1.go   convertDataQuery_V2alpha1_to_V2beta1: the datasource moves into the query
                             (`group` = datasource type, `datasource.name` = uid, `version` = "v0")
    v2beta1_to_v2.go         fixupTransformations_V2beta1_to_V2: a transformation's id becomes its `group`

`from_v2_spec` reads a v2 spec back into the v1 document obs compiles. It follows Grafana's v2 -> v1
conversion (v2alpha1_to_v1beta1.go convertDashboardSpec_V2alpha1_to_V1beta1, after v2beta1_to_v2alpha1.go
convertDataQuery_V2beta1_to_V2alpha1 puts the datasource back beside the query) field by field, and departs
from it only where Grafana's answer is not the document it started from (DEPARTURES_FROM_GRAFANA lists each
place): that way the v1 and v2 forms of a dashboard can be compared, and a v2 dashboard imported, without
Grafana's losses.

Both are total on every document obs compiles. What the other form cannot say raises DashboardShapeError
with a JSON path: `to_v2_spec` reads its own result back and refuses a dashboard whose v2 form would say
something else (a gap above a row, a transformation's `disabled` flag that Grafana's conversion drops...), so
what is deployed as v2 always means what the reviewed v1 file means.
"""

from __future__ import annotations

import json
import re
from typing import Any

from obs.compile.dashboard_json import SCHEMA_VERSION, DashboardShapeError, json_copy, number_panels
from obs.core.errors import json_path

API_VERSION = "dashboard.grafana.app/v2"
KIND = "Dashboard"

# v1beta1_to_v2alpha1.go yOffsetInRows: a row header is one grid unit high.
GRID_ROW_HEIGHT = 1
# v1beta1_to_v2alpha1.go transformTimeSettings: the intervals a dashboard without its own gets
# (NewDashboardTimeSettingsSpec in dashboard_spec_gen.go).
DEFAULT_REFRESH_INTERVALS = ("5s", "10s", "30s", "1m", "5m", "15m", "30m", "1h", "2h", "1d")
DEFAULT_TIMEZONE = "browser"
# v1beta1_to_v2alpha1.go buildGridItemKind: the frontend PanelModel's size when a panel has no gridPos.
DEFAULT_GRID = {"x": 0, "y": 0, "w": 6, "h": 3}
MIXED_DATASOURCE = {"type": "mixed", "uid": "-- Mixed --"}

# Enums by their v1 number (transformCursorSyncToEnum, transformVariable{Hide,Refresh,Sort}ToEnum and the
# *FromEnum functions of v2alpha1_to_v1beta1.go, which map every name back).
CURSOR_SYNC = ("Off", "Crosshair", "Tooltip")
VARIABLE_HIDE = ("dontHide", "hideLabel", "hideVariable")
VARIABLE_REFRESH = ("never", "onDashboardLoad", "onTimeRangeChanged")
VARIABLE_SORT = ("disabled", "alphabeticalAsc", "alphabeticalDesc", "numericalAsc", "numericalDesc",
                 "alphabeticalCaseInsensitiveAsc", "alphabeticalCaseInsensitiveDesc", "naturalAsc", "naturalDesc")
# transformVariableSortToEnum maps only the numbers 0-4 (its int case); a higher number becomes "disabled",
# which to_v2_spec then refuses as a change of meaning.
VARIABLE_SORT_NUMBERS = 5

# v1beta1_to_v2alpha1.go LEGACY_STRING_VALUE_KEY: a string query of a variable, kept inside an object.
LEGACY_STRING_VALUE_KEY = "__legacyStringValue"

# v1beta1_to_v2alpha1.go extractFieldConfigDefaults: the only keys of fieldConfig.defaults carried to v2.
FIELD_DEFAULT_KEYS = ("custom", "decimals", "max", "min", "description", "displayName", "displayNameFromDS",
                      "noValue", "path", "unit", "filterable", "writeable", "links", "color", "mappings",
                      "thresholds")
FIELD_COLOR_KEYS = ("mode", "fixedColor", "seriesBy")
# Go's `omitempty` on these slices and maps of DashboardFieldConfig: empty ones are not written.
FIELD_DEFAULT_KEYS_OMITTED_WHEN_EMPTY = ("custom", "links", "mappings")

# v1beta1_to_v2alpha1.go buildQueryOptions.
QUERY_OPTION_STRINGS = ("cacheTimeout", "interval", "timeFrom", "timeShift")

# Where from_v2_spec gives the v1 document obs compiles rather than what Grafana's v2 -> v1 conversion
# (v2alpha1_to_v1beta1.go) writes; each is a value v2 does not carry, or one Grafana's reverse step changes.
DEPARTURES_FROM_GRAFANA = (
    "row ids: v2 rows have none and processRowItem writes id -1; obs gives each row the id obs derives from "
    "its type and title (number_panels), the id obs compiled",
    "panels of an expanded row: extractExpandedPanels writes y = item y + row y (one unit too high: the panel "
    "overlaps its row header, and the error grows by one per row); obs writes item y + row y + 1, the inverse of "
    "yOffsetInRows",
    "an expanded row with no panels: extractExpandedPanels restarts the next row at y 0; obs at the next unit",
    "panel datasource: convertPanelKindToV1 writes none unless the queries differ (then Mixed); obs writes the "
    "queries' common reference, as it compiles every panel",
    "empty values obs always writes and Grafana leaves out: fieldConfig.defaults.mappings [] and "
    "fieldConfig.overrides [] (omitempty), panel description '', dashboard tags/links/templating lists, "
    "timepicker {} for the default refresh intervals",
    "defaults Grafana writes and obs leaves out: liveNow/preload false, skipUrlSync false, allowCustomValue "
    "true",
    "textbox and constant variables: v2 has no options; obs writes the one option it compiles, the value selected",
    "constant variables: convertConstantVariableToV1 forces hide 2; obs keeps the v2 hide",
)


def _fail(path: str, reason: str) -> DashboardShapeError:
    return DashboardShapeError(path, reason)


# --- v1 -> v2 -------------------------------------------------------------------------------------------------

def to_v2_spec(document: dict[str, Any]) -> dict[str, Any]:
    """The `spec` of the `dashboard.grafana.app/v2` resource Grafana's conversion makes of this v1 dashboard.
    Raises DashboardShapeError where the v2 form would not say what the v1 document says."""
    if not isinstance(document, dict):
        raise _fail("$", "a dashboard must be a JSON object")
    spec = _v2_spec(document)
    _require_same_meaning(document, spec)
    return spec


def _v2_spec(d: dict[str, Any]) -> dict[str, Any]:
    """convertDashboardSpec_V1beta1_to_V2alpha1, then the v2beta1 and v2 steps."""
    elements, layout = _elements_and_layout(_list(d.get("panels"), "$.panels"))
    annotations = _dict(d.get("annotations"), "$.annotations").get("list")
    variables = _dict(d.get("templating"), "$.templating").get("list")
    spec: dict[str, Any] = {
        "annotations": [_annotation(_dict(a, f"$.annotations.list[{i}]"), f"$.annotations.list[{i}]")
                        for i, a in enumerate(_list(annotations, "$.annotations.list"))],
        # transformCursorSyncToEnum: anything but 1 or 2 is Off.
        "cursorSync": _enum(CURSOR_SYNC, d.get("graphTooltip"), "Off"),
        "editable": bool(d.get("editable", True)),
        "elements": elements,
        "layout": layout,
        "links": [_dashboard_link(_dict(link, f"$.links[{i}]"))
                  for i, link in enumerate(_list(d.get("links"), "$.links"))],
        "liveNow": bool(d.get("liveNow", False)),
        "preload": bool(d.get("preload", False)),
        "tags": [tag for tag in _list(d.get("tags"), "$.tags") if isinstance(tag, str)],
        "timeSettings": _time_settings(d),
        "title": _str(d.get("title")),
        "variables": [_variable(_dict(v, f"$.templating.list[{i}]"), f"$.templating.list[{i}]")
                      for i, v in enumerate(_list(variables, "$.templating.list"))],
    }
    # getStringPtr: the description only when it is a non-empty string.
    if isinstance(d.get("description"), str) and d["description"]:
        spec["description"] = d["description"]
    if isinstance(d.get("revision"), int | float) and not isinstance(d.get("revision"), bool):
        spec["revision"] = d["revision"]
    return spec


def _time_settings(d: dict[str, Any]) -> dict[str, Any]:
    """transformTimeSettings."""
    time = _dict(d.get("time"), "$.time")
    picker = _dict(d.get("timepicker"), "$.timepicker")
    intervals = [i for i in _list(picker.get("refresh_intervals"), "$.timepicker.refresh_intervals")
                 if isinstance(i, str)]
    out: dict[str, Any] = {
        "timezone": d["timezone"] if isinstance(d.get("timezone"), str) else DEFAULT_TIMEZONE,
        "from": time.get("from") or "now-6h",
        "to": time.get("to") or "now",
        "autoRefresh": d.get("refresh") if isinstance(d.get("refresh"), str) else "",
        "autoRefreshIntervals": intervals or list(DEFAULT_REFRESH_INTERVALS),
        "hideTimepicker": bool(picker.get("hidden", False)),
        "fiscalYearStartMonth": _int(d.get("fiscalYearStartMonth"), 0),
    }
    if isinstance(d.get("weekStart"), str) and d["weekStart"]:
        out["weekStart"] = d["weekStart"]
    if isinstance(picker.get("nowDelay"), str) and picker["nowDelay"]:
        out["nowDelay"] = picker["nowDelay"]
    if isinstance(picker.get("quick_ranges"), list):
        out["quickRanges"] = [{"display": q.get("display", ""), "from": q.get("from", ""), "to": q.get("to", "")}
                              for q in picker["quick_ranges"] if isinstance(q, dict)]
    return out


def _dashboard_link(link: dict[str, Any]) -> dict[str, Any]:
    """transformLinks: every flag written (false by default); url and placement only when present."""
    out: dict[str, Any] = {
        "title": _str(link.get("title")),
        "type": link.get("type") or "link",
        "icon": _str(link.get("icon")),
        "tooltip": _str(link.get("tooltip")),
        "tags": [tag for tag in link.get("tags") or [] if isinstance(tag, str)],
        "asDropdown": bool(link.get("asDropdown", False)),
        "targetBlank": bool(link.get("targetBlank", False)),
        "includeVars": bool(link.get("includeVars", False)),
        "keepTime": bool(link.get("keepTime", False)),
    }
    if isinstance(link.get("url"), str):
        out["url"] = link["url"]
    if isinstance(link.get("placement"), str):
        out["placement"] = link["placement"]
    return out


def _elements_and_layout(panels: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """transformPanelsToElementsAndLayout: a GridLayout when there is no row panel, else a RowsLayout."""
    elements: dict[str, Any] = {}
    paths: dict[str, str] = {}

    def add(panel: dict[str, Any], path: str) -> str:
        name, element = _element(panel, path)
        if name in elements:
            raise _fail(f"{path}.id", f"panel id {panel['id']} is also used at {paths[name]}: both would be "
                                      f"element {name!r}")
        elements[name], paths[name] = element, path
        return name

    checked = [(_dict(p, f"$.panels[{i}]"), f"$.panels[{i}]") for i, p in enumerate(panels)]
    if not any(panel.get("type") == "row" for panel, _ in checked):
        # convertToGridLayout: items in panel order, gridPos as it is.
        items = [_grid_item(panel, add(panel, path)) for panel, path in checked]
        return elements, {"kind": "GridLayout", "spec": {"items": items}}
    # convertToRowsLayout.
    rows: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    row_y = 0
    for panel, path in checked:
        if panel.get("type") == "row":
            row_y = _int(_dict(panel.get("gridPos"), f"{path}.gridPos").get("y"), 0)
            if current is not None:
                if current["spec"].get("hideHeader"):
                    # The hidden-header row of the panels above the first row is never collapsed.
                    current["spec"]["collapse"] = False
                rows.append(current)
            # A row's own panels (a collapsed row's) are read whatever `collapsed` says.
            children = [(_dict(child, f"{path}.panels[{i}]"), f"{path}.panels[{i}]")
                        for i, child in enumerate(_list(panel.get("panels"), f"{path}.panels"))]
            items = [_grid_item(child, add(child, child_path), _y_in_row(child, row_y))
                     for child, child_path in children]
            current = _row(panel, items)
        elif current is None:
            # Panels above the first row go into a row without header; the first of them at y 0, the rest
            # as if the row were at y -1 (so at their own y).
            row_y = -1
            current = {"kind": "RowsLayoutRow", "spec": {
                "collapse": False, "title": "", "hideHeader": True,
                "layout": {"kind": "GridLayout", "spec": {"items": [_grid_item(panel, add(panel, path), 0)]}}}}
        else:
            current["spec"]["layout"]["spec"]["items"].append(
                _grid_item(panel, add(panel, path), _y_in_row(panel, row_y)))
    assert current is not None  # there is at least one row panel
    rows.append(current)
    return elements, {"kind": "RowsLayout", "spec": {"rows": rows}}


def _y_in_row(panel: dict[str, Any], row_y: int) -> int:
    """yOffsetInRows: a panel's y below its row's header."""
    grid = panel.get("gridPos")
    if not isinstance(grid, dict):
        return 0
    return _int(grid.get("y"), 0) - row_y - GRID_ROW_HEIGHT


def _row(panel: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """buildRowKind: the row's id, gridPos and repeatDirection are not carried."""
    spec: dict[str, Any] = {"collapse": bool(panel.get("collapsed", False)), "title": _str(panel.get("title"))}
    if isinstance(panel.get("repeat"), str) and panel["repeat"]:
        spec["repeat"] = {"mode": "variable", "value": panel["repeat"]}
    spec["layout"] = {"kind": "GridLayout", "spec": {"items": items}}
    return {"kind": "RowsLayoutRow", "spec": spec}


def _grid_item(panel: dict[str, Any], name: str, y: int | None = None) -> dict[str, Any]:
    """buildGridItemKind and getRepeatOptionsFromPanel."""
    grid = panel.get("gridPos") if isinstance(panel.get("gridPos"), dict) else {}
    spec: dict[str, Any] = {
        "x": _int(grid.get("x"), DEFAULT_GRID["x"]),
        "y": _int(grid.get("y"), DEFAULT_GRID["y"]) if y is None else y,
        "width": _int(grid.get("w"), DEFAULT_GRID["w"]),
        "height": _int(grid.get("h"), DEFAULT_GRID["h"]),
        "element": {"kind": "ElementReference", "name": name},
    }
    if isinstance(panel.get("repeat"), str) and panel["repeat"]:
        repeat: dict[str, Any] = {"mode": "variable", "value": panel["repeat"]}
        if panel.get("repeatDirection") in ("h", "v"):
            repeat["direction"] = panel["repeatDirection"]
        if _int(panel.get("maxPerRow"), 0) > 0:
            repeat["maxPerRow"] = _int(panel["maxPerRow"], 0)
        spec["repeat"] = repeat
    return {"kind": "GridLayoutItem", "spec": spec}


def _element(panel: dict[str, Any], path: str) -> tuple[str, dict[str, Any]]:
    """buildElement and buildPanelKind: element `panel-<id>`."""
    panel_id = panel.get("id")
    if not isinstance(panel_id, int) or isinstance(panel_id, bool):
        raise _fail(f"{path}.id", "panel has no integer id: its v2 element is named panel-<id>")
    if "libraryPanel" in panel:
        raise _fail(f"{path}.libraryPanel", "library panels are not compiled by obs")
    spec: dict[str, Any] = {
        "id": panel_id,
        "title": _str(panel.get("title")),
        # The Go field has no omitempty: always written.
        "description": _str(panel.get("description")),
        "links": [_data_link(_dict(link, f"{path}.links[{i}]"))
                  for i, link in enumerate(_list(panel.get("links"), f"{path}.links"))],
        "data": {"kind": "QueryGroup", "spec": {
            "queries": _panel_queries(panel, path),
            "transformations": [_transformation(_dict(t, f"{path}.transformations[{i}]"))
                                for i, t in enumerate(_list(panel.get("transformations"),
                                                            f"{path}.transformations"))],
            "queryOptions": _query_options(panel),
        }},
        "vizConfig": _viz_config(panel, path),
    }
    if panel.get("transparent") is True:
        spec["transparent"] = True
    return f"panel-{panel_id}", {"kind": "Panel", "spec": spec}


def _data_link(link: dict[str, Any]) -> dict[str, Any]:
    """transformDataLinks: targetBlank only when the key is there."""
    out: dict[str, Any] = {"title": _str(link.get("title")), "url": _str(link.get("url"))}
    if "targetBlank" in link:
        out["targetBlank"] = bool(link["targetBlank"])
    return out


def _panel_queries(panel: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """transformPanelQueries and transformSingleQuery, then convertDataQuery_V2alpha1_to_V2beta1."""
    panel_datasource = panel.get("datasource") if isinstance(panel.get("datasource"), dict) else None
    if panel_datasource is not None and panel_datasource.get("uid") == MIXED_DATASOURCE["uid"]:
        panel_datasource = None
    targets = [(_dict(t, f"{path}.targets[{i}]"), f"{path}.targets[{i}]")
               for i, t in enumerate(_list(panel.get("targets"), f"{path}.targets"))]
    used = {t["refId"] for t, _ in targets if isinstance(t.get("refId"), str) and t["refId"]}
    queries = []
    for target, target_path in targets:
        ref_id = target.get("refId") if isinstance(target.get("refId"), str) and target["refId"] else None
        if ref_id is None:
            ref_id = _next_ref_id(used)
            used.add(ref_id)
        own = target.get("datasource") if isinstance(target.get("datasource"), dict) else None
        datasource = own if own and (own.get("uid") or own.get("type")) else panel_datasource
        where = f"{target_path}.datasource" if own else f"{path}.datasource"
        if not datasource:
            raise _fail(where, "query has no datasource: Grafana's conversion would give it the server's default "
                               "datasource")
        if not datasource.get("type"):
            raise _fail(where, "datasource reference has no type: Grafana's conversion would look it up in the "
                               "server's datasources (write {type, uid})")
        query_spec = {k: json_copy(v) for k, v in target.items() if k not in ("refId", "hide", "datasource")}
        queries.append({"kind": "PanelQuery", "spec": {
            "query": _data_query(datasource["type"], datasource.get("uid"), query_spec),
            "refId": ref_id,
            "hidden": bool(target.get("hide", False)),
        }})
    return queries


def _next_ref_id(used: set[str]) -> str:
    """nextAvailableRefId: A..Z, then AA, AB..."""
    index = 0
    while True:
        name, n = "", index
        while True:
            name = chr(ord("A") + n % 26) + name
            n = n // 26 - 1
            if n < 0:
                break
        if name not in used:
            return name
        index += 1


def _data_query(group: str, uid: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """convertDataQuery_V2alpha1_to_V2beta1: the datasource type becomes `group`, its uid `datasource.name`
    (only when there is one); `${datasource}` stays as it is."""
    query: dict[str, Any] = {"kind": "DataQuery", "group": group, "version": "v0"}
    if isinstance(uid, str) and uid:
        query["datasource"] = {"name": uid}
    query["spec"] = spec
    return query


def _transformation(transformation: dict[str, Any]) -> dict[str, Any]:
    """transformPanelTransformations reads only `id` and `options`; fixupTransformations_V2beta1_to_V2 moves the
    id to `group`."""
    return {"kind": "Transformation", "group": _str(transformation.get("id")),
            "spec": {"options": json_copy(transformation.get("options"))}}


def _query_options(panel: dict[str, Any]) -> dict[str, Any]:
    """buildQueryOptions: each only when set."""
    out: dict[str, Any] = {}
    for key in QUERY_OPTION_STRINGS:
        if isinstance(panel.get(key), str) and panel[key]:
            out[key] = panel[key]
    if _int(panel.get("maxDataPoints"), 0) > 0:
        out["maxDataPoints"] = _int(panel["maxDataPoints"], 0)
    if panel.get("hideTimeOverride") is True:
        out["hideTimeOverride"] = True
    ttl = panel.get("queryCachingTTL")
    if isinstance(ttl, int | float) and not isinstance(ttl, bool):
        out["queryCachingTTL"] = ttl
    elif isinstance(ttl, str) and re.fullmatch(r"-?\d+(\.\d+)?", ttl):
        out["queryCachingTTL"] = float(ttl) if "." in ttl else int(ttl)
    return out


def _viz_config(panel: dict[str, Any], path: str) -> dict[str, Any]:
    """buildVizConfig: the panel type is the group, pluginVersion the version."""
    options = json_copy(_dict(panel.get("options"), f"{path}.options"))
    if isinstance(options.get("legend"), dict):
        options["legend"].setdefault("showLegend", True)
    field_config = _dict(panel.get("fieldConfig"), f"{path}.fieldConfig")
    defaults = _dict(field_config.get("defaults"), f"{path}.fieldConfig.defaults")
    overrides = _list(field_config.get("overrides"), f"{path}.fieldConfig.overrides")
    return {
        "kind": "VizConfig",
        "group": panel.get("type") or "timeseries",
        "version": _str(panel.get("pluginVersion")),
        "spec": {"options": options, "fieldConfig": {
            "defaults": _field_defaults(defaults),
            "overrides": [_override(_dict(o, f"{path}.fieldConfig.overrides[{i}]"))
                          for i, o in enumerate(overrides)],
        }},
    }


def _field_defaults(defaults: dict[str, Any]) -> dict[str, Any]:
    """extractFieldConfigDefaults and buildThresholdsConfig."""
    out: dict[str, Any] = {}
    for key in FIELD_DEFAULT_KEYS:
        if key not in defaults:
            continue
        value = defaults[key]
        if key == "color" and isinstance(value, dict):
            value = {k: value[k] for k in FIELD_COLOR_KEYS if k in value}
        elif key == "thresholds" and isinstance(value, dict):
            value = {"mode": _str(value.get("mode")),
                     "steps": [{"value": step.get("value"), "color": _str(step.get("color"))}
                               for step in value.get("steps") or [] if isinstance(step, dict)]}
        if key in FIELD_DEFAULT_KEYS_OMITTED_WHEN_EMPTY and not value:
            continue
        out[key] = json_copy(value)
    return out


def _override(override: dict[str, Any]) -> dict[str, Any]:
    """The override's matcher (id and options; `scope` is not read) and properties."""
    matcher = override.get("matcher") if isinstance(override.get("matcher"), dict) else {}
    out: dict[str, Any] = {}
    if "__systemRef" in override:
        out["__systemRef"] = override["__systemRef"]
    out["matcher"] = {"id": _str(matcher.get("id")), "options": json_copy(matcher.get("options"))}
    out["properties"] = [{"id": _str(p.get("id")), "value": json_copy(p.get("value"))}
                         for p in override.get("properties") or [] if isinstance(p, dict)]
    return out


def _variable(variable: dict[str, Any], path: str) -> dict[str, Any]:
    """transformVariables: build{Query,Datasource,Custom,Text,Constant}Variable, then
    convertVariable_V2alpha1_to_V2beta1 (the query variable's datasource into its query)."""
    kind = variable.get("type")
    spec = _variable_common(variable)
    if kind == "datasource":
        spec.update(pluginId=variable["query"] if isinstance(variable.get("query"), str) else "",
                    refresh=_enum(VARIABLE_REFRESH, variable.get("refresh"), "never"),
                    regex=_str(variable.get("regex")), current=_current(variable.get("current")),
                    options=_options(variable.get("options")), multi=bool(variable.get("multi", False)),
                    includeAll=bool(variable.get("includeAll", False)),
                    allowCustomValue=bool(variable.get("allowCustomValue", True)))
        _set_all_value(spec, variable)
        return {"kind": "DatasourceVariable", "spec": spec}
    if kind == "query":
        datasource = variable.get("datasource") if isinstance(variable.get("datasource"), dict) else {}
        if not datasource.get("type"):
            raise _fail(f"{path}.datasource", "query variable has no datasource type: Grafana's conversion would "
                                              "look it up in the server's datasources (write {type, uid})")
        query = variable.get("query")
        query_spec = (json_copy(query) if isinstance(query, dict)
                      else {LEGACY_STRING_VALUE_KEY: query} if isinstance(query, str) and query else {})
        spec.update(current=_current(variable.get("current")),
                    refresh=_enum(VARIABLE_REFRESH, variable.get("refresh"), "never"),
                    query=_data_query(datasource["type"], datasource.get("uid"), query_spec),
                    regex=_str(variable.get("regex")),
                    sort=_enum(VARIABLE_SORT[:VARIABLE_SORT_NUMBERS], variable.get("sort"), "disabled"))
        if isinstance(variable.get("definition"), str):
            spec["definition"] = variable["definition"]
        spec.update(options=_options(variable.get("options")), multi=bool(variable.get("multi", False)),
                    includeAll=bool(variable.get("includeAll", False)))
        _set_all_value(spec, variable)
        spec["allowCustomValue"] = bool(variable.get("allowCustomValue", True))
        return {"kind": "QueryVariable", "spec": spec}
    if kind == "custom":
        spec.update(query=_str(variable.get("query")), current=_current(variable.get("current")),
                    options=_options(variable.get("options")), multi=bool(variable.get("multi", False)),
                    includeAll=bool(variable.get("includeAll", False)),
                    allowCustomValue=bool(variable.get("allowCustomValue", True)))
        _set_all_value(spec, variable)
        return {"kind": "CustomVariable", "spec": spec}
    if kind == "textbox":
        # buildTextVariable: the options are not carried.
        spec.update(query=_str(variable.get("query")), current=_current(variable.get("current")))
        return {"kind": "TextVariable", "spec": spec}
    if kind == "constant":
        # buildConstantVariable: without a current value, the query is the current value.
        query = _str(variable.get("query"))
        current = _current(variable["current"]) if variable.get("current") else {"text": query, "value": query}
        spec.update(query=query, current=current)
        return {"kind": "ConstantVariable", "spec": spec}
    raise _fail(f"{path}.type", f"variable type {kind!r} is not one obs compiles (datasource, query, custom, "
                                "textbox, constant)")


def _variable_common(variable: dict[str, Any]) -> dict[str, Any]:
    """extractCommonVariableProperties: label and description only when not empty."""
    out: dict[str, Any] = {"name": _str(variable.get("name"))}
    if isinstance(variable.get("label"), str) and variable["label"]:
        out["label"] = variable["label"]
    out["hide"] = _hide(variable.get("hide"))
    out["skipUrlSync"] = bool(variable.get("skipUrlSync", False))
    if isinstance(variable.get("description"), str) and variable["description"]:
        out["description"] = variable["description"]
    return out


def _hide(value: Any) -> str:
    """transformVariableHideToEnum: numbers or the names themselves; anything else is dontHide."""
    if isinstance(value, str):
        return value if value in VARIABLE_HIDE else "dontHide"
    return _enum(VARIABLE_HIDE, value, "dontHide")


def _set_all_value(spec: dict[str, Any], variable: dict[str, Any]) -> None:
    if isinstance(variable.get("allValue"), str) and variable["allValue"]:
        spec["allValue"] = variable["allValue"]


def _current(current: Any) -> dict[str, Any]:
    """buildVariableCurrent: text and value (a string or a list of strings), no `selected`."""
    if not isinstance(current, dict):
        return {"text": "", "value": ""}
    return {"text": _text_or_list(current.get("text")), "value": _text_or_list(current.get("value"))}


def _options(options: Any) -> list[dict[str, Any]]:
    """buildVariableOptions."""
    return [{"selected": bool(o.get("selected", False)), "text": _text_or_list(o.get("text")),
             "value": _text_or_list(o.get("value"))} for o in options or [] if isinstance(o, dict)]


def _text_or_list(value: Any) -> Any:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return value if isinstance(value, str) else ""


ANNOTATION_KEYS_READ = ("name", "datasource", "enable", "hide", "iconColor", "filter", "target", "builtIn",
                        "mappings", "placement")


def _annotation(annotation: dict[str, Any], path: str) -> dict[str, Any]:
    """buildAnnotationQuery: every key not read goes into legacyOptions (so a built-in annotation's
    `type: dashboard` does)."""
    datasource = annotation.get("datasource") if isinstance(annotation.get("datasource"), dict) else {}
    spec: dict[str, Any] = {
        "query": _data_query(_str(datasource.get("type")),
                             datasource.get("uid") if datasource.get("type") else None,
                             json_copy(_dict(annotation.get("target"), f"{path}.target"))),
        "enable": bool(annotation.get("enable", False)),
        "hide": bool(annotation.get("hide", False)),
        "iconColor": _str(annotation.get("iconColor")),
        "name": _str(annotation.get("name")),
    }
    if annotation.get("builtIn") is not None:
        spec["builtIn"] = bool(annotation["builtIn"])
    if isinstance(annotation.get("filter"), dict):
        spec["filter"] = json_copy(annotation["filter"])
    if isinstance(annotation.get("placement"), str):
        spec["placement"] = annotation["placement"]
    legacy = {key: json_copy(value) for key, value in annotation.items() if key not in ANNOTATION_KEYS_READ}
    if legacy:
        spec["legacyOptions"] = legacy
    return {"kind": "AnnotationQuery", "spec": spec}


def _require_same_meaning(document: dict[str, Any], spec: dict[str, Any]) -> None:
    """Read the v2 form back; the first value it does not give back is what v2 cannot say."""
    back = from_v2_spec(spec, document.get("uid") if isinstance(document.get("uid"), str) else "")
    # What a v2 resource keeps in its metadata (uid as metadata.name, version as its generation), not its spec.
    for key in RESOURCE_KEYS:
        back.pop(key, None)
    document = {key: value for key, value in document.items() if key not in RESOURCE_KEYS}
    # Row ids are the one thing no v2 form carries (see DEPARTURES_FROM_GRAFANA): compare without them.
    for panel, returned in zip(document.get("panels") or [], back.get("panels") or [], strict=False):
        if panel.get("type") == "row" and returned.get("type") == "row" and "id" in panel:
            returned["id"] = panel["id"]
    difference = _first_difference(document, back, [])
    if difference is not None:
        at, old, new = difference
        if new is _ABSENT:
            reason = "dashboard schema v2 cannot say this (Grafana's v1 -> v2 conversion drops it)"
        elif old is _ABSENT:
            reason = f"the v2 form would add {_show(new)} here"
        else:
            reason = f"the v2 form would read back as {_show(new)}, not {_show(old)}"
        raise _fail(json_path(at), reason)


_ABSENT = object()
RESOURCE_KEYS = ("uid", "id", "version")


def _first_difference(old: Any, new: Any, at: list[str | int]) -> tuple[list[str | int], Any, Any] | None:
    """The first place two JSON documents differ (true is not 1, 1.0 is 1), in the old document's order."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            found = _first_difference(old.get(key, _ABSENT), new.get(key, _ABSENT), [*at, key])
            if found is not None:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            found = _first_difference(a, b, [*at, index])
            if found is not None:
                return found
        return None
    if type(old) is bool or type(new) is bool:
        same = type(old) is type(new) and old == new
    elif isinstance(old, int | float) and isinstance(new, int | float):
        same = old == new
    else:
        same = type(old) is type(new) and old == new
    return None if same else (at, old, new)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:79] + "…"


# --- v2 -> v1 -------------------------------------------------------------------------------------------------

SPEC_KEYS = {"annotations", "cursorSync", "description", "editable", "elements", "layout", "links", "liveNow",
             "preload", "revision", "tags", "timeSettings", "title", "variables"}


def from_v2_spec(spec: dict[str, Any], uid: str) -> dict[str, Any]:
    """The v1 document (schemaVersion 42) obs compiles for the dashboard this v2 spec describes. Raises
    DashboardShapeError (with a JSON path into the spec) for what obs's v1 documents cannot say."""
    spec = _dict(spec, "$")
    _known(spec, SPEC_KEYS, "$")
    time = _dict(spec.get("timeSettings"), "$.timeSettings")
    _known(time, {"timezone", "from", "to", "autoRefresh", "autoRefreshIntervals", "hideTimepicker",
                  "fiscalYearStartMonth", "weekStart", "nowDelay", "quickRanges"}, "$.timeSettings")
    elements = _dict(spec.get("elements"), "$.elements")
    panels = _panels_from_layout(elements, _dict(spec.get("layout"), "$.layout"))
    # convertDashboardSpec_V2alpha1_to_V1beta1 key by key; obs's defaults where it leaves a key out.
    document: dict[str, Any] = {
        "annotations": {"list": [_annotation_v1(_dict(a, f"$.annotations[{i}]"), f"$.annotations[{i}]")
                                 for i, a in enumerate(_list(spec.get("annotations"), "$.annotations"))]},
        "editable": spec.get("editable", True) is not False,
        "fiscalYearStartMonth": _int(time.get("fiscalYearStartMonth"), 0),
        "graphTooltip": _enum_number(CURSOR_SYNC, spec.get("cursorSync"), "$.cursorSync"),
        "links": [_link_v1(_dict(link, f"$.links[{i}]"), f"$.links[{i}]")
                  for i, link in enumerate(_list(spec.get("links"), "$.links"))],
        "panels": panels,
        "refresh": _str(time.get("autoRefresh")),
        "schemaVersion": SCHEMA_VERSION,
        "tags": [tag for tag in _list(spec.get("tags"), "$.tags") if isinstance(tag, str)],
        "templating": {"list": [_variable_v1(_dict(v, f"$.variables[{i}]"), f"$.variables[{i}]")
                                for i, v in enumerate(_list(spec.get("variables"), "$.variables"))]},
        "time": {"from": time.get("from") or "now-6h", "to": time.get("to") or "now"},
        "timepicker": _timepicker_v1(time),
        "timezone": time["timezone"] if isinstance(time.get("timezone"), str) else DEFAULT_TIMEZONE,
        "title": _str(spec.get("title")),
        "uid": uid,
    }
    if isinstance(spec.get("description"), str) and spec["description"]:
        document["description"] = spec["description"]
    for key in ("liveNow", "preload"):
        if spec.get(key) is True:
            document[key] = True
    if "revision" in spec:
        document["revision"] = spec["revision"]
    if isinstance(time.get("weekStart"), str) and time["weekStart"]:
        document["weekStart"] = time["weekStart"]
    return document


def _timepicker_v1(time: dict[str, Any]) -> dict[str, Any]:
    """convertTimeSettingsToV1, without the default refresh intervals (what obs's `timepicker: {}` means)."""
    picker: dict[str, Any] = {}
    intervals = _list(time.get("autoRefreshIntervals"), "$.timeSettings.autoRefreshIntervals")
    if intervals and tuple(intervals) != DEFAULT_REFRESH_INTERVALS:
        picker["refresh_intervals"] = json_copy(intervals)
    if time.get("hideTimepicker") is True:
        picker["hidden"] = True
    if isinstance(time.get("nowDelay"), str) and time["nowDelay"]:
        picker["nowDelay"] = time["nowDelay"]
    if time.get("quickRanges"):
        picker["quick_ranges"] = [{"display": q.get("display", ""), "from": q.get("from", ""), "to": q.get("to", "")}
                                  for q in time["quickRanges"] if isinstance(q, dict)]
    return picker


def _link_v1(link: dict[str, Any], path: str) -> dict[str, Any]:
    """convertLinksToV1."""
    _known(link, {"title", "type", "icon", "tooltip", "tags", "asDropdown", "targetBlank", "includeVars",
                  "keepTime", "url", "placement"}, path)
    out = {key: json_copy(link.get(key, default)) for key, default in (
        ("asDropdown", False), ("icon", ""), ("includeVars", False), ("keepTime", False), ("tags", []),
        ("targetBlank", False), ("title", ""), ("tooltip", ""), ("type", "link"))}
    for key in ("url", "placement"):
        if key in link:
            out[key] = link[key]
    return out


def _panels_from_layout(elements: dict[str, Any], layout: dict[str, Any]) -> list[dict[str, Any]]:
    """convertPanelsFromElementsAndLayout for the layouts obs's v1 documents can say: a grid, or rows of grids."""
    placed: dict[str, str] = {}

    def panel_at(item: Any, item_path: str, y_offset: int) -> dict[str, Any]:
        item = _dict(item, item_path)
        if item.get("kind") != "GridLayoutItem":
            raise _fail(f"{item_path}.kind", f"expected a GridLayoutItem, got {item.get('kind')!r}")
        item_spec = _dict(item.get("spec"), f"{item_path}.spec")
        _known(item_spec, {"x", "y", "width", "height", "element", "repeat"}, f"{item_path}.spec")
        name = _str(_dict(item_spec.get("element"), f"{item_path}.spec.element").get("name"))
        if name not in elements:
            # convertGridLayoutToPanels: "panel with uid %s not found in the dashboard elements".
            raise _fail(f"{item_path}.spec.element.name", f"element {name!r} is not in $.elements")
        if name in placed:
            raise _fail(f"{item_path}.spec.element.name", f"element {name!r} is already placed at {placed[name]}")
        placed[name] = item_path
        return _panel_v1(name, elements[name], item_spec, y_offset, item_path)

    kind = layout.get("kind")
    layout_spec = _dict(layout.get("spec"), "$.layout.spec")
    if kind == "GridLayout":
        panels = [panel_at(item, f"$.layout.spec.items[{i}]", 0)
                  for i, item in enumerate(_list(layout_spec.get("items"), "$.layout.spec.items"))]
    elif kind == "RowsLayout":
        panels = _rows_v1(_list(layout_spec.get("rows"), "$.layout.spec.rows"), panel_at)
    else:
        raise _fail("$.layout.kind", f"layout {kind!r} has no v1 form obs compiles (GridLayout or RowsLayout)")
    # convertDashboardSpec_V2alpha1_to_V1beta1: "some panels were not converted".
    for name in elements:
        if name not in placed:
            raise _fail(f"$.elements.{name}", f"element {name!r} is not placed in the layout")
    return panels


def _rows_v1(rows: list[Any], panel_at: Any) -> list[dict[str, Any]]:
    """processRowItem for rows holding a GridLayout. Rows are stacked one under the other: each starts where
    everything above it ends (v2 rows have no position of their own)."""
    panels: list[dict[str, Any]] = []
    y = 0
    for index, row in enumerate(rows):
        path = f"$.layout.spec.rows[{index}]"
        row = _dict(row, path)
        if row.get("kind") != "RowsLayoutRow":
            raise _fail(f"{path}.kind", f"expected a RowsLayoutRow, got {row.get('kind')!r}")
        spec = _dict(row.get("spec"), f"{path}.spec")
        _known(spec, {"title", "collapse", "hideHeader", "repeat", "layout"}, f"{path}.spec")
        inner = _dict(spec.get("layout"), f"{path}.spec.layout")
        if inner.get("kind") != "GridLayout":
            raise _fail(f"{path}.spec.layout.kind", f"a row holding {inner.get('kind')!r} has no v1 form obs "
                                                    "compiles (a row holds a GridLayout)")
        items = _list(_dict(inner.get("spec"), f"{path}.spec.layout.spec").get("items"),
                      f"{path}.spec.layout.spec.items")
        item_paths = [f"{path}.spec.layout.spec.items[{i}]" for i in range(len(items))]
        if spec.get("hideHeader") is True:
            # Panels above the first row: no row panel; a hidden header is never collapsed.
            if index != 0:
                raise _fail(f"{path}.spec.hideHeader", "only the first row can have no header in v1 (it holds "
                                                       "the panels above the first row)")
            children = [panel_at(item, item_path, y) for item, item_path in zip(items, item_paths, strict=True)]
            panels += children
            y = max([y, *(p["gridPos"]["y"] + p["gridPos"]["h"] for p in children)])
            continue
        collapsed = spec.get("collapse") is True
        row_panel: dict[str, Any] = {"collapsed": collapsed, "gridPos": {"h": GRID_ROW_HEIGHT, "w": 24, "x": 0,
                                                                          "y": y},
                                     "title": _str(spec.get("title")), "type": "row"}
        if isinstance(spec.get("repeat"), dict) and spec["repeat"].get("value"):
            row_panel["repeat"] = spec["repeat"]["value"]
        children = [panel_at(item, item_path, y + GRID_ROW_HEIGHT)
                    for item, item_path in zip(items, item_paths, strict=True)]
        row_panel["panels"] = children if collapsed else []
        panels.append(row_panel)
        if not collapsed:
            panels += children
        bottom = [p["gridPos"]["y"] + p["gridPos"]["h"] for p in children if not collapsed]
        y = max([y + GRID_ROW_HEIGHT, *bottom])
    # Rows get the ids obs derives from their type and title (v2 keeps no row id).
    number_panels(panels)
    return panels


PANEL_SPEC_KEYS = {"id", "title", "description", "links", "data", "vizConfig", "transparent"}


def _panel_v1(name: str, element: Any, item: dict[str, Any], y_offset: int, item_path: str) -> dict[str, Any]:
    """convertPanelFromElement and convertPanelKindToV1."""
    path = f"$.elements.{name}"
    element = _dict(element, path)
    if element.get("kind") != "Panel":
        raise _fail(f"{path}.kind", f"element kind {element.get('kind')!r} is not one obs compiles (Panel)")
    spec = _dict(element.get("spec"), f"{path}.spec")
    _known(spec, PANEL_SPEC_KEYS, f"{path}.spec")
    panel_id = spec.get("id")
    if not isinstance(panel_id, int | float) or isinstance(panel_id, bool) or panel_id != int(panel_id):
        raise _fail(f"{path}.spec.id", "panel id must be a whole number")
    viz = _dict(spec.get("vizConfig"), f"{path}.spec.vizConfig")
    viz_spec = _dict(viz.get("spec"), f"{path}.spec.vizConfig.spec")
    _known(viz_spec, {"options", "fieldConfig"}, f"{path}.spec.vizConfig.spec")
    data = _dict(_dict(spec.get("data"), f"{path}.spec.data").get("spec"), f"{path}.spec.data.spec")
    _known(data, {"queries", "transformations", "queryOptions"}, f"{path}.spec.data.spec")
    field_config = _dict(viz_spec.get("fieldConfig"), f"{path}.spec.vizConfig.spec.fieldConfig")
    panel_type = _str(viz.get("group"))
    panel: dict[str, Any] = {
        "description": _str(spec.get("description")),
        "fieldConfig": {
            # Go's omitempty drops empty mappings on the way to v2; obs writes them.
            "defaults": {"mappings": [], **json_copy(_dict(field_config.get("defaults"),
                                                           f"{path}.spec.vizConfig.spec.fieldConfig.defaults"))},
            "overrides": json_copy(_list(field_config.get("overrides"),
                                         f"{path}.spec.vizConfig.spec.fieldConfig.overrides")),
        },
        "gridPos": {"h": _int(item.get("height"), DEFAULT_GRID["h"]), "w": _int(item.get("width"), DEFAULT_GRID["w"]),
                    "x": _int(item.get("x"), 0), "y": _int(item.get("y"), 0) + y_offset},
        "id": int(panel_id),
        "options": json_copy(_dict(viz_spec.get("options"), f"{path}.spec.vizConfig.spec.options")),
        "pluginVersion": _str(viz.get("version")),
        "title": _str(spec.get("title")),
        "type": panel_type,
    }
    queries = _list(data.get("queries"), f"{path}.spec.data.spec.queries")
    targets = [_target_v1(_dict(q, f"{path}.spec.data.spec.queries[{i}]"), f"{path}.spec.data.spec.queries[{i}]")
               for i, q in enumerate(queries)]
    # obs compiles a text panel without targets.
    if targets or panel_type != "text":
        panel["targets"] = targets
    datasources = [t.get("datasource") for t in targets]
    if datasources and all(ds == datasources[0] for ds in datasources) and datasources[0] is not None:
        panel["datasource"] = json_copy(datasources[0])
    elif datasources:
        # detectMixedDatasource.
        panel["datasource"] = dict(MIXED_DATASOURCE)
    links = _list(spec.get("links"), f"{path}.spec.links")
    if links:
        panel["links"] = [_data_link_v1(_dict(link, f"{path}.spec.links[{i}]"), f"{path}.spec.links[{i}]")
                          for i, link in enumerate(links)]
    transformations = _list(data.get("transformations"), f"{path}.spec.data.spec.transformations")
    if transformations:
        panel["transformations"] = [
            _transformation_v1(_dict(t, f"{path}.spec.data.spec.transformations[{i}]"),
                               f"{path}.spec.data.spec.transformations[{i}]")
            for i, t in enumerate(transformations)]
    options = _dict(data.get("queryOptions"), f"{path}.spec.data.spec.queryOptions")
    _known(options, {*QUERY_OPTION_STRINGS, "maxDataPoints", "hideTimeOverride", "queryCachingTTL"},
           f"{path}.spec.data.spec.queryOptions")
    for key in (*QUERY_OPTION_STRINGS, "maxDataPoints", "queryCachingTTL"):
        if key in options:
            panel[key] = options[key]
    if options.get("hideTimeOverride") is True:
        panel["hideTimeOverride"] = True
    if spec.get("transparent") is True:
        panel["transparent"] = True
    repeat = item.get("repeat")
    if repeat is not None:
        repeat = _dict(repeat, f"{item_path}.spec.repeat")
        if repeat.get("mode") != "variable":
            raise _fail(f"{item_path}.spec.repeat.mode", f"repeat mode {repeat.get('mode')!r} has no v1 form")
        panel["repeat"] = _str(repeat.get("value"))
        if repeat.get("direction") in ("h", "v"):
            panel["repeatDirection"] = repeat["direction"]
        if "maxPerRow" in repeat:
            panel["maxPerRow"] = repeat["maxPerRow"]
    return panel


def _target_v1(query: dict[str, Any], path: str) -> dict[str, Any]:
    """convertPanelQueryToV1 and getDataSourceForQuery, after convertDataQuery_V2beta1_to_V2alpha1."""
    spec = _dict(query.get("spec"), f"{path}.spec")
    _known(spec, {"query", "refId", "hidden"}, f"{path}.spec")
    data_query = _data_query_v1(_dict(spec.get("query"), f"{path}.spec.query"), f"{path}.spec.query")
    target = {key: json_copy(value) for key, value in data_query["spec"].items() if key != LEGACY_STRING_VALUE_KEY}
    if isinstance(data_query["spec"].get(LEGACY_STRING_VALUE_KEY), str):
        target["query"] = data_query["spec"][LEGACY_STRING_VALUE_KEY]
    target["refId"] = _str(spec.get("refId"))
    if spec.get("hidden") is True:
        target["hide"] = True
    if data_query["datasource"] is not None:
        target["datasource"] = data_query["datasource"]
    return target


def _data_query_v1(query: dict[str, Any], path: str) -> dict[str, Any]:
    """A DataQueryKind as v1 has it: its spec, and the {type, uid} reference (only {type} without a uid)."""
    if query.get("kind") != "DataQuery":
        raise _fail(f"{path}.kind", f"expected a DataQuery, got {query.get('kind')!r}")
    _known(query, {"kind", "group", "version", "datasource", "spec"}, path)
    group = _str(query.get("group"))
    uid = _str(_dict(query.get("datasource"), f"{path}.datasource").get("name"))
    datasource = {"type": group, "uid": uid} if uid else ({"type": group} if group else None)
    return {"datasource": datasource, "spec": _dict(query.get("spec"), f"{path}.spec")}


def _data_link_v1(link: dict[str, Any], path: str) -> dict[str, Any]:
    _known(link, {"title", "url", "targetBlank"}, path)
    return json_copy(link)


def _transformation_v1(transformation: dict[str, Any], path: str) -> dict[str, Any]:
    """convertPanelKindToV1: {id, options}; the flags v2 can carry go back beside them."""
    if transformation.get("kind") != "Transformation":
        raise _fail(f"{path}.kind", f"expected a Transformation, got {transformation.get('kind')!r}")
    spec = _dict(transformation.get("spec"), f"{path}.spec")
    _known(spec, {"options", "disabled", "filter", "topic"}, f"{path}.spec")
    out = {"id": _str(transformation.get("group")), "options": json_copy(spec.get("options"))}
    for key in ("disabled", "filter", "topic"):
        if key in spec:
            out[key] = json_copy(spec[key])
    return out


VARIABLE_COMMON_KEYS = {"name", "label", "hide", "skipUrlSync", "description"}


def _variable_v1(variable: dict[str, Any], path: str) -> dict[str, Any]:
    """convert{Query,Datasource,Custom,Text,Constant}VariableToV1, in the shape obs compiles."""
    kind = variable.get("kind")
    spec = _dict(variable.get("spec"), f"{path}.spec")
    out: dict[str, Any] = {"name": _str(spec.get("name"))}
    if isinstance(spec.get("label"), str):
        out["label"] = spec["label"]
    if isinstance(spec.get("description"), str) and spec["description"]:
        out["description"] = spec["description"]
    out["hide"] = _enum_number(VARIABLE_HIDE, spec.get("hide", "dontHide"), f"{path}.spec.hide")
    if spec.get("skipUrlSync") is True:
        out["skipUrlSync"] = True
    current = _dict(spec.get("current"), f"{path}.spec.current")
    out["current"] = {"text": json_copy(current.get("text", "")), "value": json_copy(current.get("value", ""))}
    choice_keys = {"options", "multi", "includeAll", "allValue", "allowCustomValue"}
    if kind == "DatasourceVariable":
        _known(spec, VARIABLE_COMMON_KEYS | choice_keys | {"current", "pluginId", "refresh", "regex"}, f"{path}.spec")
        out.update(type="datasource", query=_str(spec.get("pluginId")), regex=_str(spec.get("regex")),
                   refresh=_enum_number(VARIABLE_REFRESH, spec.get("refresh", "never"), f"{path}.spec.refresh"))
        _choices_v1(out, spec, path)
    elif kind == "QueryVariable":
        _known(spec, VARIABLE_COMMON_KEYS | choice_keys | {"current", "refresh", "query", "regex", "sort",
                                                           "definition", "regexApplyTo"}, f"{path}.spec")
        data_query = _data_query_v1(_dict(spec.get("query"), f"{path}.spec.query"), f"{path}.spec.query")
        legacy = data_query["spec"].get(LEGACY_STRING_VALUE_KEY)
        out.update(type="query", query=legacy if isinstance(legacy, str) else json_copy(data_query["spec"]),
                   regex=_str(spec.get("regex")),
                   refresh=_enum_number(VARIABLE_REFRESH, spec.get("refresh", "never"), f"{path}.spec.refresh"),
                   sort=_enum_number(VARIABLE_SORT, spec.get("sort", "disabled"), f"{path}.spec.sort"))
        if data_query["datasource"] is not None:
            out["datasource"] = data_query["datasource"]
        for key in ("definition", "regexApplyTo"):
            if key in spec:
                out[key] = spec[key]
        _choices_v1(out, spec, path)
    elif kind == "CustomVariable":
        _known(spec, VARIABLE_COMMON_KEYS | choice_keys | {"current", "query", "valuesFormat"}, f"{path}.spec")
        out.update(type="custom", query=_str(spec.get("query")))
        if "valuesFormat" in spec:
            out["valuesFormat"] = spec["valuesFormat"]
        _choices_v1(out, spec, path)
    elif kind in ("TextVariable", "ConstantVariable"):
        _known(spec, VARIABLE_COMMON_KEYS | {"current", "query"}, f"{path}.spec")
        query = _str(spec.get("query"))
        # v2 has no options for these; obs compiles the one option, its value selected.
        out.update(type="textbox" if kind == "TextVariable" else "constant", query=query,
                   options=[{"selected": True, "text": query, "value": query}])
    else:
        raise _fail(f"{path}.kind", f"variable kind {kind!r} is not one obs compiles (DatasourceVariable, "
                                    "QueryVariable, CustomVariable, TextVariable, ConstantVariable)")
    return out


def _choices_v1(out: dict[str, Any], spec: dict[str, Any], path: str) -> None:
    out["includeAll"] = spec.get("includeAll") is True
    out["multi"] = spec.get("multi") is True
    options = _list(spec.get("options"), f"{path}.spec.options")
    out["options"] = [{key: json_copy(o[key]) for key in ("selected", "text", "value") if key in o}
                      for o in options if isinstance(o, dict)]
    if isinstance(spec.get("allValue"), str):
        out["allValue"] = spec["allValue"]
    if spec.get("allowCustomValue") is False:
        out["allowCustomValue"] = False


def _annotation_v1(annotation: dict[str, Any], path: str) -> dict[str, Any]:
    """convertAnnotationsToV1."""
    if annotation.get("kind") != "AnnotationQuery":
        raise _fail(f"{path}.kind", f"expected an AnnotationQuery, got {annotation.get('kind')!r}")
    spec = _dict(annotation.get("spec"), f"{path}.spec")
    _known(spec, {"query", "enable", "hide", "iconColor", "name", "builtIn", "filter", "mappings", "placement",
                  "legacyOptions"}, f"{path}.spec")
    out: dict[str, Any] = {"enable": spec.get("enable") is True, "hide": spec.get("hide") is True,
                           "iconColor": _str(spec.get("iconColor")), "name": _str(spec.get("name"))}
    if spec.get("builtIn") is True:
        out["builtIn"] = 1
        out["type"] = "dashboard"
    if "query" in spec:
        data_query = _data_query_v1(_dict(spec["query"], f"{path}.spec.query"), f"{path}.spec.query")
        if data_query["datasource"] is not None:
            out["datasource"] = data_query["datasource"]
        if data_query["spec"]:
            out["target"] = json_copy(data_query["spec"])
    for key in ("filter", "mappings", "placement"):
        if spec.get(key):
            out[key] = json_copy(spec[key])
    for key, value in _dict(spec.get("legacyOptions"), f"{path}.spec.legacyOptions").items():
        if key not in ANNOTATION_KEYS_READ:
            out[key] = json_copy(value)
    return out


# --- JSON helpers ---------------------------------------------------------------------------------------------

def _dict(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(path, f"must be an object, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(path, f"must be a list, got {type(value).__name__}")
    return value


def _known(node: dict[str, Any], keys: set[str], path: str) -> None:
    for key in node:
        if key not in keys:
            raise _fail(f"{path}.{key}", "has no v1 form obs compiles")


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)


def _enum(names: tuple[str, ...], number: Any, default: str) -> str:
    """A v1 number as its v2 name (a float counts as its whole number, as Go reads JSON)."""
    if isinstance(number, bool) or not isinstance(number, int | float) or number != int(number):
        return default
    return names[int(number)] if 0 <= int(number) < len(names) else default


def _enum_number(names: tuple[str, ...], name: Any, path: str) -> int:
    if name not in names:
        raise _fail(path, f"{name!r} is not one of {', '.join(names)}")
    return names.index(name)
