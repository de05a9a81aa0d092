"""Template variables with the project's conventions: Prometheus variables query through `${datasource}`."""

from __future__ import annotations

import attr
import grafanalib.core as G

from obs.author.panels import prometheus_variable


@attr.s
class Variable(G.Template):
    """grafanalib's Template plus `description`, shown as the variable's tooltip."""

    description = attr.ib(default="", validator=attr.validators.instance_of(str))

    def to_json_data(self) -> dict:
        return {**super().to_json_data(), "description": self.description}


def datasource_variable() -> G.Template:
    """Choose the Prometheus to query; defaults to the provisioned one."""
    from catalog.grafana import PROMETHEUS

    return Variable(
        name="datasource",
        label="Data source",
        query="prometheus",
        type="datasource",
        default=PROMETHEUS.uid,
        description="The Prometheus every panel queries.",
    )


def label_values(
    name: str, label: str, metric: object, *, label_text: str, include_all: bool = True, multi: bool = True
) -> G.Template:
    """A variable listing the values of `label` on `metric`; "All" matches every value (regex `.*`)."""
    query = f"label_values({metric}, {label})"
    return Variable(
        name=name,
        label=label_text,
        description=f"Values of `{label}` on `{metric}`.",
        query=query,
        dataSource=prometheus_variable(),
        includeAll=include_all,
        multi=multi,
        allValue=".*",
        refresh=2,  # on time-range change: a container started an hour ago appears without a reload
        sort=1,
        default="$__all" if include_all else None,
    )


def textbox(name: str, *, label_text: str, default: str, description: str) -> G.Template:
    """A free-form value the user can change on the dashboard (a price, a threshold)."""
    return Variable(
        name=name, label=label_text, query=default, type="textbox", default=default, description=description
    )
