"""/api/dashboards: save, read, delete, and the version history. 12.x: the legacy SQL service; 13.x: a client of
the Kubernetes-style storage (pkg/api/dashboard.go saveDashboardViaK8s), see dashboard_store.py."""

from __future__ import annotations

import copy
import json
from typing import Any

from . import k8s
from .auth import _forbidden, _Identity
from .common import MAX_UID_LEN, UID_RE, as_int, short_uid
from .replies import _error, _ok, _Reply, _status_body
from .slugify import slugify


class DashboardsMixin:
    def _dash_url(self, uid: str, slug: str) -> str:
        # src: pkg/services/dashboards/models.go GetDashboardURL: AppSubUrl + "/d/<uid>/<slug>"
        return f"{self.sub_path}/d/{uid}/{slug}"


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
        if self.k8s:
            return self._post_dashboard_k8s(ident, data, body, overwrite, message, folder_uid, folder_id)

        # src: pkg/services/dashboards/service/dashboard_service.go BuildSaveDashboardCommand
        # (title/uid trimmed; checks in this order) + pkg/services/dashboards/errors.go
        title = str(data.get("title") or "").strip()
        uid = str(data.get("uid") or "").strip()
        if not title:
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

    def _post_dashboard_k8s(self, ident: _Identity, data: dict[str, Any], body: dict[str, Any], overwrite: bool,
                            message: str, folder_uid: str, folder_id: int) -> _Reply:
        # src: pkg/api/dashboard.go postDashboard -> saveDashboardViaK8s (13.x), in its order:
        if isinstance(data.get("elements"), dict) and isinstance(data.get("layout"), dict):
            # dashboards.LooksLikeV2Spec: a bare v2 spec without the k8s wrapper
            return _error(400, "Dashboard JSON looks like a v2 spec OR it should include a object wrapper with an "
                          "explicit 'apiVersion' and move the body into a 'spec' element")
        title = data.get("title") if isinstance(data.get("title"), str) else ""
        if title == "":  # no TrimSpace on this path: a title of spaces is saved as it is
            return _error(400, "Dashboard spec is missing required title property")
        spec_uid = data.get("uid") if isinstance(data.get("uid"), str) else ""
        legacy_id = data.get("id")
        if legacy_id is not None and (isinstance(legacy_id, bool) or not isinstance(legacy_id, int)):
            return _error(400, f"unsupported ID type: {type(legacy_id).__name__}")  # nestedInternalID
        version = data.get("version")
        has_version = version is not None
        if has_version and (isinstance(version, bool) or not isinstance(version, int | float)):
            return _error(400, f"spec.version has unsupported type {type(version).__name__}")  # nestedSpecVersion
        for key in ("uid", "id", "version"):  # lifted onto the metadata, then removed from the spec
            data.pop(key, None)
        if folder_id and not folder_uid:
            match = [f for f in self._folders.values() if f["id"] == folder_id]
            folder_uid = match[0]["uid"] if match else ""
        name = spec_uid
        old = None
        if isinstance(legacy_id, int) and legacy_id > 0:  # resolveLegacyInternalID
            by_id = [r for r in self._dashboards.values() if r["id"] == legacy_id]
            if not by_id and not name:
                return _error(404, "Dashboard not found")
            if by_id:
                if not name:
                    name, old = by_id[0]["uid"], by_id[0]
                elif name != by_id[0]["uid"] and name in self._dashboards:
                    return _error(400, "A dashboard with the same uid already exists")
        if name and old is None:
            old = self._dashboards.get(name)
        if old is not None:
            # "Check if provisioning allows edits": the manager check comes before the version check, and
            # holds even with overwrite: true
            manager = self._manager(old)
            if manager and not manager["allows_edits"]:
                return _error(400, "Cannot save provisioned dashboard")
            # "Without overwrite, accept the update only when the caller supplied the current version (we
            # return meta.GetGeneration() as 'version')"
            if not overwrite and (not has_version or int(version) != old["version"]):
                return _error(409, "Dashboard already exists. Use overwrite flag to update.")
        if not name:
            name = "a" + short_uid()  # generateName "a" (ShortUIDNameGenerator)
        # "Reset the wrapper to a clean state": annotations and labels {}, then folder and message
        annotations: dict[str, str] = {k8s.ANNO_MESSAGE: message} if message else {}
        labels = {k8s.LABEL_INTERNAL_ID: str(legacy_id)} if isinstance(legacy_id, int) and legacy_id > 0 else {}
        if old is None:
            annotations[k8s.ANNO_GRANT_PERMISSIONS] = "default"
        if folder_uid and folder_uid not in self._folders:
            # pkg/api/apierrors/dashboard.go ToDashboardErrorResponse: folder NotFound -> 400 "folder not found"
            return _error(400, "folder not found")
        # legacy POSTs are written at v0alpha1 ("v0 lets the dashboard apiserver mutate hook strip uid/version/id
        # without running the v1 schema migrations"), with FieldValidation Ignore
        result = self._k8s_save(ident, name=name, version="v0alpha1", spec=data, folder_uid=folder_uid,
                                annotations=annotations, labels=labels, resource_version="", create=old is None,
                                field_validation="Ignore")
        if isinstance(result, _Reply):
            # ToDashboardErrorResponse flattens a k8s StatusError to {"message"} with its code
            status_body = json.loads(result.body)
            return _error(result.status, str(status_body.get("message") or ""))
        return _ok({"status": "success", "slug": result["slug"], "version": result["version"], "id": result["id"],
                    "uid": result["uid"], "url": self._dash_url(result["uid"], result["slug"]),
                    "folderUid": result["folder_uid"]})

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
            # 13.x: the apiVersion the legacy service read the object at (it reads v1, converting a v2 object)
            # 13.x: the dashboard's API version (the emulator gives the stored one; which one Grafana reports for a
            # converted read is unconfirmed)
            **({"apiVersion": rec["api_version"]} if self.k8s else {}),
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
        ordered = list(reversed(rec["versions"]))  # newest first
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
        for v in reversed(rec["versions"]):  # 13.x: the newest history item with that generation
            if v["version"] == int(version):
                return _ok(self._version_meta(rec, v, with_data=True))
        return _error(500, f"Dashboard version {int(version)} not found for dashboardId {rec['id']}", trace=True)

