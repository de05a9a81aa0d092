"""Explicit pass-through: Grafana JSON that the builders cannot express, kept exactly as it was.

`obs import` writes these for what it brings in from a Grafana that did not follow the project's conventions
(a panel type with no builder, a legend or a query written another way, a setting the frame does not manage).
Each one reads as what it is: "Grafana had this, and it is kept as it is"; replacing it with a builder is a
normal code change whose effect `obs diff` shows.

    raw_panel("piechart", "CPU by mode", panel_id=7, unit="percent", targets=[...], options={...})
    raw_variable({"type": "interval", "name": "interval", ...})
    with_settings(dashboard, {"weekStart": "monday"})

The compiler (obs.compile.dashboard_json) emits a pass-through panel or variable verbatim, filling in only
what Grafana itself fills in when the panel's plugin loads (its option defaults), and lays a dashboard's
settings over the compiled document last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attr
import grafanalib.core as G

# Keys the compiler reads and removes; they never reach a compiled file.
RAW_KEY = "__obs_raw__"
SETTINGS_KEY = "__obs_settings__"

# raw_panel's keyword -> where it goes in Grafana's panel JSON. obs import reads panels through the same table,
# so what it extracts into a keyword is exactly what raw_panel puts back.
PANEL_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("description", ("description",)),
    ("datasource", ("datasource",)),
    ("targets", ("targets",)),
    ("unit", ("fieldConfig", "defaults", "unit")),
    ("min_value", ("fieldConfig", "defaults", "min")),
    ("max_value", ("fieldConfig", "defaults", "max")),
    ("decimals", ("fieldConfig", "defaults", "decimals")),
    ("thresholds", ("fieldConfig", "defaults", "thresholds")),
    ("mappings", ("fieldConfig", "defaults", "mappings")),
    ("color", ("fieldConfig", "defaults", "color")),
    ("custom", ("fieldConfig", "defaults", "custom")),
    ("overrides", ("fieldConfig", "overrides")),
    ("options", ("options",)),
    ("transformations", ("transformations",)),
    ("links", ("links",)),
)
PINNED = "pinned"  # raw_panel(plugin_version=PINNED): the Grafana version catalog/versions.py pins


@attr.s
class RawPanel(G.Panel):
    """A panel given as Grafana JSON. `id` and `gridPos` come from the layout like any panel's; `panels` holds
    the panels of a row (builders or pass-through)."""

    json = attr.ib(factory=dict, validator=attr.validators.instance_of(dict))
    panels = attr.ib(factory=list, validator=attr.validators.instance_of(list))

    def to_json_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {RAW_KEY: True, **self.json, "id": self.id, "gridPos": self.gridPos}
        if self.title is not None:
            out["title"] = self.title
        if self.json.get("type") == "row" or self.panels:
            out["panels"] = list(self.panels)
        return out


def raw_panel(
    kind: str,
    title: str | None,
    *,
    panel_id: int | None = None,
    plugin_version: str | None = PINNED,
    panels: Sequence[G.Panel] = (),
    extra: Mapping[str, Any] | None = None,
    **fields: Any,
) -> RawPanel:
    """A Grafana panel of type `kind` kept as it was. `fields` are PANEL_FIELDS keywords (None: absent);
    `extra` holds every other key, nested as in Grafana's JSON, laid over them. A `title` of None: the panel
    has none. `panel_id` keeps the id the panel
    had in Grafana, so its `viewPanel=` links still work."""
    unknown = set(fields) - {name for name, _ in PANEL_FIELDS}
    if unknown:
        raise TypeError(f"raw_panel() got unknown field(s) {', '.join(sorted(unknown))}; put them in extra=")
    json: dict[str, Any] = {"type": kind}
    for name, path in PANEL_FIELDS:
        value = fields.get(name)
        if value is not None:
            _put(json, path, value)
    if "fieldConfig" in json:
        # Grafana's panel model always has both halves of fieldConfig.
        json["fieldConfig"].setdefault("defaults", {})
        json["fieldConfig"].setdefault("overrides", [])
    if plugin_version == PINNED:
        plugin_version = None if kind == "row" else _pinned_grafana_version()
    if plugin_version is not None:
        json["pluginVersion"] = plugin_version
    json = _merge(json, dict(extra or {}))
    return RawPanel(title=title, id=panel_id, json=json, panels=list(panels))


def raw_variable(json: Mapping[str, Any]) -> dict[str, Any]:
    """A template variable given as Grafana JSON, kept as it was."""
    return {RAW_KEY: True, **json}


@attr.s
class Dashboard(G.Dashboard):
    """A grafanalib Dashboard plus dashboard settings kept as Grafana had them (see with_settings)."""

    settings = attr.ib(factory=dict, validator=attr.validators.instance_of(dict))

    def to_json_data(self) -> dict[str, Any]:
        return {**super().to_json_data(), SETTINGS_KEY: self.settings}


def with_settings(dashboard: G.Dashboard, settings: Mapping[str, Any]) -> Dashboard:
    """`dashboard`, with top-level Grafana settings (keys of the dashboard JSON) that grafanalib or the shared
    frame do not manage, laid over the compiled document as given."""
    fields = {a.name: getattr(dashboard, a.name) for a in attr.fields(G.Dashboard)}
    return Dashboard(**fields, settings={**getattr(dashboard, "settings", {}), **settings})


def with_id(panel: G.Panel, panel_id: int) -> G.Panel:
    """`panel` keeping the id it had in Grafana (ids are otherwise derived from type and title)."""
    return attr.evolve(panel, id=panel_id)


def _pinned_grafana_version() -> str:
    from catalog.versions import GRAFANA_VERSION

    return GRAFANA_VERSION


def _put(json: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = json
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
