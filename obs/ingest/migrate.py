"""Old dashboards brought up to Grafana 13's model (schemaVersion 42), as Grafana migrates them on load.

Sources, followed step by step (the version each step comes from is in its name):

* the schema steps of public/app/features/dashboard/state/DashboardMigrator.ts (`updateSchema`, schema 2 to
  39; read at grafana/grafana commit 01e3d94; the steps that upgrade panels are in obs.ingest.upgrades),
  Grafana 13's backend ports where they settle what the frontend leaves open
  (apps/dashboard/pkg/migration/schemaversion/v33.go, v36.go: every top-level panel gets a query and the
  default datasource), and Grafana 13's backend steps for 40-42
  (apps/dashboard/pkg/migration/schemaversion/v40.go: `refresh` always a string; v41.go: timepicker
  `time_options` removed; v42.go: a field hidden from the visualisation is hidden from tooltips too);
* the Angular panels, which Grafana 11+ no longer has, changed to their React successors with the panel
  plugins' own change handlers (obs.ingest.legacy);
* what loading does besides: the variables' datasource names resolved (migrateVariablesDatasourceNameToRef),
  an exported variable's empty current value, the text panel's and the Prometheus annotations' own
  migrations, DashboardModel's panels sorted by place;
* what loading and saving do: DashboardModel's constructor defaults (editable, graphTooltip, time,
  timepicker, links, fiscalYearStartMonth, templating, annotations with the built-in annotation added),
  the save model leaving out what the model does not keep (`style`, `rows` once converted, ...) and every
  null value (`sortedDeepCloneWithoutNulls`, which keeps -Infinity, written as null, for a threshold), and the
  option defaults a panel plugin fills in when it loads (obs.compile.dashboard_json.fill_plugin_defaults).

Steps for datasources other than Prometheus's neighbours are left out and said so: InfluxDB query rewriting
(schema 8) and CloudWatch query splitting (schema 34).

A dashboard at schemaVersion 42 that obs compiled passes through unchanged: every step is a no-op on it.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from obs.compile.dashboard_json import BUILTIN_ANNOTATION, SCHEMA_VERSION, fill_plugin_defaults
from obs.ingest import legacy, upgrades
from obs.ingest.datasources import SPECIAL, DatasourceIndex

GRID_COLUMNS = 24
GRID_CELL_HEIGHT, GRID_CELL_VMARGIN, MIN_PANEL_HEIGHT = 30, 8, 3 * 30  # app/core/constants.ts
DEFAULT_ROW_HEIGHT, DEFAULT_PANEL_SPAN = 250, 4
# What DashboardModel does not keep, so its save model does not write it.
NOT_KEPT = ("style", "rows", "hideControls", "sharedCrosshair", "nav", "services", "pulldowns", "iteration")
# The panel plugins built into Grafana 13 (public/app/plugins/panel/): each takes Grafana's version.
CORE_PANELS = frozenset({
    "alertlist", "annolist", "barchart", "bargauge", "candlestick", "canvas", "dashlist", "datagrid", "flamegraph",
    "gauge", "geomap", "heatmap", "histogram", "logs", "news", "nodeGraph", "piechart", "stat", "state-timeline",
    "status-history", "table", "text", "timeseries", "traces", "trend", "xychart",
})
Panel = dict[str, Any]
PanelUpgrade = Callable[[Panel], Panel]


@dataclass
class Migrated:
    dashboard: dict[str, Any]
    from_version: int
    notes: list[str] = field(default_factory=list)  # what changed, one line each, for the module's docstring
    warnings: list[str] = field(default_factory=list)  # what could not be migrated as Grafana would


def migrate(dashboard: dict[str, Any], index: DatasourceIndex) -> Migrated:
    """The dashboard as Grafana 13 holds it after loading `dashboard` (which is not changed)."""
    return _Migrator(copy.deepcopy(dashboard), index).run()


class _Migrator:
    def __init__(self, dashboard: dict[str, Any], index: DatasourceIndex) -> None:
        self.d = dashboard
        # The dashboard's own datasource variables resolve `$ds` (DatasourceSrv.getInstanceSettings).
        self.index = DatasourceIndex.of(index.datasources, dashboard)
        version = dashboard.get("schemaVersion")
        self.old = version if isinstance(version, int) else 0
        self.out = Migrated(dashboard, self.old)
        self.panel_steps: list[PanelUpgrade] = []

    def note(self, text: str) -> None:
        if text not in self.out.notes:
            self.out.notes.append(text)

    def warn(self, text: str) -> None:
        if text not in self.out.warnings:
            self.out.warnings.append(text)

    # ------------------------------------------------------------------ the run

    def run(self) -> Migrated:
        d = self.d
        d.setdefault("templating", {}).setdefault("list", [])
        if not isinstance(d["templating"].get("list"), list):
            d["templating"]["list"] = []
        self.annotations_list()
        if self.old < SCHEMA_VERSION:
            self.note(f"schemaVersion {self.old} -> {SCHEMA_VERSION} (Grafana's DashboardMigrator)")
            self.schema_steps()
            for index, panel in enumerate(d.get("panels") or []):
                for upgrade in self.panel_steps:
                    panel = upgrade(panel)
                    d["panels"][index] = panel
                    if isinstance(panel.get("panels"), list):
                        panel["panels"] = [upgrade(child) for child in panel["panels"]]
        d["schemaVersion"] = SCHEMA_VERSION
        self.legacy_panels()
        self.text_panels()
        self.variable_datasource_refs()
        self.variable_current()
        self.prometheus_annotations()
        self.model_defaults()
        self.sort_panels()
        for key in NOT_KEPT:
            d.pop(key, None)
        self.out.dashboard = without_nulls(d)
        version = _pinned_grafana_version()
        for panel in _all_panels(self.out.dashboard):
            if panel.get("type") in CORE_PANELS:
                # PanelModel.pluginLoaded: a panel takes the version of the plugin that loads it.
                if panel.get("pluginVersion") != version:
                    self.note(f"pluginVersion of the built-in panels set to {version}, as Grafana {version} sets "
                              "it when a panel's plugin loads")
                panel["pluginVersion"] = version
                fill_plugin_defaults(panel)
        return self.out

    def annotations_list(self) -> None:
        annotations = self.d.get("annotations")
        if not isinstance(annotations, dict) or not isinstance(annotations.get("list"), list):
            self.d["annotations"] = {"list": []}

    # ------------------------------------------------------------------ DashboardMigrator.updateSchema

    def schema_steps(self) -> None:  # noqa: C901 - one step per schema version, in Grafana's order
        old, d, variables = self.old, self.d, self.d["templating"]["list"]
        if old < 3:
            self.panel_steps.append(self.v3_ids)
        if old < 4:
            self.panel_steps.append(upgrades.v4_alias_y_axis)
        if old < 6:
            for variable in variables:
                if variable.get("type") in (None, "filter"):
                    variable["type"] = "query"
        if old < 7:
            self.panel_steps.append(upgrades.v7_ref_ids)
        if old < 8 and any(_is_influx(t) for p in _all_panels(d) for t in p.get("targets") or []):
            self.warn("InfluxDB queries of schema 7 and older are left as they are (schema 8 rewrote them)")
        if old < 9:
            self.panel_steps.append(upgrades.v9_singlestat_thresholds)
        if old < 10:
            self.panel_steps.append(upgrades.v10_table_thresholds)
        if old < 12:
            for variable in variables:
                variable["refresh"] = 1 if variable.get("refresh") else 0
                if variable.get("hideVariable"):
                    variable["hide"] = 2
                elif variable.get("hideLabel"):
                    variable["hide"] = 1
            self.panel_steps.append(upgrades.v12_graph_axes)
        if old < 13:
            self.panel_steps.append(upgrades.v13_graph_thresholds)
        if old < 14:
            d["graphTooltip"] = 1 if d.get("sharedCrosshair") else 0
        if old < 16:
            self.v16_grid_layout()
        if old < 17:
            self.panel_steps.append(upgrades.v17_min_span)
        if old < 18:
            self.panel_steps.append(upgrades.v18_gauge_options)
        if old < 19:
            self.panel_steps.append(upgrades.v19_panel_links)
        if old < 20:
            self.panel_steps.append(upgrades.data_links(upgrades.v20_variables_syntax))
        if old < 21:
            self.panel_steps.append(upgrades.data_links(lambda url: url.replace("__series.labels", "__field.labels")))
        if old < 22:
            self.panel_steps.append(upgrades.v22_table_align)
        if old < 23:
            for variable in variables:
                if "multi" in variable and isinstance(variable.get("current"), dict) and variable["current"]:
                    variable["current"] = _align_current_with_multi(variable["current"], bool(variable["multi"]))
        if old < 24:
            self.panel_steps.append(upgrades.v24_table_old)
        if old < 26:
            self.panel_steps.append(upgrades.v26_text2)
        if old < 27:
            self.v27_repeats_and_constants()
        if old < 28:
            self.panel_steps.append(self.v28_singlestat)
            for variable in variables:
                for key in ("tags", "tagsQuery", "tagValuesQuery", "useTags"):
                    variable.pop(key, None)
        if old < 29:
            for variable in variables:
                if variable.get("type") == "query":
                    if variable.get("refresh") not in (1, 2):
                        variable["refresh"] = 1
                    if variable.get("options"):
                        variable["options"] = []
        if old < 30:
            self.panel_steps.append(upgrades.v30_value_mappings)
            self.panel_steps.append(upgrades.v30_tooltip_options)
        if old < 31:
            self.panel_steps.append(upgrades.v31_labels_to_fields)
        if old < 33:
            self.panel_steps.append(self.v33_datasource_refs)
        if old < 34 and any("namespace" in t and "metricName" in t for p in _all_panels(d)
                            for t in p.get("targets") or []):
            self.warn("CloudWatch queries are left as they are (schema 34 split their statistics)")
        if old < 35:
            self.panel_steps.append(upgrades.v35_x_axis)
        if old < 36:
            self.v36_default_datasources()
        if old < 37:
            self.panel_steps.append(upgrades.v37_legend)
        if old < 38:
            self.panel_steps.append(upgrades.v38_table_cell_options)
        if old < 39:
            self.panel_steps.append(upgrades.v39_time_series_table)
        if old < 40 and not isinstance(d.get("refresh"), str):
            d["refresh"] = ""  # v40.go: refresh is always a string
        if old < 41 and isinstance(d.get("timepicker"), dict):
            d["timepicker"].pop("time_options", None)  # v41.go
        if old < 42:
            self.panel_steps.append(upgrades.v42_hide_from)

    def v3_ids(self, panel: Panel) -> Panel:
        if not panel.get("id"):
            taken = [p.get("id") for p in _all_panels(self.d) if isinstance(p.get("id"), int)]
            panel["id"] = max(taken, default=0) + 1
        return panel

    def v16_grid_layout(self) -> None:
        """upgradeToGridLayout: rows of spans become panels on the 24-column grid, with row panels when any row
        is collapsed, repeated or shows its title."""
        rows = self.d.get("rows")
        if not isinstance(rows, list) or not rows:
            return
        self.note("rows (schema 15 and older) laid out on the 24-column grid (upgradeToGridLayout)")
        panels: list[Panel] = list(self.d.get("panels") or [])
        ids = [p.get("id") for row in rows for p in row.get("panels") or [] if isinstance(p.get("id"), int)]
        next_row_id = max(ids, default=0) + 1
        show_rows = any(row.get("collapse") or row.get("showTitle") or row.get("repeat") for row in rows)
        y = 0
        for row in rows:
            if row.get("repeatIteration"):
                continue
            height = _grid_height(row.get("height") or DEFAULT_ROW_HEIGHT)
            row_panel: Panel | None = None
            if show_rows:
                row_panel = {"id": next_row_id, "type": "row", "title": row.get("title"),
                             "collapsed": row.get("collapse"), "repeat": row.get("repeat"), "panels": [],
                             "gridPos": {"x": 0, "y": y, "w": GRID_COLUMNS, "h": height}}
                next_row_id += 1
                y += 1
            area = _RowArea(height, y)
            for panel in row.get("panels") or []:
                span = panel.get("span") or DEFAULT_PANEL_SPAN
                if panel.get("minSpan"):
                    panel["minSpan"] = min(GRID_COLUMNS, (GRID_COLUMNS / 12) * panel["minSpan"])
                width = math.floor(span) * (GRID_COLUMNS // 12)
                panel_height = _grid_height(panel["height"]) if panel.get("height") else height
                place = area.place(panel_height, width)
                y = area.y
                panel["gridPos"] = {"x": place[0], "y": y + place[1], "w": width, "h": panel_height}
                area.add(panel["gridPos"])
                panel.pop("span", None)
                panel.pop("height", None)
                if row_panel is not None and row.get("collapse"):
                    row_panel["panels"].append(panel)
                else:
                    panels.append(panel)
            if row_panel is not None:
                panels.append(row_panel)
            if not (row_panel is not None and row.get("collapse")):
                y += height
        self.d["panels"] = panels

    def v27_repeats_and_constants(self) -> None:
        kept = []
        for panel in self.d.get("panels") or []:
            if panel.get("repeatPanelId") or panel.get("repeatByRow"):
                continue
            if panel.get("type") == "row" and isinstance(panel.get("panels"), list):
                panel["panels"] = [p for p in panel["panels"] if not p.get("repeatPanelId")]
            kept.append(panel)
        self.d["panels"] = kept
        variables = self.d["templating"]["list"]
        for index, variable in enumerate(variables):
            if variable.get("type") != "constant":
                continue
            value = variable.get("query") if variable.get("query") is not None else ""
            current = {"selected": True, "text": value, "value": value}
            variable = {**variable, "current": current, "options": [current]}
            if variable.get("hide") in (0, 1, None):
                variable["type"] = "textbox"
                self.note(f"variable {variable.get('name')!r}: a visible constant became a textbox (schema 27)")
            variables[index] = variable

    def v28_singlestat(self, panel: Panel) -> Panel:
        if panel.get("type") in ("singlestat", "grafana-singlestat-panel"):
            return self.legacy_panel(panel)
        return panel

    def v33_datasource_refs(self, panel: Panel) -> Panel:
        before = panel.get("datasource")
        panel["datasource"] = self.index.name_to_ref(before, default_as_null=True)
        self.datasource_note(before, panel["datasource"])
        for target in panel.get("targets") or []:
            if not isinstance(target, dict):
                continue
            ref = self.index.name_to_ref(target.get("datasource"), default_as_null=True)
            if ref is not None:
                self.datasource_note(target.get("datasource"), ref)
                target["datasource"] = ref
        return panel

    def datasource_note(self, before: Any, after: Any) -> None:
        if isinstance(before, str) and isinstance(after, dict) and before != "default" and before not in SPECIAL:
            self.note(f"datasource {before!r} -> {_ref_text(after)}")

    def v36_default_datasources(self) -> None:
        """Annotations and query variables get references, null meaning the default datasource; every panel
        with queries (and every top-level panel: Grafana's panel model gives each one a query A) gets the
        default datasource when it has none (v36.go follows the frontend's migration exactly)."""
        for query in self.d["annotations"]["list"]:
            if isinstance(query, dict):
                before = query.get("datasource")
                query["datasource"] = self.index.name_to_ref(before, default_as_null=False)
                self.datasource_note(before, query["datasource"])
        default = self.index.default_ref()
        if default is None:
            return
        for variable in self.d["templating"]["list"]:
            if variable.get("type") == "query" and "datasource" in variable and variable["datasource"] is None:
                variable["datasource"] = dict(default)
        for panel in self.d.get("panels") or []:
            self.v36_panel(panel, nested=False)
            for child in panel.get("panels") or []:
                if isinstance(child, dict):
                    self.v36_panel(child, nested=True)

    def v36_panel(self, panel: Panel, *, nested: bool) -> None:
        default = self.index.default_ref()
        targets = panel.get("targets")
        if not isinstance(targets, list) or not targets:
            if nested:
                return
            targets = panel["targets"] = [{"refId": "A"}]
        was_default = False
        if panel.get("datasource") is None:
            panel["datasource"] = dict(default or {})
            was_default = True
        elif not (isinstance(panel["datasource"], dict) and not panel["datasource"]):
            panel["datasource"] = self.index.name_to_ref(panel["datasource"], default_as_null=False)
        for target in targets:
            if not isinstance(target, dict):
                continue
            ds = target.get("datasource")
            if ds is None or (isinstance(ds, dict) and ds.get("uid") is None):
                panel_ds = panel.get("datasource")
                if isinstance(panel_ds, dict):
                    if panel_ds.get("uid") != "-- Mixed --":
                        target["datasource"] = dict(panel_ds)
                    else:
                        target["datasource"] = self.index.name_to_ref(ds, default_as_null=False)
            else:
                target["datasource"] = self.index.name_to_ref(ds, default_as_null=False)
            if was_default:
                target_ds = target.get("datasource")
                if isinstance(target_ds, dict) and target_ds.get("uid") not in ("", None, "__expr__"):
                    panel["datasource"] = target_ds

    # ------------------------------------------------------------------ Angular panels

    def legacy_panels(self) -> None:
        panels = self.d.get("panels") or []
        for index, panel in enumerate(panels):
            panels[index] = self.legacy_panel(panel)
            if isinstance(panels[index].get("panels"), list):
                panels[index]["panels"] = [self.legacy_panel(child) for child in panels[index]["panels"]]

    def legacy_panel(self, panel: Panel) -> Panel:
        kind = panel.get("type")
        handler = legacy.HANDLERS.get(kind)
        what = f"panel {panel.get('title')!r} (id {panel.get('id')})"
        if handler is not None:
            migrated = handler(panel)
            if migrated.get("type") == kind:
                self.warn(f"{what}: an Angular {kind} panel drawn as {legacy.drawn_as(panel)}, which Grafana 13 "
                          "migrates to a barchart or histogram panel with a handler obs import does not have: kept "
                          "as it is")
            else:
                self.note(f"{what}: {kind} -> {migrated.get('type')} ({legacy.SOURCES[kind]})")
            return migrated
        if kind in legacy.NOT_MIGRATED:
            self.warn(f"{what}: an Angular {kind} panel, which Grafana 13 migrates to "
                      f"{legacy.NOT_MIGRATED[kind]} with a handler obs import does not have: kept as it is")
        return panel

    # ------------------------------------------------------------------ loading and saving

    def text_panels(self) -> None:
        """textPanelMigrationHandler (public/app/plugins/panel/text/textPanelMigrationHandler.ts): an Angular-era
        text panel's top-level `content` and `mode` move into its options (before 7.1) or go."""
        for panel in _all_panels(self.d):
            if panel.get("type") != "text" or "content" not in panel or "mode" not in panel:
                continue
            content, mode = panel.pop("content"), panel.pop("mode")
            options = panel.get("options") if isinstance(panel.get("options"), dict) else {}
            if _version_below(panel.get("pluginVersion"), 7.1):
                options = {"content": content, "mode": mode, **options}
            panel["options"] = options
            if options.get("mode") == "text":
                panel["options"] = {"content": options.get("content"), "mode": "markdown"}
            self.note(f"panel {panel.get('title')!r} (id {panel.get('id')}): the text panel's content and mode "
                      "moved into its options (textPanelMigrationHandler)")

    def variable_current(self) -> None:
        """A query or custom variable exported without a current value ("Export for sharing externally" clears
        it) gets the one Grafana selects when the variable loads: All, when it offers All; otherwise none until
        its query runs."""
        for variable in self.d["templating"]["list"]:
            if not isinstance(variable, dict) or variable.get("type") not in ("query", "custom"):
                continue
            if variable.get("current"):
                continue
            if variable.get("includeAll"):
                all_value = {"text": ["All"], "value": ["$__all"]} if variable.get("multi") else {
                    "text": "All", "value": "$__all"}
                variable["current"] = all_value
            else:
                variable["current"] = {"text": "", "value": ""}
            self.note(f"variable {variable.get('name')!r}: no current value; set as Grafana sets it on load")

    def prometheus_annotations(self) -> None:
        """The Prometheus datasource's prepareAnnotation (packages/grafana-prometheus/src/annotations.ts): a
        legacy annotation's `expr` and `step` move into its `target`."""
        for annotation in self.d["annotations"]["list"]:
            if not isinstance(annotation, dict) or (annotation.get("datasource") or {}).get("type") != "prometheus":
                continue
            if "expr" not in annotation and "step" not in annotation:
                continue
            target = annotation.get("target") if isinstance(annotation.get("target"), dict) else {"expr": "",
                                                                                                 "refId": "Anno"}
            annotation["target"] = {**target, "refId": target.get("refId") or annotation.get("refId") or "Anno",
                                    "expr": target.get("expr") or annotation.get("expr") or "",
                                    "interval": target.get("interval") or annotation.get("step") or ""}
            annotation.pop("expr", None)
            annotation.pop("step", None)
            self.note(f"annotation {annotation.get('name')!r}: its query moved into its target (the Prometheus "
                      "datasource's prepareAnnotation)")

    def variable_datasource_refs(self) -> None:
        """migrateVariablesDatasourceNameToRef (public/app/features/variables/state/actions.ts), run whenever a
        dashboard's variables load: a query or ad hoc variable's datasource given by name becomes a reference."""
        for variable in self.d["templating"]["list"]:
            if not isinstance(variable, dict) or variable.get("type") not in ("query", "adhoc"):
                continue
            before = variable.get("datasource")
            if isinstance(before, dict) and isinstance(before.get("uid"), str):
                continue
            ref = self.index.name_to_ref(before, default_as_null=False)
            if ref is not None:
                variable["datasource"] = ref
                self.datasource_note(before, ref)

    def sort_panels(self) -> None:
        """DashboardModel.sortPanelsByGridPos, on load: top-level panels in reading order (y, then x)."""
        panels = self.d.get("panels")
        if isinstance(panels, list) and all(isinstance(p, dict) and isinstance(p.get("gridPos"), dict) for p in panels):
            panels.sort(key=lambda p: (p["gridPos"].get("y", 0), p["gridPos"].get("x", 0)))

    def model_defaults(self) -> None:
        """DashboardModel's constructor: what a loaded dashboard always has (the keys obs compiles)."""
        d = self.d
        d["editable"] = d.get("editable") is not False
        d["graphTooltip"] = d.get("graphTooltip") or 0
        if not isinstance(d.get("time"), dict):
            d["time"] = {"from": "now-6h", "to": "now"}
        if not isinstance(d.get("timepicker"), dict):
            d["timepicker"] = {}
        for key, empty in (("links", []), ("tags", [])):
            if not isinstance(d.get(key), list):
                d[key] = empty
        if d.get("fiscalYearStartMonth") is None:
            d["fiscalYearStartMonth"] = 0
        if not isinstance(d.get("timezone"), str):
            d["timezone"] = ""
        if not isinstance(d.get("refresh"), str):
            d["refresh"] = ""
        annotations = d["annotations"]["list"]
        if not any(isinstance(a, dict) and a.get("builtIn") for a in annotations):
            # DashboardModel.addBuiltInAnnotationQuery
            annotations.insert(0, copy.deepcopy(BUILTIN_ANNOTATION))
            self.note("the built-in annotation (Annotations & Alerts) added, as Grafana adds it")


# ---------------------------------------------------------------------- helpers


class _RowArea:
    """RowArea (DashboardMigrator.ts): the cells of a 12-span row filled so far, to place the next panel."""

    def __init__(self, height: int, y: int) -> None:
        self.area = [0] * GRID_COLUMNS
        self.y = y
        self.height = height

    def add(self, grid: dict[str, int]) -> None:
        for i in range(grid["x"], grid["x"] + grid["w"]):
            if i < GRID_COLUMNS and (not self.area[i] or grid["y"] + grid["h"] - self.y > self.area[i]):
                self.area[i] = grid["y"] + grid["h"] - self.y

    def place(self, height: int, width: int, once: bool = False) -> tuple[int, int]:
        start = end = None
        for i in range(GRID_COLUMNS - 1, -1, -1):
            if self.height - self.area[i] > 0:
                if end is None:
                    end = i
                elif i < GRID_COLUMNS - 1 and self.area[i] <= self.area[i + 1]:
                    start = i
                else:
                    break
            else:
                break
        if start is not None and end is not None and end - start >= width - 1:
            return start, max(self.area[start:])
        if once:
            return 0, 0
        self.y += self.height
        self.area = [0] * GRID_COLUMNS
        return self.place(height, width, True)


def _grid_height(height: Any) -> int:
    if isinstance(height, str):
        height = int(re.sub(r"px$", "", height.strip()) or 0)
    height = max(int(height), MIN_PANEL_HEIGHT)
    return math.ceil(height / (GRID_CELL_HEIGHT + GRID_CELL_VMARGIN))


def _align_current_with_multi(current: dict[str, Any], multi: bool) -> dict[str, Any]:
    """alignCurrentWithMulti (app/features/variables/shared/multiOptions.ts)."""
    value, text = current.get("value"), current.get("text")
    if multi and not isinstance(value, list):
        return {**current, "value": [value], "text": [text] if not isinstance(text, list) else text}
    if not multi and isinstance(value, list):
        return {**current, "value": value[0] if value else "", "text": text[0] if isinstance(text, list) and text
                else (text if not isinstance(text, list) else "")}
    return current


def without_nulls(value: Any, path: tuple[Any, ...] = ()) -> Any:
    """sortedDeepCloneWithoutNulls (app/core/utils/object.ts), as the dashboard save model applies it: object
    keys whose value is null go; a threshold step's null stays, because it is -Infinity written as JSON."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if item is None and not (key == "value" and len(path) >= 2 and path[-2] == "steps"):
                continue
            out[key] = without_nulls(item, (*path, key))
        return out
    if isinstance(value, list):
        return [without_nulls(item, (*path, index)) for index, item in enumerate(value)]
    return value


def _all_panels(dashboard: dict[str, Any]) -> list[Panel]:
    out = []
    for panel in dashboard.get("panels") or []:
        if isinstance(panel, dict):
            out.append(panel)
            out += [child for child in panel.get("panels") or [] if isinstance(child, dict)]
    return out




def _is_influx(target: Any) -> bool:
    return isinstance(target, dict) and "fields" in target and "tags" in target and "groupBy" in target










def _version_below(version: Any, number: float) -> bool:
    """parseFloat(panel.pluginVersion || '6.1') < number, as the panel migration handlers compare."""
    found = re.match(r"^\s*(\d+(\.\d+)?)", str(version or "6.1"))
    return float(found.group(1)) < number if found else True


def _pinned_grafana_version() -> str:
    from catalog.versions import GRAFANA_VERSION

    return GRAFANA_VERSION






def _ref_text(ref: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in ref.items()) + "}"
