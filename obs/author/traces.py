"""Panels that query Tempo with TraceQL: the way from a slow or failed evaluation to its trace."""

from __future__ import annotations

import json

import grafanalib.core as G

TRACE_LIMIT = 20


def traceql_target(query: str, *, limit: int = TRACE_LIMIT) -> dict:
    from catalog.grafana import TEMPO

    return {
        "datasource": TEMPO.ref(),
        "queryType": "traceql",
        "query": query,
        "limit": limit,
        "tableType": "traces",
        "refId": "A",
    }


def tempo_traces(title: str, traceql: str, *, description: str) -> G.Table:
    """A table of the latest traces matching `traceql`; each trace id opens the trace view."""
    from catalog.grafana import TEMPO

    panel = G.Table(
        title=title,
        dataSource=TEMPO.ref(),
        targets=[traceql_target(traceql)],
        extraJson={
            "description": description,
            "fieldConfig": {"defaults": {"unit": "none", "thresholds": {
                "mode": "absolute", "steps": [{"color": "green", "value": None}]}}},
        },
    )
    return panel


def explore_link(title: str, traceql: str) -> dict:
    """A data link opening Grafana's Explore on Tempo with `traceql`, over the panel's time range. The query may hold
    data-link variables (`${__field.labels.error_type}`): Grafana fills them from the value clicked."""
    from catalog.grafana import TEMPO

    state = {"datasource": TEMPO.uid, "queries": [{"refId": "A", "queryType": "traceql", "query": traceql}],
             "range": {"from": "${__from}", "to": "${__to}"}}
    return {"title": title, "url": "/explore?left=" + json.dumps(state, separators=(",", ":")), "targetBlank": True}
