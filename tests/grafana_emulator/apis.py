"""/apis: Grafana 13's Kubernetes-style API for dashboards (dashboard.grafana.app) and folders
(folder.grafana.app): discovery, list (pages, history), get, create, update, delete, dryRun, Status errors.

/apis/* is mounted behind Grafana's own sign-in middleware (pkg/services/apiserver/service.go registers
`k8sRoute.Any("/*", middleware.ReqSignedIn, handler)`), so an unauthenticated request gets Grafana's JSON 401,
not a Status; everything after that answers as the generic Kubernetes apiserver does.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from typing import Any

from . import k8s
from .auth import _Identity
from .common import MAX_UID_LEN, UID_RE, as_int, utc_now
from .dashboard_store import CLASSIC, SERVED, V2
from .replies import _ok, _Reply

# pkg/registry/apis/dashboard/register.go GetGroupVersions: with dashboardNewLayouts on (13.x default) v2
# comes first, and the first entry is the preferred version (InstallSchema: SetVersionPriority)
DASHBOARD_VERSIONS_NEW_LAYOUTS = ["v2", "v2beta1", "v2alpha1", "v0alpha1", "v1", "v1beta1"]
DASHBOARD_VERSIONS = ["v1", "v1beta1", "v0alpha1", "v2", "v2beta1", "v2alpha1"]
DASHBOARD_VERSIONS_12 = ["v1beta1", "v0alpha1", "v2beta1", "v2alpha1"]  # a 12.2-era build
# pkg/registry/apis/folders/register.go GetGroupVersions: "stable version first, then compatibility alias"
FOLDER_VERSIONS = ["v1", "v1beta1"]
FOLDER_VERSIONS_12 = ["v1beta1"]


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def _one(query: dict[str, list[str]], name: str) -> str:
    return (query.get(name) or [""])[0]


def _token(offset: int, rv: int) -> str:
    # pkg/storage/unified/resource continue tokens: opaque base64 of where the next page starts
    return base64.b64encode(json.dumps({"o": offset, "v": rv}).encode()).decode()


def _untoken(token: str) -> tuple[int, int] | None:
    try:
        data = json.loads(base64.b64decode(token.encode(), validate=True))
        return int(data["o"]), int(data["v"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


class ApisMixin:
    # ------------------------------------------------------------------ discovery

    def _apis_discovery(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # k8s.io/apimachinery metav1.APIGroupList (Grafana adds no fields)
        if self.k8s:
            dashboards = DASHBOARD_VERSIONS_NEW_LAYOUTS if self.new_layouts else DASHBOARD_VERSIONS
            groups = [_group(k8s.DASHBOARD_GROUP, dashboards), _group(k8s.FOLDER_GROUP, FOLDER_VERSIONS)]
        else:
            groups = [_group(k8s.DASHBOARD_GROUP, DASHBOARD_VERSIONS_12), _group(k8s.FOLDER_GROUP, FOLDER_VERSIONS_12)]
        groups.append(_group("playlist.grafana.app", ["v0alpha1"]))
        return _ok({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    # ------------------------------------------------------------------ dispatch

    def _apis(self, ident: _Identity, method: str, query: dict[str, list[str]], body: Any, group: str, version: str,
              namespace: str, resource: str, name: str | None) -> _Reply:
        served = (SERVED if group == k8s.DASHBOARD_GROUP else FOLDER_VERSIONS) if self.k8s else []
        wanted = {k8s.DASHBOARD_GROUP: "dashboards", k8s.FOLDER_GROUP: "folders"}[group]
        if version not in served or resource != wanted:
            return k8s.status(404, "NotFound", "the server could not find the requested resource")
        if group == k8s.DASHBOARD_GROUP and version not in CLASSIC + V2:
            return k8s.status(501, "NotImplemented", f"the emulator does not convert to or from {version}")
        if namespace != self.namespace:
            # the namespace is the caller's org ("default" for org 1, pkg/services/apiserver/endpoints/request)
            return k8s.forbidden(group, resource, name or "", f'User "{ident.login}" cannot access namespace '
                                 f'"{namespace}"')
        dry_run = _one(query, "dryRun")
        if dry_run not in ("", "All"):
            return k8s.bad_request(f"unsupported dry run option: {dry_run}")
        if method in ("POST", "PUT", "DELETE") and not ident.at_least("Editor"):
            verb = {"POST": "create", "PUT": "update", "DELETE": "delete"}[method]
            return k8s.forbidden(group, resource, name or "", f'User "{ident.login}" cannot {verb} resource '
                                 f'"{resource}" in API group "{group}" in the namespace "{namespace}"')
        handler = self._apis_dashboard if group == k8s.DASHBOARD_GROUP else self._apis_folder
        return handler(ident, method, query, body, version, name, dry_run == "All")

    # ------------------------------------------------------------------ lists

    def _page(self, items: list[Any], query: dict[str, list[str]], kind: str, version: str, group: str,
              render: Any) -> _Reply:
        """One page of a list: `items` in the storage order, `render(item)` gives (stored size, object) for the
        ones the page holds. pkg/storage/unified/resource/server.go List: limit < 1 means 500, and a page also
        ends once the values it holds reach 2 MiB."""
        limit = as_int(_one(query, "limit"))
        limit = limit if limit >= 1 else k8s.DEFAULT_LIST_LIMIT
        list_rv = self._rv_now()
        offset = 0
        token = _one(query, "continue")
        if token:
            parsed = _untoken(token)
            if parsed is None:
                return k8s.bad_request("invalid continue token")
            offset, list_rv = parsed
        page: list[bytes] = []
        size = 0
        index = offset
        while index < len(items):
            item_size, encoded = render(items[index])
            page.append(encoded)
            size += item_size
            index += 1
            if len(page) >= limit or size >= k8s.MAX_PAGE_BYTES:
                break
        metadata: dict[str, Any] = {"resourceVersion": str(list_rv)}
        if index < len(items):
            metadata["continue"] = _token(index, list_rv)
            metadata["remainingItemCount"] = len(items) - index
        # Written as Go's encoding/json does (compact); items are encoded once per resource version so that the
        # emulator's own JSON encoding does not weigh on what a benchmark measures
        head = json.dumps({"kind": kind, "apiVersion": f"{group}/{version}", "metadata": metadata},
                          separators=(",", ":"))[:-1]
        return _Reply(200, raw=(head + ',"items":[').encode() + b",".join(page) + b"]}",
                      content_type="application/json")

    def _encoded(self, snapshot: dict[str, Any], version: str) -> tuple[int, bytes]:
        cache = snapshot.setdefault("_json", {})
        hit = cache.get(version)
        if hit and hit[0] == snapshot["resource_version"]:
            return hit[1], hit[2]
        encoded = json.dumps(self._object(snapshot, version), separators=(",", ":")).encode()
        cache[version] = (snapshot["resource_version"], self._stored_size(snapshot), encoded)
        return cache[version][1], encoded

    def _rv_now(self) -> int:
        rvs = [r["resource_version"] for r in list(self._dashboards.values()) + list(self._folders.values())]
        return max(rvs, default=0)

    def _selectors(self, query: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, str]] | _Reply:
        def parse(text: str) -> dict[str, str] | None:
            out = {}
            for part in filter(None, text.split(",")):
                if "!=" in part or "=" not in part:
                    return None
                key, _, value = part.partition("=")
                out[key.strip().rstrip("=")] = value.strip().lstrip("=")
            return out

        labels = parse(_one(query, "labelSelector"))
        fields = parse(_one(query, "fieldSelector"))
        if labels is None or fields is None:
            return k8s.bad_request("the emulator supports equality selectors only")
        return labels, fields

    # ------------------------------------------------------------------ dashboards

    def _apis_dashboard(self, ident: _Identity, method: str, query: dict[str, list[str]], body: Any, version: str,
                        name: str | None, dry_run: bool) -> _Reply:
        group, resource = k8s.DASHBOARD_GROUP, "dashboards"
        if method == "GET" and name is None:
            selectors = self._selectors(query)
            if isinstance(selectors, _Reply):
                return selectors
            labels, fields = selectors
            if k8s.LABEL_GET_HISTORY in labels:
                return self._dashboard_history(query, version, labels, fields)
            records = []
            for uid in sorted(self._dashboards):  # storage order: by key (namespace/name)
                rec = self._dashboards[uid]
                if fields.get("metadata.name", uid) != uid:
                    continue
                stored_labels = {**rec["labels"], k8s.LABEL_INTERNAL_ID: str(rec["id"])}
                if any(stored_labels.get(k) != v for k, v in labels.items()):
                    continue
                records.append(rec)
            return self._page(records, query, "DashboardList", version, group,
                              lambda rec: self._encoded(rec, version))
        if method == "GET":
            rec = self._dashboards.get(name)
            return k8s.not_found(group, resource, name) if rec is None else _ok(self._object(rec, version))
        if method in ("POST", "PUT"):
            return self._write_dashboard(ident, method, query, body, version, name, dry_run)
        if method == "DELETE":
            return self._delete_dashboard_k8s(query, body, name, dry_run)
        return k8s.status(405, "MethodNotAllowed", f"the server does not allow this method on {resource}")

    def _dashboard_history(self, query: dict[str, list[str]], version: str, labels: dict[str, str],
                           fields: dict[str, str]) -> _Reply:
        # pkg/storage/unified/apistore/util.go toListRequest: the reserved label must be alone, "=", "true",
        # with exactly one field selector metadata.name=<name>; items newest first, each the whole object
        # as it was at that version (pkg/services/dashboardversion/dashverimpl reads history this way)
        if len(labels) != 1:
            return k8s.bad_request(f"single label supported with: {k8s.LABEL_GET_HISTORY}")
        if labels[k8s.LABEL_GET_HISTORY] != "true":
            return k8s.bad_request(f"expecting true for: {k8s.LABEL_GET_HISTORY}")
        if "metadata.name" not in fields:
            return k8s.bad_request("metadata.name field selector required for history requests")
        if len(fields) != 1:
            return k8s.bad_request("only one field selector supported for history requests")
        rec = self._dashboards.get(fields["metadata.name"])
        entries = list(reversed(rec["versions"])) if rec else []
        return self._page(entries, query, "DashboardList", version, k8s.DASHBOARD_GROUP,
                          lambda e: self._encoded(e, version))

    def _write_dashboard(self, ident: _Identity, method: str, query: dict[str, list[str]], body: Any, version: str,
                         name: str | None, dry_run: bool) -> _Reply:
        group = k8s.DASHBOARD_GROUP
        if not isinstance(body, dict):
            return k8s.bad_request("the body of the request was in an unknown format")
        # k8s.io/apiserver handlers: the body's apiVersion and kind must be the URL's
        body_version = body.get("apiVersion") or f"{group}/{version}"
        if body_version != f"{group}/{version}":
            return k8s.bad_request(f"the API version in the data ({body_version}) does not match the expected API "
                                   f"version ({group}/{version})")
        if body.get("kind", "Dashboard") != "Dashboard":
            return k8s.bad_request(f"the kind in the data ({body.get('kind')}) does not match the expected kind "
                                   "(Dashboard)")
        metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        obj_name = str(metadata.get("name") or "")
        if method == "PUT" and obj_name != name:
            return k8s.bad_request(f"the name of the object ({obj_name}) does not match the name on the URL ({name})")
        if method == "POST" and not obj_name:
            if not metadata.get("generateName"):
                return k8s.status(500, "InternalError", "missing name")  # prepareObjectForStorage
            from .common import short_uid

            obj_name = str(metadata["generateName"]) + short_uid()  # ShortUIDNameGenerator
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
        labels = metadata.get("labels") if isinstance(metadata.get("labels"), dict) else {}
        result = self._k8s_save(ident, name=obj_name, version=version, spec=spec,
                                folder_uid=str(annotations.get(k8s.ANNO_FOLDER) or ""), annotations=annotations,
                                labels=labels, resource_version=str(metadata.get("resourceVersion") or ""),
                                create=method == "POST", dry_run=dry_run,
                                field_validation=_one(query, "fieldValidation"))
        if isinstance(result, _Reply):
            return result
        answer = self._object(result, version)
        if dry_run and method == "POST":
            answer["metadata"]["resourceVersion"] = ""  # a dry run stores nothing: no resource version
        return _Reply(201 if method == "POST" else 200, answer)

    def _delete_dashboard_k8s(self, query: dict[str, list[str]], body: Any, name: str, dry_run: bool) -> _Reply:
        # pkg/storage/unified/apistore/store.go Storage.Delete: read the object (404), check the preconditions
        # (uid, resourceVersion: 409 Conflict), then validateDeletion: DashboardsAPIBuilder.Validate refuses a
        # dashboard provisioned from a file unless gracePeriodSeconds is 0
        group, resource = k8s.DASHBOARD_GROUP, "dashboards"
        rec = self._dashboards.get(name)
        if rec is None:
            return k8s.not_found(group, resource, name)
        options = body if isinstance(body, dict) else {}
        if (options.get("dryRun") or []) == ["All"]:
            dry_run = True
        pre = options.get("preconditions") if isinstance(options.get("preconditions"), dict) else {}
        if pre.get("uid") and pre["uid"] != rec["k8s_uid"]:
            return k8s.conflict(group, resource, name, f"Precondition failed: UID in precondition: {pre['uid']}, "
                                f"UID in object meta: {rec['k8s_uid']}")
        if pre.get("resourceVersion") and str(pre["resourceVersion"]) != str(rec["resource_version"]):
            return k8s.conflict(group, resource, name, "Precondition failed: ResourceVersion in precondition: "
                                f"{pre['resourceVersion']}, ResourceVersion in object meta: {rec['resource_version']}")
        grace = options.get("gracePeriodSeconds", _one(query, "gracePeriodSeconds") or None)
        manager = self._manager(rec)
        if manager and manager["kind"] == "classic-file-provisioning" and str(grace) != "0":
            return k8s.bad_request("provisioned dashboard cannot be deleted")
        if not dry_run:
            del self._dashboards[name]
        # genericregistry.Store finalizeDelete: a Success Status naming what was deleted
        return _ok({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": name, "group": group, "kind": resource, "uid": rec["k8s_uid"]}})

    # ------------------------------------------------------------------ folders

    def _folder_object(self, f: dict[str, Any], version: str) -> dict[str, Any]:
        annotations = dict(f["annotations"])
        annotations[k8s.ANNO_CREATED_BY] = self._identity_id(f["created_by"])
        if f.get("updated_by_id"):
            annotations[k8s.ANNO_UPDATED_BY] = f["updated_by_id"]
            annotations[k8s.ANNO_UPDATED_TS] = f["updated_ts"]
        if f["parent_uid"]:
            annotations[k8s.ANNO_FOLDER] = f["parent_uid"]
        spec: dict[str, Any] = {"title": f["title"]}
        if f["description"]:
            spec["description"] = f["description"]
        return {"kind": "Folder", "apiVersion": f"{k8s.FOLDER_GROUP}/{version}",
                "metadata": {"name": f["uid"], "namespace": self.namespace, "uid": f["k8s_uid"],
                             "resourceVersion": str(f["resource_version"]), "generation": f["version"],
                             "creationTimestamp": f["created"],
                             # DeprecatedID_Required: every folder carries its legacy id as a label
                             "labels": {**f["labels"], k8s.LABEL_INTERNAL_ID: str(f["id"])},
                             "annotations": dict(sorted(annotations.items()))},
                "spec": spec, "status": {}}

    def _apis_folder(self, ident: _Identity, method: str, query: dict[str, list[str]], body: Any, version: str,
                     name: str | None, dry_run: bool) -> _Reply:
        group, resource = k8s.FOLDER_GROUP, "folders"
        if method == "GET" and name is None:
            folders = [f for _, f in sorted(self._folders.items())]
            def folder(f: dict[str, Any]) -> tuple[int, bytes]:
                encoded = json.dumps(self._folder_object(f, version), separators=(",", ":")).encode()
                return len(encoded), encoded

            return self._page(folders, query, "FolderList", version, group, folder)
        if method == "GET":
            f = self._folders.get(name)
            return k8s.not_found(group, resource, name) if f is None else _ok(self._folder_object(f, version))
        if method not in ("POST", "PUT"):
            return k8s.status(405, "MethodNotAllowed", "the emulator does not delete folders through /apis")
        if not isinstance(body, dict):
            return k8s.bad_request("the body of the request was in an unknown format")
        metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        obj_name = str(metadata.get("name") or "")
        if method == "PUT" and obj_name != name:
            return k8s.bad_request(f"the name of the object ({obj_name}) does not match the name on the URL ({name})")
        annotations = {k: str(v) for k, v in (metadata.get("annotations") or {}).items()
                       if k not in k8s.SERVER_ANNOTATIONS + (k8s.ANNO_FOLDER, k8s.ANNO_GRANT_PERMISSIONS)}
        parent = str((metadata.get("annotations") or {}).get(k8s.ANNO_FOLDER) or "")
        title = spec.get("title") if isinstance(spec.get("title"), str) else ""
        # pkg/registry/apis/folders validation: a title, a valid uid, an existing parent
        if not title:
            return k8s.bad_request("folder title cannot be empty")
        if not UID_RE.match(obj_name) or not obj_name:
            return k8s.bad_request("uid contains illegal characters")
        if len(obj_name) > MAX_UID_LEN:
            return k8s.bad_request("uid too long, max 40 characters")
        if parent and parent not in self._folders and not dry_run:
            return k8s.not_found(group, resource, parent)
        f = self._folders.get(obj_name)
        rv = str(metadata.get("resourceVersion") or "")
        if method == "POST" and f is not None:
            return k8s.already_exists(group, resource, obj_name)
        if f is not None and rv and rv != str(f["resource_version"]):
            return k8s.conflict(group, resource, obj_name, k8s.STALE)
        if f is None and obj_name in self._dashboards:
            return k8s.bad_request("Dashboard cannot be changed to a folder")
        if dry_run:
            shown = copy.deepcopy(f) if f is not None else {
                "id": 0, "uid": obj_name, "title": title, "description": "", "parent_uid": parent, "version": 1,
                "created": utc_now(), "updated": utc_now(), "created_by": ident.login, "updated_by": ident.login,
                "k8s_uid": "", "resource_version": "", "annotations": {}, "labels": {}, "updated_by_id": "",
                "updated_ts": ""}
            shown.update(title=title, description=str(spec.get("description") or ""), annotations=annotations)
            return _Reply(201 if method == "POST" else 200, self._folder_object(shown, version))
        if f is None:
            f = self._create_folder(obj_name, title, parent, ident.login)
            f["description"] = str(spec.get("description") or "")
            f["annotations"] = annotations
            return _Reply(201, self._folder_object(f, version))
        before = (f["annotations"], f["title"], f["description"], f["parent_uid"])
        f["annotations"] = annotations
        if before != (annotations, title, str(spec.get("description") or ""), parent):
            self._change_folder(f, title, str(spec.get("description") or ""), parent, ident.login)
        return _ok(self._folder_object(f, version))
