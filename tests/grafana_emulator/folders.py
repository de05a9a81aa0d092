"""/api/folders: create, read, list, update, delete."""

from __future__ import annotations

import uuid
from typing import Any

from .auth import _forbidden, _Identity
from .common import MAX_UID_LEN, UID_RE, as_int, short_uid, utc_now
from .replies import _error, _ok, _Reply, _status_body
from .slugify import slugify


class FoldersMixin:
    def _folder_url(self, uid: str, slug: str) -> str:
        # src: pkg/services/dashboards/models.go GetFolderURL: AppSubUrl + "/dashboards/f/<uid>/<slug>"
        return f"{self.sub_path}/dashboards/f/{uid}/{slug}"

    # ------------------------------------------------------------------ storage helpers

    def _create_folder(self, uid: str, title: str, parent_uid: str, login: str) -> dict[str, Any]:
        now = utc_now()
        # 13.x: a folder.grafana.app object; "version" is its generation, and like a dashboard's it moves only
        # when the spec or the parent changes (pkg/storage/unified/apistore/prepare.go prepareObjectForUpdate)
        rec = {
            "id": self._next_dash_id,
            "uid": uid,
            "title": title,
            "description": "",
            "parent_uid": parent_uid,
            "version": 1,
            "created": now,
            "updated": now,
            "created_by": login,
            "updated_by": login,
            "k8s_uid": str(uuid.uuid4()),
            "resource_version": self._rv.next(),
            "annotations": {},
            "labels": {},
            "updated_by_id": "",
            "updated_ts": "",
        }
        self._next_dash_id += 1
        self._folders[uid] = rec
        return rec


    def _folder_dto(self, ident: _Identity, f: dict[str, Any]) -> dict[str, Any]:
        # src: pkg/api/dtos/folder.go Folder; pkg/api/folder.go newToFolderDto
        perms = self._perms(ident)
        dto: dict[str, Any] = {
            "id": f["id"],
            "uid": f["uid"],
            "orgId": 1,
            "title": f["title"],
            "url": self._folder_url(f["uid"], slugify(f["title"])),
            "hasAcl": False,
            **perms,
            "createdBy": f["created_by"],
            "created": f["created"],
            "updatedBy": f["updated_by"],
            "updated": f["updated"],
            "version": f["version"],
        }
        if f["parent_uid"]:
            dto["parentUid"] = f["parent_uid"]
        return dto

    def _folder_not_found(self) -> _Reply:
        # src: pkg/api/apierrors/folder.go ToFolderErrorResponse (ErrFolderNotFound)
        return _status_body(404, "folder not found", "not-found")

    def _list_folders(self, ident: _Identity, query: dict[str, list[str]], body: Any) -> _Reply:
        # src: pkg/api/folder.go GetFolders: immediate children of parentUid (root by default),
        # dtos.FolderSearchHit {id, uid, title, parentUid?}
        parent = (query.get("parentUid") or [""])[0]
        limit = as_int((query.get("limit") or ["0"])[0]) or 1000
        page = max(as_int((query.get("page") or ["1"])[0]), 1)
        children = sorted(
            (f for f in self._folders.values() if f["parent_uid"] == parent), key=lambda f: f["title"].lower()
        )
        out = []
        for f in children[(page - 1) * limit : page * limit]:
            hit = {"id": f["id"], "uid": f["uid"], "title": f["title"]}
            if f["parent_uid"]:
                hit["parentUid"] = f["parent_uid"]
            out.append(hit)
        return _ok(out)

    def _post_folder(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/folder.go registerFolderAPI: POST needs folders:create
        if not ident.at_least("Editor"):
            return _forbidden("folders:create")
        body = body if isinstance(body, dict) else {}
        title = str(body.get("title") or "").strip()
        uid = str(body.get("uid") or "").strip()
        parent = str(body.get("parentUid") or "").strip()
        # src: pkg/api/apierrors/folder.go ToFolderErrorResponse 400 cases
        if not title:
            return _error(400, "folder title cannot be empty")
        if not UID_RE.match(uid):
            return _error(400, "uid contains illegal characters")
        if len(uid) > MAX_UID_LEN:
            return _error(400, "uid too long, max 40 characters")
        if uid and uid in self._folders:
            if self.folder_conflict_status == 409:
                # 10.x-11.x legacy folder service: dashboards.ErrFolderWithSameUIDExists -> 409
                return _error(409, "a folder/dashboard with the same uid already exists")
            # 12.x/13.x k8s folder API: AlreadyExists -> 412 (src: pkg/api/apierrors/folder.go
            # ToFolderErrorResponse, k8sErrors.IsAlreadyExists -> folder.ErrVersionMismatch).
            # Body as measured on Grafana 13: only "message".
            return _error(412, "the folder has been changed by someone else")
        if parent and parent not in self._folders:
            return self._folder_not_found()
        if uid in self._dashboards:
            # src: pkg/services/dashboards/errors.go ErrDashboardTypeMismatch (shared uid space)
            return _error(400, "Dashboard cannot be changed to a folder")
        f = self._create_folder(uid or short_uid(), title, parent, ident.login)
        f["description"] = str(body.get("description") or "")
        return _ok(self._folder_dto(ident, f))

    def _get_folder(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/folder.go GetFolderByUID
        f = self._folders.get(uid)
        if f is None:
            return self._folder_not_found()
        return _ok(self._folder_dto(ident, f))

    def _put_folder(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/folder.go UpdateFolder (folders:write); version check as in
        # pkg/services/folder/folderimpl (ErrVersionMismatch -> 412 version-mismatch)
        if not ident.at_least("Editor"):
            return _forbidden("folders:write")
        f = self._folders.get(uid)
        if f is None:
            return self._folder_not_found()
        body = body if isinstance(body, dict) else {}
        if not body.get("overwrite") and as_int(body.get("version")) != f["version"]:
            return _status_body(412, "the folder has been changed by someone else", "version-mismatch")
        title, description = f["title"], f["description"]
        if "title" in body:
            title = str(body.get("title") or "").strip()
            if not title:
                return _error(400, "folder title cannot be empty")
        if "description" in body:
            description = str(body.get("description") or "")
        self._change_folder(f, title, description, f["parent_uid"], ident.login)
        return _ok(self._folder_dto(ident, f))

    def _change_folder(self, f: dict[str, Any], title: str, description: str, parent: str, login: str) -> None:
        # 12.x: every update is a new version; 13.x: the generation moves only on a spec or parent change
        changed = (title, description, parent) != (f["title"], f["description"], f["parent_uid"])
        if changed or not self.k8s:
            f["version"] += 1
            f["updated"] = utc_now()
            f["updated_by"] = login
            f["updated_by_id"] = self._identity_id(login)
            f["updated_ts"] = f["updated"]
        f.update(title=title, description=description, parent_uid=parent)
        f["resource_version"] = self._rv.next()

    def _delete_folder(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/folder.go DeleteFolder (folders:delete): removes the folder, its
        # subfolders and the dashboards in them; body {"message": "Folder deleted"}
        # (Grafana <= 9: {title, message: "Folder <title> deleted", id})
        if not ident.at_least("Editor"):
            return _forbidden("folders:delete")
        if uid not in self._folders:
            return self._folder_not_found()
        doomed = {uid}
        changed = True
        while changed:
            changed = False
            for f in self._folders.values():
                if f["parent_uid"] in doomed and f["uid"] not in doomed:
                    doomed.add(f["uid"])
                    changed = True
        for d_uid in [d for d, rec in self._dashboards.items() if rec["folder_uid"] in doomed]:
            del self._dashboards[d_uid]
        for f_uid in doomed:
            del self._folders[f_uid]
        return _ok({"message": "Folder deleted"})

