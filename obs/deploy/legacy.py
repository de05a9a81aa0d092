"""Dashboards and folders through Grafana's legacy HTTP API (/api/dashboards, /api/folders, /api/search): for
Grafanas without dashboard.grafana.app/v1 (11.x, 12.x), or when `--api legacy` is asked for.

The legacy API has no bulk read (one GET per dashboard), no delete precondition (obs reads the dashboard again
just before deleting it) and no dry run. A save carries the version it was compared with and overwrite: false,
so a save in between is refused: 412 version-mismatch up to 12.x, 409 "Dashboard already exists" on 13.x
(pkg/api/dashboard.go saveDashboardViaK8s).
"""

from __future__ import annotations

from typing import Any

from obs.deploy.client import Grafana, GrafanaError
from obs.deploy.live import LiveDashboard, LiveFolder, Manager, Revision

SEARCH_PAGE = 5000  # Grafana's maximum page size for /api/search


class LegacyStore:
    api = "legacy"

    def __init__(self, grafana: Grafana) -> None:
        self.grafana = grafana

    def describe(self) -> str:
        return "the legacy /api (/api/dashboards, /api/folders)"

    # ------------------------------------------------------------------ dashboards

    def get_dashboard(self, uid: str) -> LiveDashboard | None:
        path = f"/api/dashboards/uid/{uid}"
        answer = self.grafana.get_or_none(path)
        if answer is None:
            return None
        dash = answer.get("dashboard") if isinstance(answer, dict) else None
        meta = answer.get("meta") if isinstance(answer, dict) else None
        if not isinstance(dash, dict) or not isinstance(meta, dict):
            raise GrafanaError("not_json", f"GET {path} answered JSON that is not a dashboard", method="GET",
                               path=path, response=answer)
        version = meta.get("version") if meta.get("version") is not None else dash.get("version")
        provisioned = bool(meta.get("provisioned"))
        return LiveDashboard(
            uid=uid, title=str(dash.get("title") or ""), spec=dash, folder_uid=str(meta.get("folderUid") or ""),
            version=version if isinstance(version, int) else None, raw=answer,
            # /api always answers the classic JSON (13.x converts a v2 dashboard for it): compared as it is read
            folder_title=str(meta.get("folderTitle") or ""), provisioned=provisioned,
            manager=Manager("classic-file-provisioning", "file", False) if provisioned else None)

    def search_folder(self, folder_uid: str, tag: str) -> list[tuple[str, str]]:
        """(uid, title) of the dashboards /api/search finds in the folder with the tag. Raises GrafanaError when
        the answer is not a list: nothing can be pruned from an unreadable listing."""
        hits: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self.grafana.request("GET", "/api/search", params={
                "type": "dash-db", "folderUIDs": folder_uid, "tag": tag, "limit": SEARCH_PAGE, "page": page})
            if not isinstance(batch, list):
                raise GrafanaError("not_json", "GET /api/search did not answer a list of dashboards: the obs "
                                   "folder's content cannot be listed, nothing is pruned", method="GET",
                                   path="/api/search", response=batch)
            hits += [h for h in batch if isinstance(h, dict)]
            if len(batch) < SEARCH_PAGE:
                break
            page += 1
        return [(str(h.get("uid") or ""), str(h.get("title") or "")) for h in hits
                if h.get("uid") and h.get("type", "dash-db") == "dash-db"]

    def revision(self, live: LiveDashboard) -> Revision | None:
        """The history entry of the live version (GET .../versions/:version keeps the message as saved; the list
        rewrites the first one to "Initial save"). None when it cannot be read."""
        try:
            saved = self.grafana.request("GET", f"/api/dashboards/uid/{live.uid}/versions/{live.version}")
        except GrafanaError as error:
            if error.fatal:
                raise
            return None
        if not isinstance(saved, dict):
            return None
        meta = live.raw.get("meta") if isinstance(live.raw, dict) else {}
        return Revision(version=live.version, who=str(saved.get("createdBy") or (meta or {}).get("updatedBy") or "?"),
                        when=str(saved.get("created") or (meta or {}).get("updated") or "?"),
                        message=str(saved.get("message") or ""))

    def save_dashboard(self, doc: dict[str, Any], live: LiveDashboard | None, folder_uid: str,
                       message: str) -> int | None:
        body_doc = {k: v for k, v in doc.items() if k not in ("id", "version")}
        if live is not None:
            body_doc["version"] = live.version  # optimistic: refused if someone saved since it was read
        body = {"dashboard": body_doc, "folderUid": folder_uid, "overwrite": False, "message": message}
        answer = self.grafana.request("POST", "/api/dashboards/db", json=body)
        if not isinstance(answer, dict) or answer.get("uid") != doc.get("uid") or "version" not in answer:
            raise GrafanaError("not_json", "POST /api/dashboards/db answered JSON that does not say it saved "
                               f"{doc.get('uid')}", method="POST", path="/api/dashboards/db", response=answer)
        version = answer.get("version")
        return version if isinstance(version, int) else None

    def delete_dashboard(self, uid: str) -> None:
        try:
            answer = self.grafana.request("DELETE", f"/api/dashboards/uid/{uid}")
        except GrafanaError as error:
            if error.kind != "not_found":
                raise
            return
        if answer is not None and not isinstance(answer, dict):
            raise GrafanaError("not_json", f"DELETE /api/dashboards/uid/{uid} answered JSON that does not say it "
                               "deleted it", method="DELETE", path=f"/api/dashboards/uid/{uid}", response=answer)

    # ------------------------------------------------------------------ folders

    def get_folder(self, uid: str) -> LiveFolder | None:
        answer = self.grafana.get_or_none(f"/api/folders/{uid}")
        if answer is None:
            return None
        if not isinstance(answer, dict) or answer.get("uid") != uid:
            raise GrafanaError("not_json", f"GET /api/folders/{uid} answered JSON that is not the folder",
                               method="GET", path=f"/api/folders/{uid}", response=answer)
        version = answer.get("version")
        return LiveFolder(uid=uid, title=str(answer.get("title") or ""),
                          version=version if isinstance(version, int) else None, raw=answer)

    def create_folder(self, uid: str, title: str) -> None:
        answer = self.grafana.request("POST", "/api/folders", json={"uid": uid, "title": title})
        if not isinstance(answer, dict) or answer.get("uid") != uid:
            raise GrafanaError("not_json", "POST /api/folders answered JSON that does not say it created the folder",
                               method="POST", path="/api/folders", response=answer)

    def update_folder(self, uid: str, title: str, live: LiveFolder) -> None:
        answer = self.grafana.request("PUT", f"/api/folders/{uid}", json={"title": title, "version": live.version})
        if not isinstance(answer, dict) or answer.get("uid") != uid:
            raise GrafanaError("not_json", f"PUT /api/folders/{uid} answered JSON that does not say it saved the "
                               "folder", method="PUT", path=f"/api/folders/{uid}", response=answer)
