"""The frame every dashboard of the platform shares: house time range, refresh, shared crosshair, the
datasource variable, links to its sibling dashboards. A dashboard module gives only what is its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import grafanalib.core as G

from obs.author.layout import Section, layout
from obs.author.variables import datasource_variable

if TYPE_CHECKING:
    from catalog.grafana import DashboardRef


def platform_dashboard(
    ref: DashboardRef,
    *,
    description: str,
    tags: Sequence[str],
    links_to: Sequence[DashboardRef],
    variables: Sequence[G.Template],
    sections: Sequence[Section],
) -> G.Dashboard:
    return G.Dashboard(
        title=ref.title,
        uid=ref.uid,
        description=description,
        tags=["platform", *tags],
        timezone="browser",
        refresh="30s",
        graphTooltip=1,  # shared crosshair: the same moment on every panel
        time=G.Time("now-6h", "now"),
        links=[G.DashboardLink(title=other.title, uri=other.path, type="link", keepTime=True) for other in links_to],
        templating=G.Templating([datasource_variable(), *variables]),
        panels=layout(*sections),
    )
