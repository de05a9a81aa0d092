"""/api/dashboards: save, read, delete, and the version history."""

from __future__ import annotations

import copy
from typing import Any

from .auth import _forbidden, _Identity
from .common import MAX_UID_LEN, UID_RE, as_int, short_uid, utc_now
from .replies import _error, _ok, _Reply, _status_body
from .slugify import slugify


class DashboardsMixin:
    def _dash_url(self, uid: str, slug: str) -> str:
        # src: pkg/services/dashboards/models.go GetDashboardURL: AppSubUrl + "/d/<uid>/<slug>"
        return f"{self.sub_path}/d/{uid}/{slug}"


    def _insert_dashboard(self, data: dict[str, Any], folder_uid: str, message: str, login: str) -> dict[str, Any]:
        # src: pkg/services/dashboards/database/database.go saveDashboard (new: version 1,
        # created/updated now, version row with parentVersion 0)
        now = utc_now()
        dash_id = self._next_dash_id
        self._next_dash_id += 1
        title = str(data.get("title") or "").strip()
        data["id"] = dash_id
        data["version"] = 1
        data["title"] = title
        rec = {
            "id": dash_id,
            "uid": data["uid"],
            "title": title,
            "slug": slugify(title),
            "folder_uid": folder_uid,
            "version": 1,
            "created": now,
            "updated": now,
            "created_by": login,
            "updated_by": login,
            "provisioned": False,
            "allow_ui_updates": False,
            "data": data,
            "versions": [],
        }
        self._add_version(rec, parent=0, message=message, login=login)
        self._dashboards[rec["uid"]] = rec
        return rec

    def _update_dashboard(
        self, rec: dict[str, Any], data: dict[str, Any], folder_uid: str, message: str, login: str
    ) -> None:
        # src: pkg/services/dashboards/database/database.go saveDashboard (update: version + 1)
        parent = rec["version"]
        rec["version"] = parent + 1
        title = str(data.get("title") or "").strip()
        data["id"] = rec["id"]
        data["uid"] = rec["uid"]
        data["version"] = rec["version"]
        data["title"] = title
        rec.update(
            title=title,
            slug=slugify(title),
            folder_uid=folder_uid,
            data=data,
            updated=utc_now(),
            updated_by=login,
        )
        self._add_version(rec, parent=parent, message=message, login=login)

    def _add_version(self, rec: dict[str, Any], *, parent: int, message: str, login: str) -> None:
        rec["versions"].append(
            {
                "id": self._next_version_id,
                "version": rec["version"],
                "parentVersion": parent,
                "restoredFrom": 0,
                "created": rec["updated"],
                "createdBy": login,
                "message": message,
                "data": copy.deepcopy(rec["data"]),
            }
        )
        self._next_version_id += 1


    def _post_dashboard(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/api.go: POST /api/dashboards/db needs any of dashboards:create, dashboards:write
        if not ident.at_least("Editor"):
            return _forbidden("any of dashboards:create, dashboards:write")
        body = body if isinstance(body, dict) else {}
        data = body.get("dashboard")
        data = copy.deepcopy(data) if isinstance(data, dict) else {}
        overwrite = bool(body.get("overwrite"))
        message = str(body.get("message") or "")
        folder_uid = str(body.get("folderUid") or "")
        folder_id = as_int(body.get("folderId"))

        # src: pkg/api/dashboard.go postDashboard: isFolder -> 400
        if body.get("isFolder"):
            return _error(400, "Use folders endpoint for saving folders.")

        # src: pkg/services/dashboards/service/dashboard_service.go BuildSaveDashboardCommand
        # (title/uid trimmed; checks in this order) + pkg/services/dashboards/errors.go
        title = str(data.get("title") or "").strip()
        uid = str(data.get("uid") or "").strip()
        if not title:
            if self.save_via_k8s:
                # src: pkg/api/dashboard.go saveDashboardViaK8s (newest main)
                return _error(400, "Dashboard spec is missing required title property")
            return _status_body(400, "Dashboard title cannot be empty", "empty-name")
        if len(message) > 500:
            return _error(400, "message too long, max 500 characters")
        if not UID_RE.match(uid):
            return _error(400, "uid contains illegal characters")
        if len(uid) > MAX_UID_LEN:
            return _error(400, "uid too long, max 40 characters")

        # folder: src: BuildSaveDashboardCommand folder lookup; pkg/api/apierrors/dashboard.go
        # ToDashboardErrorResponse maps dashboards.ErrFolderNotFound -> 400 "folder not found"
        if folder_uid and folder_uid != "general":
            if folder_uid not in self._folders:
                return _error(400, "folder not found")
        elif folder_id:
            match = [f for f in self._folders.values() if f["id"] == folder_id]
            if not match:
                return _error(400, "folder not found")
            folder_uid = match[0]["uid"]
        else:
            folder_uid = ""

        # src: dashboard_service.go ValidateDashboardBeforeSave
        posted_id = as_int(data.get("id"))
        posted_version = as_int(data.get("version"))  # missing/null counts as 0
        existing = None
        if posted_id > 0:
            by_id = [r for r in self._dashboards.values() if r["id"] == posted_id]
            if not by_id:
                return _status_body(404, "Dashboard not found", "not-found")
            existing = by_id[0]
            if uid and uid != existing["uid"] and uid in self._dashboards:
                return _error(400, "A dashboard with the same uid already exists")
            if not uid:
                uid = existing["uid"]
        elif uid:
            existing = self._dashboards.get(uid)

        if existing is not None:
            if self.save_via_k8s and not overwrite and posted_version != existing["version"]:
                return _error(409, "Dashboard already exists. Use overwrite flag to update.")
            if posted_version != existing["version"] and not overwrite:
                return _status_body(412, "The dashboard has been changed by someone else", "version-mismatch")
            if existing["provisioned"] and not existing["allow_ui_updates"]:
                # src: BuildSaveDashboardCommand validateProvisionedDashboard
                return _error(400, "Cannot save provisioned dashboard")

        if self.unique_titles:
            # Grafana <= 11.2 only (src: pkg/services/dashboards/database/database.go
            # getExistingDashboardByTitleAndFolder, ErrDashboardWithSameNameInFolderExists);
            # removed in 11.3 (grafana/grafana PR #90687).
            same = [
                r
                for r in self._dashboards.values()
                if r["folder_uid"] == folder_uid
                and r["title"].lower() == title.lower()
                and (existing is None or r["uid"] != existing["uid"])
            ]
            if same and not overwrite:
                return _status_body(412, "A dashboard with the same name in the folder already exists", "name-exists")

        data["title"] = title
        if existing is None:
            data["uid"] = uid or short_uid()
            rec = self._insert_dashboard(data, folder_uid, message, ident.login)
        else:
            rec = existing
            if uid != rec["uid"]:  # id given with a new, unused uid: the dashboard is re-keyed
                del self._dashboards[rec["uid"]]
                rec["uid"] = uid
                self._dashboards[uid] = rec
            self._update_dashboard(rec, data, folder_uid, message, ident.login)

        # src: pkg/api/dashboard.go postDashboard success body
        return _ok(
            {
                "id": rec["id"],
                "uid": rec["uid"],
                "url": self._dash_url(rec["uid"], rec["slug"]),
                "status": "success",
                "version": rec["version"],
                "slug": rec["slug"],
                "folderUid": rec["folder_uid"],
            }
        )

    def _get_dashboard(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/dashboard.go GetDashboard / getDashboardHelper
        rec = self._dashboards.get(uid)
        if rec is None:
            return _error(404, "Dashboard not found", trace=True)
        perms = self._perms(ident)
        folder = self._folders.get(rec["folder_uid"]) if rec["folder_uid"] else None
        data = copy.deepcopy(rec["data"])
        data["id"] = rec["id"]
        data["version"] = rec["version"]  # "make sure db version is in sync with json model version"
        # src: pkg/api/dtos/dashboard.go DashboardMeta (12.x field set)
        meta = {
            "type": "db",
            **perms,
            "canStar": True,
            "slug": rec["slug"],
            "url": self._dash_url(rec["uid"], rec["slug"]),
            "expires": "0001-01-01T00:00:00Z",
            "created": rec["created"],
            "updated": rec["updated"],
            "updatedBy": rec["updated_by"],
            "createdBy": rec["created_by"],
            "version": rec["version"],
            "hasAcl": False,
            "isFolder": False,
            "folderId": folder["id"] if folder else 0,
            "folderUid": rec["folder_uid"],
            "folderTitle": folder["title"] if folder else "General",
            "folderUrl": self._folder_url(folder["uid"], slugify(folder["title"])) if folder else "",
            "provisioned": rec["provisioned"] and not rec["allow_ui_updates"],
            "provisionedExternalId": f"{rec['uid']}.json" if rec["provisioned"] else "",
            "annotationsPermissions": {
                "dashboard": {"canAdd": perms["canEdit"], "canEdit": perms["canEdit"], "canDelete": perms["canEdit"]},
                "organization": {
                    "canAdd": perms["canAdmin"],
                    "canEdit": perms["canAdmin"],
                    "canDelete": perms["canAdmin"],
                },
            },
        }
        return _ok({"meta": meta, "dashboard": data})

    def _delete_dashboard(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/api.go: DELETE /api/dashboards/uid/:uid needs dashboards:delete
        if not ident.at_least("Editor"):
            return _forbidden("dashboards:delete")
        # src: pkg/api/dashboard.go deleteDashboard
        rec = self._dashboards.get(uid)
        if rec is None:
            return _error(404, "Dashboard not found", trace=True)
        if rec["provisioned"]:
            # src: pkg/services/dashboards/errors.go ErrDashboardCannotDeleteProvisionedDashboard
            return _error(400, "provisioned dashboard cannot be deleted", trace=True)
        del self._dashboards[uid]
        # 11.x+: {title, message, uid}; Grafana <= 10 answered {title, message, id}
        return _ok({"title": rec["title"], "message": f"Dashboard {rec['title']} deleted", "uid": uid})

    def _version_meta(self, rec: dict[str, Any], v: dict[str, Any], *, with_data: bool) -> dict[str, Any]:
        # src: pkg/services/dashboardversion/model.go DashboardVersionMeta;
        # pkg/api/dashboard.go GetDashboardVersions message rules
        msg = v["message"]
        if v["restoredFrom"] > 0:
            msg = f"Restored from version {v['restoredFrom']}"
        if v["parentVersion"] == 0:
            msg = "Initial save"
        return {
            "id": v["id"],
            "dashboardId": rec["id"],
            "uid": rec["uid"],
            "parentVersion": v["parentVersion"],
            "restoredFrom": v["restoredFrom"],
            "version": v["version"],
            "created": v["created"],
            "message": msg if not with_data else v["message"],
            "data": copy.deepcopy(v["data"]) if with_data else None,
            "createdBy": v["createdBy"],
        }

    def _get_versions(self, ident: _Identity, query: dict[str, list[str]], body: Any, uid: str) -> _Reply:
        # src: pkg/api/dashboard.go GetDashboardVersions
        rec = self._dashboards.get(uid)
        if rec is None:
            return _error(404, "Dashboard not found", trace=True)
        limit = as_int((query.get("limit") or ["0"])[0]) or 1000  # dashverimpl: default 1000
        start = max(as_int((query.get("start") or ["0"])[0]), 0)
        ordered = sorted(rec["versions"], key=lambda v: v["version"], reverse=True)
        items = [self._version_meta(rec, v, with_data=False) for v in ordered[start : start + limit]]
        if self.versions_as_list:  # Grafana <= 11.4: a bare array
            return _ok(items)
        # 11.6+/12.x: dashver.DashboardVersionResponseMeta
        return _ok({"continueToken": "", "versions": items})

    def _get_version(self, ident: _Identity, query: Any, body: Any, uid: str, version: str) -> _Reply:
        # src: pkg/api/dashboard.go GetDashboardVersion
        rec = self._dashboards.get(uid)
        if rec is None:
            return _error(404, "Dashboard not found", trace=True)
        for v in rec["versions"]:
            if v["version"] == int(version):
                return _ok(self._version_meta(rec, v, with_data=True))
        return _error(500, f"Dashboard version {int(version)} not found for dashboardId {rec['id']}", trace=True)

