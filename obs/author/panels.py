"""Panel builders on top of grafanalib with the project's conventions built in.

Every builder takes `description` and `unit` as required keywords: a panel without them does not
construct. Prometheus panels query through the `${datasource}` variable. Thresholds come from the
catalog's `Threshold` objects, never from literals in a dashboard module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attr
import grafanalib.core as G

if TYPE_CHECKING:  # the catalog is read at call time (obs.core.content)
    from catalog.thresholds import Threshold

GREEN, AMBER, RED, BLUE = "green", "orange", "red", "blue"


@attr.s
class PrometheusTarget(G.Target):
    """grafanalib's Target plus `exemplar`, which asks Prometheus for trace ids next to the samples."""

    exemplar = attr.ib(default=False, validator=attr.validators.instance_of(bool))

    def to_json_data(self) -> dict:
        return {**super().to_json_data(), "exemplar": self.exemplar}


def prometheus_variable() -> dict[str, str]:
    from catalog.grafana import PROMETHEUS_VARIABLE

    return dict(PROMETHEUS_VARIABLE)


def target(expr: str, legend: str = "", *, instant: bool = False, exemplar: bool = False) -> G.Target:
    return PrometheusTarget(
        expr=expr, legendFormat=legend, instant=instant, datasource=prometheus_variable(), exemplar=exemplar
    )


def steps_for(threshold: Threshold) -> list[dict]:
    """Red at the alerting threshold, amber at the early-warning level, green otherwise."""
    if threshold.bad_when == "above":
        return [_step(GREEN, None), _step(AMBER, threshold.warn), _step(RED, threshold.value)]
    return [_step(RED, None), _step(AMBER, threshold.value), _step(GREEN, threshold.warn)]


def single_color(color: str = GREEN) -> list[dict]:
    return [_step(color, None)]


def up_down_steps() -> list[dict]:
    return [_step(RED, None), _step(GREEN, 1)]


def _step(color: str, value: float | None) -> dict:
    return {"color": color, "value": value}


def _extra(
    description: str,
    unit: str,
    steps: Sequence[dict] | None,
    *,
    links: Sequence[dict] = (),
    min_value: float | None = None,
    max_value: float | None = None,
    decimals: int | None = None,
    mappings: Sequence[dict] = (),
    options: dict | None = None,
    custom: dict | None = None,
) -> dict:
    defaults: dict = {"unit": unit}
    if steps is not None:
        defaults["thresholds"] = {"mode": "absolute", "steps": list(steps)}
    for key, value in (("min", min_value), ("max", max_value), ("decimals", decimals)):
        if value is not None:
            defaults[key] = value
    if mappings:
        defaults["mappings"] = list(mappings)
    if custom:
        defaults["custom"] = custom
    if links:
        # Data links on the values (each series, each cell), not the panel's own header links
        defaults["links"] = list(links)
    extra: dict = {"description": description, "fieldConfig": {"defaults": defaults}}
    if options:
        extra["options"] = options
    return extra


def timeseries(
    title: str,
    targets: Sequence[G.Target],
    *,
    description: str,
    unit: str,
    thresholds: Threshold | None = None,
    stacked: bool = False,
    min_value: float | None = None,
    max_value: float | None = None,
    legend_calcs: Sequence[str] = ("mean", "max", "lastNotNull"),
    links: Sequence[dict] = (),
    draw_style: str = "line",
) -> G.TimeSeries:
    custom: dict = {"fillOpacity": 20 if stacked else 10}
    if stacked:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    if thresholds is not None:
        # Draw the alerting threshold on the graph so a reader sees how close the line is.
        custom["thresholdsStyle"] = {"mode": "line+area"}
    return G.TimeSeries(
        title=title,
        dataSource=prometheus_variable(),
        targets=list(targets),
        drawStyle=draw_style,
        legendDisplayMode="table",
        legendCalcs=list(legend_calcs),
        tooltipMode="multi",
        tooltipSort="desc",
        extraJson=_extra(
            description,
            unit,
            steps_for(thresholds) if thresholds else single_color(),
            links=links,
            min_value=min_value,
            max_value=max_value,
            custom=custom,
        ),
    )


def stat(
    title: str,
    targets: Sequence[G.Target],
    *,
    description: str,
    unit: str,
    thresholds: Threshold | None = None,
    steps: Sequence[dict] | None = None,
    mappings: Sequence[dict] = (),
    reduce: str = "lastNotNull",
    graph: bool = True,
    decimals: int | None = None,
    links: Sequence[dict] = (),
    color_mode: str = "value",
) -> G.Stat:
    if thresholds is not None:
        steps = steps_for(thresholds)
    return G.Stat(
        title=title,
        dataSource=prometheus_variable(),
        targets=list(targets),
        reduceCalc=reduce,
        graphMode="area" if graph else "none",
        colorMode=color_mode,
        extraJson=_extra(
            description,
            unit,
            steps if steps is not None else single_color(BLUE),
            mappings=mappings,
            decimals=decimals,
            links=links,
        ),
    )


def table(
    title: str,
    targets: Sequence[G.Target],
    *,
    description: str,
    unit: str,
    transformations: Sequence[dict] = (),
    links: Sequence[dict] = (),
) -> G.Table:
    panel = G.Table(
        title=title,
        dataSource=prometheus_variable(),
        targets=list(targets),
        extraJson=_extra(description, unit, single_color(), links=links),
    )
    panel.transformations = list(transformations)
    return panel


def text(title: str, content: str, *, description: str) -> G.Text:
    return G.Text(title=title, content=content, mode="markdown", extraJson={"description": description})


def value_map(value: str, text: str, color: str) -> dict:
    """A Grafana value mapping: show `text` in `color` when the value is `value`."""
    return {"type": "value", "options": {value: {"text": text, "color": color, "index": 0}}}


UP_DOWN_MAPPINGS = (
    {
        "type": "value",
        "options": {
            "0": {"text": "DOWN", "color": RED, "index": 0},
            "1": {"text": "UP", "color": GREEN, "index": 1},
        },
    },
    {"type": "special", "options": {"match": "null", "result": {"text": "NOT SCRAPED", "color": RED, "index": 2}}},
)
