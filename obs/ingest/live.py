"""Reading dashboards from a running Grafana, through the deploy client (obs.deploy.client: retries, errors as
one line, secrets redacted; obs.deploy.connect: which API it serves).

Where Grafana serves dashboard.grafana.app/v1 (Grafana 13), a dashboard is read as the resource Grafana stores: a
v1 (classic) one at v1, one saved from the 13.x UI at v2, so that obs.ingest.read converts it without the losses
of Grafana's own v2 -> v1 conversion; a folder's dashboards come from the paged list. Elsewhere (or with
`--api legacy`) through Grafana's dashboard API (`GET /api/dashboards/uid/:uid`, answering `{dashboard, meta}`)
and /api/search. obs.ingest.read takes either answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from obs.core.errors import Problem
from obs.deploy.apis import ApisStore
from obs.deploy.client import Grafana, GrafanaError
from obs.deploy.connect import Server, connect
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


class Reader:
    """Dashboards and folders of one Grafana, through the API it serves."""

    def __init__(self, grafana: Grafana, server: Server) -> None:
        self.grafana = grafana
        self.store = ApisStore(grafana, server.namespace) if server.api == "apis" else None
        self._listed: list[Any] | None = None

    def dashboard_path(self, uid: str) -> str:
        return self.store.dashboard_path(uid) if self.store else f"/api/dashboards/uid/{uid}"

    def folder_path(self, folder: str) -> str:
        return self.store.folder_path(folder) if self.store else f"/api/folders/{folder}"

    def fetch_dashboard(self, uid: str) -> Any:
        """The dashboard `uid` as Grafana answers for it (on /apis at the version it is stored in), or None
        when it has none."""
        if self.store is None:
            return self.grafana.get_or_none(self.dashboard_path(uid))
        live = self.store.get_dashboard(uid)
        if live is None:
            return None
        if live.stored_version and live.stored_version != live.read_version:  # v0alpha1 or v2: as stored
            stored = self.store.get_dashboard(uid, live.stored_version if live.stored_version in (
                "v0alpha1", "v1beta1", "v2") else "v2")
            return stored.raw if stored is not None else live.raw
        return live.raw

    def folder_dashboards(self, folder: str) -> list[str] | None:
        """The uids of the dashboards in folder `folder`, or None when there is no such folder."""
        if self.store is not None:
            if self.store.get_folder(folder) is None:
                return None
            if self._listed is None:
                self._listed, _ = self.store.list_dashboards()
            return [d.uid for d in self._listed if d.folder_uid == folder]
        if self.grafana.get_or_none(self.folder_path(folder)) is None:
            return None
        uids: list[str] = []
        page = 1
        while True:
            hits = self.grafana.request("GET", "/api/search", params={"type": "dash-db", "folderUIDs": folder,
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
        answer = grafana.request("GET", "/api/datasources")
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
        server = connect(grafana, target.api)
        out.version = server.version
        reader = Reader(grafana, server)
        wanted = list(dict.fromkeys(uids))
        for folder in dict.fromkeys(folders):
            found = reader.folder_dashboards(folder)
            if found is None:
                out.problems.append(Problem(f"Grafana at {target.url}", f"folder {folder!r}", "",
                                            f"no such folder (GET {reader.folder_path(folder)} answered 404)"))
                continue
            if not found:
                out.problems.append(Problem(f"Grafana at {target.url}", f"folder {folder!r}", "",
                                            "has no dashboards to import"))
            wanted += [uid for uid in found if uid not in wanted]
        for uid in wanted:
            origin = f"{target.url} uid {uid}"
            answer = reader.fetch_dashboard(uid)
            if answer is None:
                out.problems.append(Problem(f"Grafana at {target.url}", f"dashboard {uid!r}", "",
                                            f"no such dashboard (GET {reader.dashboard_path(uid)} answered 404)"))
                continue
            try:
                out.incoming.append(read_document(origin, answer))
            except ReadError as error:
                out.problems.append(error.problem)
        out.datasources = instance_datasources(grafana)
    return out
