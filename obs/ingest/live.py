"""Reading dashboards from a running Grafana, through the deploy client (obs.deploy.client: retries, errors as
one line, secrets redacted).

`fetch_dashboard` is the one place that reads a dashboard: today Grafana's dashboard API
(`GET /api/dashboards/uid/:uid`, answering `{dashboard, meta}`); when the deploy client reads Grafana 13's
`/apis/dashboard.grafana.app` resources, this function switches to it and obs.ingest.read already takes
either answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from obs.core.errors import Problem
from obs.deploy.client import Grafana, GrafanaError
from obs.deploy.target import Target
from obs.ingest.datasources import DatasourceInfo
from obs.ingest.read import Incoming, ReadError, read_document

SEARCH_PAGE = 5000  # Grafana's largest /api/search page


@dataclass
class LiveRead:
    incoming: list[Incoming] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    datasources: list[DatasourceInfo] | None = None  # None: Grafana did not list them (permissions)
    version: str = ""


def fetch_dashboard(grafana: Grafana, uid: str) -> Any:
    """The dashboard `uid` as Grafana answers for it, or None when it has none."""
    return grafana.get_or_none(f"/dashboards/uid/{uid}")


def folder_dashboards(grafana: Grafana, folder: str) -> list[str] | None:
    """The uids of the dashboards in folder `folder`, or None when there is no such folder."""
    if grafana.get_or_none(f"/folders/{folder}") is None:
        return None
    uids: list[str] = []
    page = 1
    while True:
        hits = grafana.request("GET", "/search", params={"type": "dash-db", "folderUIDs": folder,
                                                         "limit": SEARCH_PAGE, "page": page})
        hits = hits if isinstance(hits, list) else []
        uids += [str(hit["uid"]) for hit in hits if isinstance(hit, dict) and hit.get("uid")]
        if len(hits) < SEARCH_PAGE:
            return uids
        page += 1


def instance_datasources(grafana: Grafana) -> list[DatasourceInfo] | None:
    """Grafana's datasources (what an old dashboard's datasource names resolve against); None when the
    credentials may not list them."""
    try:
        answer = grafana.request("GET", "/datasources")
    except GrafanaError as error:
        if error.kind in ("forbidden", "not_found"):
            return None
        raise
    return [DatasourceInfo(str(d.get("name") or ""), str(d.get("uid") or ""), str(d.get("type") or ""),
                           bool(d.get("isDefault"))) for d in answer if isinstance(d, dict)]


def read_live(target: Target, uids: Sequence[str], folders: Sequence[str]) -> LiveRead:
    """Every dashboard named by uid or by folder. Raises GrafanaError when Grafana cannot be used at all."""
    out = LiveRead()
    with Grafana(target) as grafana:
        out.version = str(grafana.check().get("version") or "")
        wanted = list(dict.fromkeys(uids))
        for folder in dict.fromkeys(folders):
            found = folder_dashboards(grafana, folder)
            if found is None:
                out.problems.append(Problem(f"Grafana at {target.url}", f"folder {folder!r}", "",
                                            "no such folder (GET /api/folders/" + folder + " answered 404)"))
                continue
            if not found:
                out.problems.append(Problem(f"Grafana at {target.url}", f"folder {folder!r}", "",
                                            "has no dashboards to import"))
            wanted += [uid for uid in found if uid not in wanted]
        for uid in wanted:
            origin = f"{target.url} uid {uid}"
            answer = fetch_dashboard(grafana, uid)
            if answer is None:
                out.problems.append(Problem(f"Grafana at {target.url}", f"dashboard {uid!r}", "",
                                            f"no such dashboard (GET /api/dashboards/uid/{uid} answered 404)"))
                continue
            try:
                out.incoming.append(read_document(origin, answer))
            except ReadError as error:
                out.problems.append(error.problem)
        out.datasources = instance_datasources(grafana)
    return out
