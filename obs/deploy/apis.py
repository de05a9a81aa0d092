"""Dashboards and folders through Grafana 13's Kubernetes-style API (/apis/dashboard.grafana.app,
/apis/folder.grafana.app), the way Grafana's own code uses it:

* lists are read in pages (`limit` and `continue`; Grafana also ends a page at 2 MiB of objects), so an
  unchanged push costs a few requests, not one per dashboard;
* writes carry the `metadata.resourceVersion` that was read: a save in between is a 409 Conflict, and nothing
  is overwritten (pkg/apiserver/registry/generic/strategy.go allows an unconditional update, obs never sends one);
* deletes carry preconditions (uid and resourceVersion): what changed since it was read is not deleted
  (pkg/storage/unified/apistore/store.go Storage.Delete checks them);
* history is the list with the label selector grafana.app/get-history=true and the field selector
  metadata.name=<uid>, newest first (pkg/services/dashboardversion/dashverimpl reads it so);
* a dry run is the same request with dryRun=All: Grafana runs its admission (mutation and validation) and the
  resourceVersion check, and stores nothing.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from obs.deploy.client import Grafana, GrafanaError
from obs.deploy.live import (
    ANNO_CREATED_BY,
    ANNO_FOLDER,
    ANNO_MESSAGE,
    ANNO_SAVED_FROM_UI,
    ANNO_SOURCE_CHECKSUM,
    ANNO_UPDATED_BY,
    ANNO_UPDATED_TS,
    LiveDashboard,
    LiveFolder,
    Revision,
    manager_of,
)

DASHBOARD_GROUP = "dashboard.grafana.app"
FOLDER_GROUP = "folder.grafana.app"
PAGE_LIMIT = 500  # Grafana's own default page (pkg/storage/unified/resource/server.go List)
HISTORY_LIMIT = 50  # enough to find who saved last and when obs last pushed
# A list's metadata comes first (metav1.ListMeta before items in the Go struct): its continue token can be read
# before the page is parsed
_CONTINUE = re.compile(r'^\s*\{[^\[]{0,2000}?"continue"\s*:\s*"([^"\\]+)"')


def _continue_token(text: str) -> str:
    match = _CONTINUE.match(text[:4096])
    return match.group(1) if match else ""


class ApisStore:
    api = "apis"

    def __init__(self, grafana: Grafana, namespace: str, dashboard_version: str = "v1",
                 folder_version: str = "v1") -> None:
        self.grafana = grafana
        self.namespace = namespace
        self.dashboard_version = dashboard_version
        self.folder_version = folder_version

    def describe(self) -> str:
        return (f"{DASHBOARD_GROUP}/{self.dashboard_version} and {FOLDER_GROUP}/{self.folder_version} "
                f"(/apis, namespace {self.namespace})")

    def _path(self, group: str, version: str, resource: str, name: str | None = None) -> str:
        base = f"/apis/{group}/{version}/namespaces/{self.namespace}/{resource}"
        return f"{base}/{name}" if name else base

    def dashboard_path(self, name: str | None = None, version: str | None = None) -> str:
        return self._path(DASHBOARD_GROUP, version or self.dashboard_version, "dashboards", name)

    def folder_path(self, name: str | None = None) -> str:
        return self._path(FOLDER_GROUP, self.folder_version, "folders", name)

    # ------------------------------------------------------------------ reading

    def _object(self, answer: Any, kind: str, name: str | None, method: str, path: str) -> dict[str, Any]:
        """The answer must be the object asked for: a JSON object of that kind, with metadata (and that name)."""
        metadata = answer.get("metadata") if isinstance(answer, dict) else None
        if (not isinstance(metadata, dict) or answer.get("kind") != kind
                or (name is not None and metadata.get("name") != name) or not isinstance(answer.get("spec"), dict)):
            raise GrafanaError("not_json", f"{method} {path} answered JSON that is not the {kind} "
                               f"{name or ''} obs asked for".replace("  ", " "), method=method, path=path,
                               response=answer)
        return answer

    def dashboard(self, obj: dict[str, Any]) -> LiveDashboard:
        metadata = obj.get("metadata") or {}
        annotations = {str(k): str(v) for k, v in (metadata.get("annotations") or {}).items()}
        conversion = ((obj.get("status") or {}).get("conversion") or {})
        read_version = str(obj.get("apiVersion") or "").rpartition("/")[2]
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        generation = metadata.get("generation")
        return LiveDashboard(
            uid=str(metadata.get("name") or ""),
            title=str(spec.get("title") or ""),
            spec=spec,
            folder_uid=annotations.get(ANNO_FOLDER, ""),
            version=generation if isinstance(generation, int) else None,
            raw=obj,
            resource_version=str(metadata.get("resourceVersion") or ""),
            k8s_uid=str(metadata.get("uid") or ""),
            stored_version=str(conversion.get("storedVersion") or read_version),
            read_version=read_version,
            conversion_error=str(conversion.get("error") or "") if conversion.get("failed") else "",
            manager=manager_of(annotations),
            annotations=annotations,
            labels={str(k): str(v) for k, v in (metadata.get("labels") or {}).items()},
        )

    def list_dashboards(self) -> tuple[list[LiveDashboard], int]:
        """Every dashboard of the namespace, page by page; returns them and the number of pages read.

        A page's continue token sits in its metadata, ahead of the items: the next page is asked for as soon as
        the token is seen, while this one is parsed (the token from the parsed page is the one that counts)."""
        path = self.dashboard_path()
        dashboards: list[LiveDashboard] = []
        pages = 0

        def fetch(token: str) -> Any:
            params = {"limit": PAGE_LIMIT, **({"continue": token} if token else {})}
            return self.grafana.request("GET", path, params=params, raw=True)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="obs-page") as pool:
            answer = fetch("")
            while True:
                pages += 1
                early = _continue_token(answer.text)
                ahead = pool.submit(fetch, early) if early else None
                page = answer.body
                items = page.get("items") if isinstance(page, dict) else None
                if not isinstance(items, list):
                    if answer.body is None:
                        kind = answer.content_type.split(";")[0] or "a body of unknown type"
                        raise GrafanaError("not_json", f"GET {path} answered 200 with {kind}, not JSON", method="GET",
                                           path=path, response=answer.text)
                    raise GrafanaError("not_json", f"GET {path} did not answer a list of dashboards", method="GET",
                                       path=path, response=page)
                dashboards += [self.dashboard(self._object(item, "Dashboard", None, "GET", path)) for item in items]
                token = str(((page.get("metadata") or {}).get("continue")) or "")
                if not token:
                    return dashboards, pages
                answer = ahead.result() if ahead is not None and early == token else fetch(token)

    def get_dashboard(self, uid: str, version: str | None = None) -> LiveDashboard | None:
        path = self.dashboard_path(uid, version)
        answer = self.grafana.get_or_none(path)
        if answer is None:
            return None
        return self.dashboard(self._object(answer, "Dashboard", uid, "GET", path))

    def resolve(self, live: LiveDashboard) -> LiveDashboard:
        """A dashboard whose conversion to the version read failed comes with an empty spec and
        status.conversion.failed (Grafana answers 200, never an error: apps/dashboard/pkg/migration/conversion);
        "the caller should instead fetch the stored version", which is what this does."""
        if not live.conversion_error or not live.stored_version or live.stored_version == live.read_version:
            return live
        stored = self.get_dashboard(live.uid, live.stored_version)
        return stored if stored is not None else live

    def stored_object(self, live: LiveDashboard) -> dict[str, Any]:
        """The object at the version Grafana stores it in (what a backup holds): read again when what obs read
        was Grafana's conversion of it."""
        if not live.converted:
            return live.raw
        if live.stored is None:
            # v2alpha1/v2beta1 (stored by a 12.x UI) are read at v2, which Grafana converts them to losslessly
            version = live.stored_version if live.stored_version in ("v0alpha1", "v1beta1", "v1", "v2") else "v2"
            stored = self.get_dashboard(live.uid, version)
            live.stored = stored.raw if stored is not None else live.raw
        return live.stored

    def history(self, uid: str) -> list[Revision]:
        path = self.dashboard_path()
        answer = self.grafana.request("GET", path, params={
            "labelSelector": "grafana.app/get-history=true", "fieldSelector": f"metadata.name={uid}",
            "limit": HISTORY_LIMIT})
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise GrafanaError("not_json", f"GET {path} (history of {uid}) did not answer a list", method="GET",
                               path=path, response=answer)
        revisions = []
        for item in items:
            live = self.dashboard(item) if isinstance(item, dict) else None
            if live is None:
                continue
            annotations = live.annotations
            revisions.append(Revision(
                version=live.version,
                who=annotations.get(ANNO_UPDATED_BY) or annotations.get(ANNO_CREATED_BY, "?"),
                when=annotations.get(ANNO_UPDATED_TS) or str((item.get("metadata") or {}).get("creationTimestamp")
                                                            or "?"),
                message=annotations.get(ANNO_MESSAGE, ""),
                stored_version=live.stored_version,
                from_ui=ANNO_SAVED_FROM_UI in annotations,
                checksum=annotations.get(ANNO_SOURCE_CHECKSUM, ""),
                manager=live.manager))
        return revisions

    # ------------------------------------------------------------------ writing

    def save_dashboard(self, uid: str, spec: dict[str, Any], annotations: dict[str, str], labels: dict[str, str],
                       live: LiveDashboard | None, *, dry_run: bool) -> LiveDashboard:
        """Create (POST) or update (PUT with the resourceVersion that was read). Raises GrafanaError: a 409
        Conflict when it changed since, AlreadyExists when it appeared since."""
        metadata: dict[str, Any] = {"name": uid, "annotations": annotations}
        if labels:
            metadata["labels"] = labels
        if live is not None:
            metadata["resourceVersion"] = _read_version(live, "PUT", self.dashboard_path(uid))
        body = {"apiVersion": f"{DASHBOARD_GROUP}/{self.dashboard_version}", "kind": "Dashboard",
                "metadata": metadata, "spec": spec}
        params = {"dryRun": "All"} if dry_run else None
        if live is None:
            method, path = "POST", self.dashboard_path()
        else:
            method, path = "PUT", self.dashboard_path(uid)
        answer = self.grafana.request(method, path, json=body, params=params)
        saved = self.dashboard(self._object(answer, "Dashboard", uid, method, path))
        if not dry_run and not saved.resource_version:
            raise GrafanaError("not_json", f"{method} {path} answered a dashboard without a resourceVersion: the "
                               "write is not proven", method=method, path=path, response=answer)
        return saved

    def delete_dashboard(self, live: LiveDashboard, *, dry_run: bool) -> None:
        """Delete only the object as it was read (uid and resourceVersion preconditions)."""
        path = self.dashboard_path(live.uid)
        body = {"kind": "DeleteOptions", "apiVersion": "v1",
                "preconditions": {"uid": live.k8s_uid, "resourceVersion": _read_version(live, "DELETE", path)}}
        answer = self.grafana.request("DELETE", path, json=body, params={"dryRun": "All"} if dry_run else None)
        # genericregistry.Store: a Success Status, or the deleted object
        if answer is not None and not (isinstance(answer, dict) and (
                answer.get("status") == "Success" or answer.get("kind") == "Dashboard")):
            raise GrafanaError("not_json", f"DELETE {path} answered JSON that does not say it deleted {live.uid}",
                               method="DELETE", path=path, response=answer)

    # ------------------------------------------------------------------ folders

    def folder(self, obj: dict[str, Any]) -> LiveFolder:
        metadata = obj.get("metadata") or {}
        annotations = {str(k): str(v) for k, v in (metadata.get("annotations") or {}).items()}
        generation = metadata.get("generation")
        return LiveFolder(uid=str(metadata.get("name") or ""), title=str((obj.get("spec") or {}).get("title") or ""),
                          version=generation if isinstance(generation, int) else None, raw=obj,
                          resource_version=str(metadata.get("resourceVersion") or ""),
                          manager=manager_of(annotations), annotations=annotations)

    def get_folder(self, uid: str) -> LiveFolder | None:
        path = self.folder_path(uid)
        answer = self.grafana.get_or_none(path)
        return None if answer is None else self.folder(self._object(answer, "Folder", uid, "GET", path))

    def save_folder(self, uid: str, title: str, annotations: dict[str, str], live: LiveFolder | None, *,
                    dry_run: bool) -> LiveFolder:
        metadata: dict[str, Any] = {"name": uid, "annotations": annotations}
        if live is not None:
            metadata["resourceVersion"] = _read_version(live, "PUT", self.folder_path(uid))
            parent = live.annotations.get(ANNO_FOLDER)
            if parent:  # keep the folder where it is
                metadata["annotations"] = {**annotations, ANNO_FOLDER: parent}
        body = {"apiVersion": f"{FOLDER_GROUP}/{self.folder_version}", "kind": "Folder", "metadata": metadata,
                "spec": {"title": title}}
        method, path = ("POST", self.folder_path()) if live is None else ("PUT", self.folder_path(uid))
        answer = self.grafana.request(method, path, json=body, params={"dryRun": "All"} if dry_run else None)
        return self.folder(self._object(answer, "Folder", uid, method, path))


def _read_version(live: LiveDashboard | LiveFolder, method: str, path: str) -> str:
    """The resourceVersion an overwrite or delete is conditional on. An empty one is no condition at all (the
    apiserver then updates or deletes whatever is there), so an object read without one is not written."""
    if not live.resource_version:
        raise GrafanaError("not_json", f"{method} {path} not sent: Grafana listed {live.uid} without a "
                           "resourceVersion, and a write without one would overwrite unconditionally; nothing written",
                           method=method, path=path)
    return live.resource_version


def client_annotations(annotations: dict[str, str]) -> dict[str, str]:
    """What a client sends back of an object's annotations: not what the server sets, not the UI's marker."""
    from obs.deploy.live import SERVER_ANNOTATIONS

    return {k: v for k, v in annotations.items() if k not in SERVER_ANNOTATIONS + (ANNO_SAVED_FROM_UI,)}
