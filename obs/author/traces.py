"""Panels that query Tempo with TraceQL: the way from a slow or failed evaluation to its trace."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import grafanalib.core as G

TRACE_LIMIT = 20
EXPLORE_URL = "/explore"
# A Grafana variable in a data link, `${name}` or `${name.path:format}` (template_srv's variable syntax)
VARIABLE = re.compile(r"\$\{([^}:]+)(:[^}]*)?\}")
URL_SAFE_VARIABLES = {"__from", "__to"}  # epoch milliseconds


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

    # The URL form Grafana 10.2+ writes and reads itself (schemaVersion=1, a map of pane id to pane state), not
    # the older `left=`, which Grafana reads only through its URL migration
    # (public/app/features/explore/hooks/useStateSync/migrators/v1.ts)
    pane = {"datasource": TEMPO.uid,
            "queries": [{"refId": "A", "datasource": TEMPO.ref(), "queryType": "traceql", "query": traceql}],
            "range": {"from": "${__from}", "to": "${__to}"}}
    panes = json.dumps({"traces": pane}, separators=(",", ":"))
    return {"title": title, "url": f"{EXPLORE_URL}?schemaVersion=1&panes={url_encoded(panes)}", "targetBlank": True}


def url_encoded(text: str) -> str:
    """`text` percent-encoded for a URL's query, its Grafana variables left for the data link to fill: a TraceQL
    `&&` or `=` written as is would end the parameter. A variable with no format gets `percentencode` (but the
    time range's, which are numbers), so that the value clicked is encoded too."""
    parts, last = [], 0
    for match in VARIABLE.finditer(text):
        parts.append(quote(text[last:match.start()], safe=""))
        safe = match.group(2) or match.group(1) in URL_SAFE_VARIABLES
        parts.append(match.group() if safe else f"${{{match.group(1)}:percentencode}}")
        last = match.end()
    parts.append(quote(text[last:], safe=""))
    return "".join(parts)
