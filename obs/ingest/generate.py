"""A dashboard document as a module under dashboards/ that reads like the project's own.

For each part the generator writes the form the project's own modules use when it can express the part, and
an explicit pass-through (obs.author.passthrough) when it cannot:

    the dashboard   obs.author.dashboard.platform_dashboard, else a grafanalib Dashboard; settings neither
                    manages go through with_settings
    a panel         the builders of obs.author.panels (and obs.author.traces), else raw_panel
    a query         a catalog/promql.py builder call, an f-string of builder calls and catalog metrics, or text
    thresholds      a catalog/thresholds.py Threshold (thresholds=t.X, or steps_for(t.X) in a pass-through)
    a variable      the helpers of obs.author.variables, else raw_variable
    the layout      sections of obs.author.layout, else each panel at its place (layout.at)

Which form reproduces a part exactly is not guessed: obs.ingest.verify builds the module and compares, and
`Choices` records what must be written another way; the caller generates again until the module builds back
to the document.
"""

from __future__ import annotations

import copy
import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from obs.author.passthrough import PANEL_FIELDS
from obs.compile.dashboard_json import FIELD_CUSTOM_DEFAULTS, PANEL_OPTION_DEFAULTS, derived_panel_id
from obs.ingest.code import Call, Code, Expr, FString, call, comment_lines, render
from obs.ingest.datasources import same_reference
from obs.ingest.match import Catalog, Matchers, Query, match_thresholds, query_code

Path = tuple[Any, ...]  # a JSON path into the dashboard: ("panels", 3) or ("panels", 3, "panels", 0)
LAYOUT_KEYS = ("id", "gridPos", "type", "title", "panels", "pluginVersion")
ROW_KEYS = ("collapsed", "gridPos", "id", "panels", "title", "type")
DIRECT_SETTINGS = ("title", "uid", "description", "tags", "timezone", "refresh", "graphTooltip", "time", "editable",
                   "panels", "templating", "schemaVersion")


@dataclass
class Choices:
    """What verification found the preferred forms could not reproduce."""

    raw_panels: set[Path] = field(default_factory=set)  # pass-through instead of a builder
    full_raw: set[Path] = field(default_factory=set)  # pass-through with everything in `extra`
    explicit_ids: set[Path] = field(default_factory=set)
    raw_variables: set[int] = field(default_factory=set)
    coordinates: bool = False
    no_frame: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    # what the builder or helper wrote that the document does not have, per panel path or ("variable", index)
    reasons: dict[Any, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What a module is generated from."""

    dashboard: dict[str, Any]  # the document the module must build back to
    origin: str
    form: str
    notes: tuple[str, ...]  # what was migrated or adapted
    grafana_version: str
    managed_tag: str
    lint: dict[Path | None, list[str]] = field(default_factory=dict)  # findings per panel path (None: dashboard)
    excluded: dict[Path, list[str]] = field(default_factory=dict)  # conventions excluded in lint-exclusions.yml


@dataclass
class Generated:
    source: str
    pass_through: list[str]  # "panel 'X' (id 7): why", one per pass-through panel or variable
    builders: int  # panels written with a builder


class _Imports:
    def __init__(self) -> None:
        self.names: dict[str, set[str]] = {}
        self.plain: set[str] = set()

    def use(self, module: str, name: str) -> str:
        self.names.setdefault(module, set()).add(name)
        return name.split(" as ")[-1]

    def discard(self, module: str, name: str) -> None:
        self.names.get(module, set()).discard(name)

    def lines(self) -> list[str]:
        out = [f"import {module}" for module in sorted(self.plain)]
        for module in sorted(self.names):
            out.append(f"from {module} import {', '.join(sorted(self.names[module]))}")
        return out


def generate(ctx: Context, choices: Choices, catalog: Catalog) -> Generated:
    return _Writer(ctx, choices, catalog).module()


class _Writer:
    def __init__(self, ctx: Context, choices: Choices, catalog: Catalog) -> None:
        self.ctx = ctx
        self.d = ctx.dashboard
        self.choices = choices
        self.catalog = catalog
        self.imports = _Imports()
        self.matchers = Matchers(catalog)
        self.names: set[str] = set()
        self.blocks: list[str] = []  # module-level statements, in order
        self.pass_through: list[str] = []
        self.builders = 0
        self.ids = _explicit_ids(self.d, choices.explicit_ids)
        self.panel_names: dict[Path, str] = {}

    # ------------------------------------------------------------------ the module

    def module(self) -> Generated:
        panel_names = self.panel_definitions()
        variables = self.variables()
        dashboard = self.dashboard_expr(panel_names, variables)
        lines = ['"""' + self.docstring() + '"""', ""]
        import_lines = self.imports.lines()
        lines += import_lines
        definitions = self.matchers.definitions()
        if definitions:
            lines.append("")
            lines += [f"{code} = {render(text)}" for code, text in definitions]
        for block in self.blocks:
            lines += ["", "", block]
        lines += ["", ""]
        lines += comment_lines_for(self.ctx.lint.get(None, []), "obs lint")
        lines.append(f"dashboard = {render(dashboard)}")
        return Generated("\n".join(lines) + "\n", self.pass_through, self.builders)

    def docstring(self) -> str:
        title = self.d.get("title") or self.d.get("uid")
        text = [f"{title}: imported by `obs import` from {self.ctx.origin} ({self.ctx.form}).", ""]
        if self.ctx.notes:
            text.append("Migrated and adapted as Grafana would load it into this project:")
            text += [f"- {note}" for note in self.ctx.notes]
        else:
            text.append("Nothing to migrate: it is in Grafana 13's model already.")
        if self.pass_through:
            text += ["", "Kept as Grafana had it (pass-through, see obs.author.passthrough):"]
            text += [f"- {item}" for item in self.pass_through]
        return _docstring_text("\n".join(text))

    # ------------------------------------------------------------------ panels

    def panel_definitions(self) -> dict[Path, str]:
        for panel, path in _panels(self.d):
            if panel.get("type") == "row" and not self.choices.coordinates:
                continue
            self.panel_names[path] = self.panel_definition(panel, path)
        return self.panel_names

    def panel_definition(self, panel: dict[str, Any], path: Path) -> str:
        name = self.unique_name(panel.get("title") or f"{panel.get('type')} {panel.get('id')}")
        comments: list[str] = []
        expr = None
        if path not in self.choices.raw_panels and path not in self.choices.full_raw and panel.get("type") != "row":
            expr = self.builder(panel, comments)
        if expr is None:
            comments = []
            expr, why = self.raw(panel, path, comments)
            self.pass_through.append(f"{_describe(panel)}: {why}")
            comments.insert(0, f"Pass-through: {why}.")
        else:
            self.builders += 1
            if path in self.ids:
                expr = call(self.imports.use("obs.author.passthrough", "with_id"), expr, panel["id"])
        if self.choices.coordinates:
            grid = panel.get("gridPos") or {}
            expr = call(self.imports.use("obs.author.layout", "at"), expr, **{k: grid.get(k) for k in "xywh"})
        comments += [f"obs lint: {finding}" for finding in self.ctx.lint.get(path, [])]
        comments += [f"excluded in lint-exclusions.yml: {item}" for item in self.ctx.excluded.get(path, [])]
        block = [line for comment in comments for line in comment_lines(comment)]
        block.append(f"{name} = {render(expr)}")
        self.blocks.append("\n".join(block))
        return name

    def unique_name(self, title: str) -> str:
        base = re.sub(r"[^0-9a-zA-Z]+", "_", str(title).lower()).strip("_") or "panel"
        if base[0].isdigit():
            base = f"panel_{base}"
        if keyword.iskeyword(base) or base in ("dashboard", "m", "q", "t", "G", "grafana"):
            base = f"{base}_panel"
        name, number = base, 2
        while name in self.names:
            name, number = f"{base}_{number}", number + 1
        self.names.add(name)
        return name

    # ------------------------------------------------------------------ builders

    def builder(self, panel: dict[str, Any], comments: list[str]) -> Expr | None:
        kind = panel.get("type")
        if kind == "table" and _is_tempo_table(panel):
            return self.tempo_traces(panel)
        if kind not in ("timeseries", "stat", "table", "text"):
            return None
        if kind == "text":
            options = panel.get("options") or {}
            if options.get("mode") != "markdown":
                return None
            return call(self.imports.use("obs.author.panels", "text"), panel.get("title", ""),
                        options.get("content", ""), description=panel.get("description", ""))
        targets = []
        for target in panel.get("targets") or []:
            built = self.target(target, comments)
            if built is None:
                return None
            targets.append(built)
        defaults = (panel.get("fieldConfig") or {}).get("defaults") or {}
        options = panel.get("options") or {}
        custom = defaults.get("custom") or {}
        kwargs: dict[str, Any] = {"description": panel.get("description", ""), "unit": defaults.get("unit", "")}
        context = " ".join([str(panel.get("title") or ""), *(str(t.get("expr") or "") for t in panel.get("targets")
                                                              or [])])
        matched = match_thresholds(defaults.get("thresholds"), self.catalog, context)
        if matched.comment:
            comments.append(matched.comment)
        name = self.imports.use("obs.author.panels", kind)
        if kind == "timeseries":
            if matched.code:
                kwargs["thresholds"] = self.catalog_code(matched.code)
            if (custom.get("stacking") or {}).get("mode") == "normal":
                kwargs["stacked"] = True
            self.min_max(kwargs, defaults)
            calcs = ((options.get("legend") or {}).get("calcs"))
            if calcs is not None and list(calcs) != ["mean", "max", "lastNotNull"]:
                kwargs["legend_calcs"] = tuple(calcs)
            if defaults.get("links"):
                kwargs["links"] = self.links(defaults["links"])
            if custom.get("drawStyle", "line") != "line":
                kwargs["draw_style"] = custom["drawStyle"]
        elif kind == "stat":
            self.stat_steps(kwargs, defaults.get("thresholds"), matched.code)
            mappings = defaults.get("mappings") or []
            if mappings:
                kwargs["mappings"] = self.mappings(mappings)
            calcs = (options.get("reduceOptions") or {}).get("calcs") or ["lastNotNull"]
            if calcs != ["lastNotNull"]:
                kwargs["reduce"] = calcs[0]
            if options.get("graphMode", "area") != "area":
                kwargs["graph"] = False
            if "decimals" in defaults:
                kwargs["decimals"] = defaults["decimals"]
            if defaults.get("links"):
                kwargs["links"] = self.links(defaults["links"])
            if options.get("colorMode", "value") != "value":
                kwargs["color_mode"] = options["colorMode"]
        elif kind == "table":
            if panel.get("transformations"):
                kwargs["transformations"] = panel["transformations"]
            if defaults.get("links"):
                kwargs["links"] = self.links(defaults["links"])
        return Call(name, (panel.get("title", ""), targets), tuple(kwargs.items()))

    def min_max(self, kwargs: dict[str, Any], defaults: dict[str, Any]) -> None:
        for key, name in (("min", "min_value"), ("max", "max_value")):
            if key in defaults:
                kwargs[name] = defaults[key]

    def stat_steps(self, kwargs: dict[str, Any], thresholds: Any, matched: str | None) -> None:
        from obs.author.panels import BLUE, single_color, up_down_steps

        steps = (thresholds or {}).get("steps") if isinstance(thresholds, dict) else None
        if matched:
            kwargs["thresholds"] = self.catalog_code(matched)
        elif steps == single_color(BLUE):
            pass
        elif steps == up_down_steps():
            kwargs["steps"] = call(self.imports.use("obs.author.panels", "up_down_steps"))
        elif steps is not None:
            kwargs["steps"] = steps

    def mappings(self, mappings: list[Any]) -> Any:
        from obs.author.panels import UP_DOWN_MAPPINGS

        if mappings == list(UP_DOWN_MAPPINGS):
            return Code(self.imports.use("obs.author.panels", "UP_DOWN_MAPPINGS"))
        return mappings

    def links(self, links: list[Any]) -> list[Any]:
        out = []
        for link in links:
            if isinstance(link, dict) and isinstance(link.get("url"), str):
                link = {**link, "url": self.url(link["url"])}
            out.append(link)
        return out

    def url(self, url: str) -> Any:
        """A link to a catalog dashboard as its ref's path."""
        found = re.match(r"^/d/([A-Za-z0-9_-]+)(.*)$", url)
        if found and found.group(1) in self.catalog.dashboards:
            code, _ = self.catalog.dashboards[found.group(1)]
            self.imports.use("catalog", "grafana")
            rest = found.group(2)
            return Code(f"{code}.path" + (f" + {render(rest)}" if rest else ""))
        return url

    def target(self, target: dict[str, Any], comments: list[str]) -> Expr | None:
        """obs.author.panels.target() for a Prometheus query through the datasource variable."""
        if "expr" not in target or not same_reference(target.get("datasource"), self.catalog.prometheus_variable):
            return None
        query = self.query(target["expr"], comments)
        legend = target.get("legendFormat", "")
        kwargs: dict[str, Any] = {}
        if target.get("instant"):
            kwargs["instant"] = True
        if target.get("exemplar"):
            kwargs["exemplar"] = True
        args: tuple[Any, ...] = (query,) if legend in ("", "__auto") else (query, legend)
        return Call(self.imports.use("obs.author.panels", "target"), args, tuple(kwargs.items()))

    def query(self, expr: str, comments: list[str]) -> Any:
        query: Query = query_code(expr, self.catalog, self.matchers)
        comments += [c for c in query.comments if c not in comments]
        self.use_catalog_modules(query.code)
        return query.code

    def use_catalog_modules(self, code: Any) -> None:
        text = render(code) if isinstance(code, Expr) else ""
        for prefix, module in (("m.", "metrics as m"), ("q.", "promql as q"), ("t.", "thresholds as t"),
                               ("grafana.", "grafana")):
            if re.search(rf"(?<![\w.]){re.escape(prefix)}", text):
                self.imports.use("catalog", module)

    def catalog_code(self, code: str) -> Code:
        self.use_catalog_modules(Code(code))
        return Code(code)

    def tempo_traces(self, panel: dict[str, Any]) -> Expr | None:
        [target] = panel.get("targets") or [{}]
        return call(self.imports.use("obs.author.traces", "tempo_traces"), panel.get("title", ""),
                    target.get("query", ""), description=panel.get("description", ""))

    # ------------------------------------------------------------------ pass-through

    def raw(self, panel: dict[str, Any], path: Path, comments: list[str]) -> tuple[Expr, str]:
        kind = panel.get("type")
        why = _why_raw(panel, path in self.choices.raw_panels, self.catalog.prometheus_variable,
                       self.choices.reasons.get(path, ""))
        if kind == "row" and self.choices.coordinates:
            why = "a row, kept at its place: the panels do not flow the way layout sections place them"
        name = self.imports.use("obs.author.passthrough", "raw_panel")
        json = {k: copy.deepcopy(v) for k, v in panel.items() if k not in LAYOUT_KEYS}
        json = _strip_defaults(kind, json)
        kwargs: dict[str, Any] = {}
        if panel.get("id") is not None:
            kwargs["panel_id"] = panel["id"]
        version = panel.get("pluginVersion")
        if kind != "row" and version != self.ctx.grafana_version or kind == "row" and version is not None:
            kwargs["plugin_version"] = version
        if path not in self.choices.full_raw:
            for keyword_name, json_path in PANEL_FIELDS:
                value = _take(json, json_path)
                if value is not _MISSING:
                    kwargs[keyword_name] = self.raw_value(keyword_name, value, panel, comments)
            json = _prune(json)
        if kind == "row" and self.choices.coordinates:
            children = [self.child_name(path, i) for i, _ in enumerate(panel.get("panels") or [])]
            if children:
                kwargs["panels"] = [Code(n) for n in children]
        if json:
            kwargs["extra"] = self.datasources_in(json)
        return Call(name, (kind, panel.get("title") if "title" in panel else None), tuple(kwargs.items())), why

    def child_name(self, path: Path, index: int) -> str:
        return self.panel_names[(*path, "panels", index)]

    def raw_value(self, name: str, value: Any, panel: dict[str, Any], comments: list[str]) -> Any:
        if name == "datasource":
            return self.datasource(value)
        if name == "targets" and isinstance(value, list):
            return [self.raw_target(t, comments) if isinstance(t, dict) else t for t in value]
        if name == "thresholds":
            context = " ".join([str(panel.get("title") or ""),
                                *(str(t.get("expr") or "") for t in panel.get("targets") or [] if isinstance(t, dict))])
            matched = match_thresholds(value, self.catalog, context)
            if matched.code:
                steps = call(self.imports.use("obs.author.panels", "steps_for"), self.catalog_code(matched.code))
                return {**value, "steps": steps}
            if matched.comment:
                comments.append(matched.comment)
        if name == "links" and isinstance(value, list):
            return self.links(value)
        return value

    def raw_target(self, target: dict[str, Any], comments: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in target.items():
            if key == "expr" and isinstance(value, str):
                out[key] = self.query(value, comments)
            elif key == "datasource":
                out[key] = self.datasource(value)
            else:
                out[key] = value
        return out

    def datasource(self, value: Any) -> Any:
        if value == self.catalog.prometheus_variable:
            self.imports.use("catalog", "grafana")
            return Code("grafana.PROMETHEUS_VARIABLE")
        if isinstance(value, dict) and set(value) == {"type", "uid"} and value["uid"] in self.catalog.datasources:
            from catalog import grafana  # the project's catalog, read at call time

            code = self.catalog.datasources[value["uid"]]
            ref = getattr(grafana, code.split(".", 1)[1])
            if ref.ref() == value:
                self.imports.use("catalog", "grafana")
                return Code(f"{code}.ref()")
        return value

    def datasources_in(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.datasource(v) if k == "datasource" else self.datasources_in(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.datasources_in(v) for v in value]
        return value

    # ------------------------------------------------------------------ variables

    def variables(self) -> list[Any]:
        out = []
        for index, variable in enumerate((self.d.get("templating") or {}).get("list") or []):
            built = None if index in self.choices.raw_variables else self.variable(variable)
            if built is None:
                name = self.imports.use("obs.author.passthrough", "raw_variable")
                built = call(name, self.datasources_in(variable))
                if index not in self.choices.raw_variables:
                    kind = str(variable.get("type"))
                    article = "an" if kind[:1] in "aeiou" else "a"
                    why = f"{article} {kind} variable the helpers of obs.author.variables do not write"
                else:
                    why = "settings the helpers of obs.author.variables do not write"
                    if self.choices.reasons.get(("variable", index)):
                        why += f": {self.choices.reasons[('variable', index)]}"
                self.pass_through.append(f"variable {variable.get('name')!r}: {why}")
            out.append(built)
        return out

    def variable(self, variable: dict[str, Any]) -> Expr | None:
        kind = variable.get("type")
        module = "obs.author.variables"
        if kind == "datasource" and variable.get("name") == "datasource":
            return call(self.imports.use(module, "datasource_variable"))
        if kind == "textbox":
            return call(self.imports.use(module, "textbox"), variable.get("name"),
                        label_text=variable.get("label", ""), default=variable.get("query", ""),
                        description=variable.get("description", ""))
        if kind == "query":
            query = variable.get("query")
            text = query.get("query") if isinstance(query, dict) else query
            found = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\s*\)\s*", str(text or ""))
            if not found or not same_reference(variable.get("datasource"), self.catalog.prometheus_variable):
                return None
            metric = self.variable_metric(found.group(1).strip())
            kwargs: dict[str, Any] = {"label_text": variable.get("label", "")}
            if not variable.get("includeAll"):
                kwargs["include_all"] = False
            if not variable.get("multi"):
                kwargs["multi"] = False
            return call(self.imports.use(module, "label_values"), variable.get("name"), found.group(2), metric,
                        **kwargs)
        return None

    def variable_metric(self, selector: str) -> Any:
        found = re.fullmatch(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?", selector)
        if not found or found.group(1) not in self.catalog.metrics:
            return selector
        self.imports.use("catalog", "metrics as m")
        code = Code(self.catalog.metrics[found.group(1)])
        return FString((code, found.group(2))) if found.group(2) else code

    # ------------------------------------------------------------------ the dashboard

    def dashboard_expr(self, panels: dict[Path, str], variables: list[Any]) -> Expr:
        frame = None if self.choices.no_frame else self.frame(panels, variables)
        expr = frame if frame is not None else self.grafanalib_dashboard(panels, variables)
        if self.choices.settings:
            settings = {key: self.datasources_in(value) for key, value in sorted(self.choices.settings.items())}
            expr = call(self.imports.use("obs.author.passthrough", "with_settings"), expr, settings)
            keys = ", ".join(sorted(self.choices.settings))
            self.pass_through.append(f"dashboard settings {keys}: kept as they were (with_settings)")
        return expr

    def frame(self, panels: dict[Path, str], variables: list[Any]) -> Expr | None:
        """platform_dashboard, when the dashboard has what the shared frame gives every dashboard."""
        d = self.d
        tags = list(d.get("tags") or [])
        if tags and tags[-1] == self.ctx.managed_tag:
            tags.pop()
        if (not tags or tags[0] != "platform" or d.get("timezone") != "browser" or d.get("refresh") != "30s"
                or d.get("graphTooltip") != 1 or d.get("time") != {"from": "now-6h", "to": "now"}):
            return None
        template = (d.get("templating") or {}).get("list") or []
        if not template or template[0].get("type") != "datasource" or template[0].get("name") != "datasource":
            return None
        ref = self.dashboard_ref(d.get("uid"), d.get("title"))
        links = []
        for link in d.get("links") or []:
            found = re.fullmatch(r"/d/([A-Za-z0-9_-]+)", str(link.get("url") or ""))
            if not found or link.get("type") != "link" or not link.get("keepTime"):
                return None
            links.append(self.dashboard_ref(found.group(1), link.get("title")))
        sections = self.sections(panels)
        if sections is None:
            return None
        if isinstance(variables[0], Call) and variables[0].func == "datasource_variable":
            self.imports.discard("obs.author.variables", "datasource_variable")  # the frame adds it
        name = self.imports.use("obs.author.dashboard", "platform_dashboard")
        return call(name, ref, description=d.get("description", ""), tags=tags[1:], links_to=links,
                    variables=variables[1:], sections=sections)

    def dashboard_ref(self, uid: Any, title: Any) -> Expr:
        if uid in self.catalog.dashboards:
            code, ref = self.catalog.dashboards[uid]
            if ref.title == title:
                self.imports.use("catalog", "grafana")
                return Code(code)
        return call(self.imports.use("catalog.grafana", "DashboardRef"), uid=uid, title=title)

    def grafanalib_dashboard(self, panels: dict[Path, str], variables: list[Any]) -> Expr:
        d = self.d
        self.imports.plain.add("grafanalib.core as G")
        tags = list(d.get("tags") or [])
        if tags and tags[-1] == self.ctx.managed_tag:
            tags.pop()
        kwargs: dict[str, Any] = {"title": d.get("title", ""), "uid": d.get("uid", "")}
        if d.get("description"):
            kwargs["description"] = d["description"]
        kwargs["tags"] = tags
        kwargs["timezone"] = d.get("timezone", "")
        kwargs["refresh"] = d.get("refresh", "")
        if d.get("graphTooltip"):
            kwargs["graphTooltip"] = d["graphTooltip"]
        if d.get("editable") is False:
            kwargs["editable"] = False
        time = d.get("time") or {}
        kwargs["time"] = call("G.Time", time.get("from", "now-6h"), time.get("to", "now"))
        kwargs["templating"] = call("G.Templating", variables)
        sections = None if self.choices.coordinates else self.sections(panels)
        if sections is not None:
            kwargs["panels"] = call(self.imports.use("obs.author.layout", "layout"), *sections)
        else:
            kwargs["panels"] = [Code(panels[("panels", i)]) for i, _ in enumerate(d.get("panels") or [])]
        return Call("G.Dashboard", (), tuple(kwargs.items()))

    def sections(self, panels: dict[Path, str]) -> list[Expr] | None:
        """The panels as sections of obs.author.layout, when laying those out gives every panel its place."""
        if self.choices.coordinates:
            return None
        out = []
        groups = _groups(self.d)
        if groups is None:
            return None
        for row, row_path, members in groups:
            for number, (height, run) in enumerate(_runs(members)):
                entries = [(Code(panels[path]), panel["gridPos"]["w"]) for panel, path in run]
                kwargs: dict[str, Any] = {}
                if height != 8:
                    kwargs["height"] = height
                title = None
                if row is not None and number == 0:
                    title = row.get("title", "")
                    if row.get("collapsed"):
                        kwargs["collapsed"] = True
                    if row_path in self.ids:
                        kwargs["row_id"] = row["id"]
                    extra = {k: v for k, v in row.items() if k not in ROW_KEYS}
                    if extra:
                        kwargs["row_extra"] = self.datasources_in(extra)
                out.append(call(self.imports.use("obs.author.layout", "section"), title, entries, **kwargs))
            if row is not None and not members:
                kwargs = {}
                if row.get("collapsed"):
                    kwargs["collapsed"] = True
                if row_path in self.ids:
                    kwargs["row_id"] = row["id"]
                extra = {k: v for k, v in row.items() if k not in ROW_KEYS}
                if extra:
                    kwargs["row_extra"] = self.datasources_in(extra)
                out.append(call(self.imports.use("obs.author.layout", "section"), row.get("title", ""), [],
                                **kwargs))
        return out


# ---------------------------------------------------------------------- layout


def _panels(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], Path]]:
    """Rows' children first (a coordinates-mode row refers to them by name), then each top-level panel."""
    for index, panel in enumerate(dashboard.get("panels") or []):
        for child_index, child in enumerate(panel.get("panels") or []):
            yield child, ("panels", index, "panels", child_index)
        yield panel, ("panels", index)


def _groups(dashboard: dict[str, Any]) -> list[tuple[dict[str, Any] | None, Path | None, list]] | None:
    """(row or None, its path, [(panel, path), ...]) in reading order; None when the panels are not in the
    order sections produce (a row's panels right after it, a collapsed row's inside it)."""
    groups: list[tuple[dict[str, Any] | None, Path | None, list]] = [(None, None, [])]
    for index, panel in enumerate(dashboard.get("panels") or []):
        path = ("panels", index)
        if panel.get("type") == "row":
            if panel.get("panels") and not panel.get("collapsed"):
                return None
            members = [(child, (*path, "panels", i)) for i, child in enumerate(panel.get("panels") or [])]
            groups.append((panel, path, members))
            if panel.get("collapsed"):
                groups.append((None, None, []))
        else:
            if groups[-1][0] is not None and groups[-1][0].get("collapsed"):
                return None
            groups[-1][2].append((panel, path))
    return [g for g in groups if g[0] is not None or g[2]]


def _runs(members: list[tuple[dict[str, Any], Path]]) -> list[tuple[int, list]]:
    """Consecutive panels of the same height: one section each."""
    runs: list[tuple[int, list]] = []
    for panel, path in members:
        height = (panel.get("gridPos") or {}).get("h", 8)
        if runs and runs[-1][0] == height:
            runs[-1][1].append((panel, path))
        else:
            runs.append((height, [(panel, path)]))
    return runs


def _explicit_ids(dashboard: dict[str, Any], forced: set[Path]) -> set[Path]:
    """The panels whose id the module must state: the compiler would derive another one. Simulates the
    compiler's numbering (obs.compile.dashboard_json.number_panels) until it gives every panel its id."""
    flat = [(panel, path) for panel, path in _reading_order(dashboard)]
    explicit = set(forced) | {path for panel, path in flat if panel.get("id") is None}
    while True:
        taken = {panel.get("id") for panel, path in flat if path in explicit}
        wrong = set()
        for panel, path in flat:
            if path in explicit:
                continue
            candidate = derived_panel_id(panel.get("type"), panel.get("title"))
            while candidate in taken:
                candidate = candidate % 9999 + 1
            taken.add(candidate)
            if candidate != panel.get("id"):
                wrong.add(path)
        if not wrong:
            return {path for path in explicit if _panel_at(dashboard, path).get("id") is not None}
        explicit |= wrong


def _reading_order(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], Path]]:
    for index, panel in enumerate(dashboard.get("panels") or []):
        yield panel, ("panels", index)
        for child_index, child in enumerate(panel.get("panels") or []):
            yield child, ("panels", index, "panels", child_index)


def _panel_at(dashboard: dict[str, Any], path: Path) -> dict[str, Any]:
    node: Any = dashboard
    for part in path:
        node = node[part]
    return node


# ---------------------------------------------------------------------- pass-through helpers

_MISSING = object()


def _take(json: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = json
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return _MISSING
        node = node[key]
    if not isinstance(node, dict) or path[-1] not in node:
        return _MISSING
    return node.pop(path[-1])


def _prune(json: dict[str, Any]) -> dict[str, Any]:
    """What raw_panel adds back by itself leaves `extra`: an empty fieldConfig.defaults and overrides."""
    config = json.get("fieldConfig")
    if isinstance(config, dict):
        if config.get("defaults") == {}:
            config.pop("defaults")
        if config.get("overrides") == []:
            config.pop("overrides")
        if not config:
            json.pop("fieldConfig")
    return json


def _strip_defaults(kind: Any, json: dict[str, Any]) -> dict[str, Any]:
    """The panel without the plugin defaults the compiler fills back in (fill_plugin_defaults)."""
    json = dict(json)
    if kind in PANEL_OPTION_DEFAULTS and isinstance(json.get("options"), dict):
        options = _without(json["options"], PANEL_OPTION_DEFAULTS[kind])
        if options:
            json["options"] = options
        else:
            json.pop("options")
    config = json.get("fieldConfig")
    if kind in FIELD_CUSTOM_DEFAULTS and isinstance(config, dict) and isinstance(config.get("defaults"), dict):
        defaults = dict(config["defaults"])
        custom = _without(defaults.get("custom") or {}, FIELD_CUSTOM_DEFAULTS[kind])
        if custom:
            defaults["custom"] = custom
        else:
            defaults.pop("custom", None)
        json["fieldConfig"] = {**config, "defaults": defaults}
    return json


def _without(value: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, item in value.items():
        if key in defaults and item == defaults[key]:
            continue
        if key in defaults and isinstance(item, dict) and isinstance(defaults[key], dict):
            rest = _without(item, defaults[key])
            if rest:
                out[key] = rest
            continue
        out[key] = item
    return out


def _why_raw(panel: dict[str, Any], builder_failed: bool, variable: dict[str, str], details: str = "") -> str:
    kind = panel.get("type")
    if kind == "row":
        return "a row with settings a layout section does not write"
    if kind not in ("timeseries", "stat", "table", "text"):
        return f"a {kind} panel, which no builder of obs.author.panels writes"  # obs.ingest.importer warns on it
    if kind == "text" and not builder_failed:
        return f"a text panel in {(panel.get('options') or {}).get('mode')!r} mode; text() writes markdown"
    if not builder_failed:
        return f"a {kind} panel {_query_problem(panel, variable)}"
    return f"a {kind} panel with settings the {kind}() builder does not write" + (f": {details}" if details else "")


def _query_problem(panel: dict[str, Any], variable: dict[str, str]) -> str:
    """Why target() cannot write a panel's queries (generate.target takes Prometheus queries through the
    variable only)."""
    for target in panel.get("targets") or []:
        source = target.get("datasource") if isinstance(target, dict) else None
        if not isinstance(target, dict) or "expr" not in target:
            return "with a query that is not a Prometheus expression"
        if not same_reference(source, variable):
            uid = source.get("uid") if isinstance(source, dict) else source
            return f"whose queries use the datasource {uid!r}, not the ${{datasource}} variable"
    return "whose queries do not go through the ${datasource} variable"


def _is_tempo_table(panel: dict[str, Any]) -> bool:
    targets = panel.get("targets") or []
    return (len(targets) == 1 and isinstance(targets[0], dict) and targets[0].get("queryType") == "traceql"
            and (panel.get("datasource") or {}).get("type") == "tempo")


def _describe(panel: dict[str, Any]) -> str:
    if panel.get("type") == "row":
        return f"row {panel.get('title')!r} (id {panel.get('id')})"
    return f"panel {panel.get('title')!r} (id {panel.get('id')})"


def _docstring_text(text: str) -> str:
    lines = []
    for line in text.replace('"""', "'''").replace("\\", "\\\\").splitlines():
        lines += _wrap(line, 116)
    return "\n".join(lines).rstrip() + "\n"


def _wrap(line: str, width: int) -> list[str]:
    if len(line) <= width:
        return [line]
    indent = "  " if line.startswith("- ") else ""
    out, current = [], ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > width:
            out.append(current)
            current = indent + word
        else:
            current = f"{current} {word}" if current else word
    out.append(current)
    return out


def comment_lines_for(findings: list[str], label: str) -> list[str]:
    return [line for finding in findings for line in comment_lines(f"{label}: {finding}")]

