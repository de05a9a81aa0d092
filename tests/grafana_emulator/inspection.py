"""What tests use besides HTTP: seeding state, reading it back, a person's UI edit, and the request log."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import k8s
from .common import short_uid
from .conversion import v1_to_v2
from .dashboard_store import V2, classic_spec


@dataclass
class RequestRecord:
    """One request as seen by the emulator (faulted and dropped ones included)."""

    method: str
    path: str  # path below the sub-path, e.g. "/api/dashboards/db"
    status: int | None  # None: connection dropped without a response
    query: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None  # parsed JSON request body, if any
    fault: str | None = None  # "status" / "drop" when an injected fault answered
    started: float = 0.0  # time.monotonic() when the request arrived

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")



class InspectionMixin:
    # seeding (no HTTP, not logged) -------------------------------------------------

    def add_folder(self, uid: str, title: str, parent_uid: str | None = None) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._create_folder(uid, title, parent_uid or "", "admin"))

    def add_dashboard(
        self,
        dashboard: dict[str, Any],
        folder_uid: str = "",
        *,
        provisioned: bool = False,
        allow_ui_updates: bool = False,
        message: str = "",
        manager: tuple[str, str] | tuple[str, str, bool] | None = None,
        api_version: str = "v0alpha1",
    ) -> dict[str, Any]:
        """Store a dashboard as if created: by default as the legacy /api creates it (v0alpha1 in 13.x);
        `api_version="v2"` stores the v2 form of `dashboard` (Grafana's own conversion), as a save from the
        13.x UI does. provisioned=True: as if from a provisioning file (13.x: managed by
        classic-file-provisioning); manager=(kind, identity[, allows_edits]): managed by another tool
        (grafana.app/managedBy, managerId, managerAllowsEdits)."""
        with self._lock:
            data = copy.deepcopy(dashboard)
            uid = (data.get("uid") or "").strip() or short_uid()
            data["uid"] = uid
            if uid in self._dashboards:
                raise ValueError(f"dashboard {uid} exists")
            if folder_uid and folder_uid not in self._folders:
                raise ValueError(f"folder {folder_uid} does not exist")
            rec = self._insert_dashboard(data, folder_uid, message, "admin")
            rec["provisioned"] = provisioned
            rec["allow_ui_updates"] = allow_ui_updates
            if self.k8s:
                rec["title"] = str(dashboard.get("title") or "")  # 13.x does not trim
                rec["spec"] = self._mutate(api_version, classic_spec(dict(data, title=rec["title"])), {})
                if "__emulator_unmigrated__" in rec["spec"]:
                    raise ValueError("the emulator stores v1 dashboards at schemaVersion 42 only (it runs no "
                                     "migration): seed an older one as v0alpha1, as /api stores it")
                if api_version in V2:
                    rec["spec"] = v1_to_v2(rec["spec"])
                rec["api_version"] = api_version
                if provisioned:  # pkg/services/provisioning/dashboards: ManagerKindClassicFP
                    manager = ("classic-file-provisioning", "dashboards", allow_ui_updates)
                if manager:
                    kind, identity, *edits = manager
                    rec["annotations"].update({k8s.ANNO_MANAGER_KIND: kind, k8s.ANNO_MANAGER_ID: identity})
                    if edits and edits[0]:
                        rec["annotations"][k8s.ANNO_MANAGER_ALLOWS_EDITS] = "true"
                self._refresh_data(rec)
                rec["versions"].clear()
                self._next_version_id -= 1
                self._add_version(rec, parent=0, message=message, login="admin")
            return copy.deepcopy(rec["data"])

    def add_datasource(self, datasource: dict[str, Any], *, read_only: bool = False) -> dict[str, Any]:
        """Store a data source; read_only=True mimics a provisioned one (editable: false)."""
        with self._lock:
            rec = self._new_datasource(datasource)
            rec["readOnly"] = read_only
            self._datasources[rec["uid"]] = rec
            return copy.deepcopy(rec)

    # inspection ---------------------------------------------------------------------

    def dashboard(self, uid: str) -> dict[str, Any] | None:
        """The stored dashboard JSON (with server-set id/uid/version), or None."""
        with self._lock:
            rec = self._dashboards.get(uid)
            return copy.deepcopy(rec["data"]) if rec else None

    def dashboard_record(self, uid: str) -> dict[str, Any] | None:
        """Stored record: id, uid, version, folder_uid, created, updated, provisioned, versions..."""
        with self._lock:
            rec = self._dashboards.get(uid)
            return copy.deepcopy(rec) if rec else None

    @property
    def dashboard_uids(self) -> list[str]:
        with self._lock:
            return sorted(self._dashboards)

    def folder(self, uid: str) -> dict[str, Any] | None:
        with self._lock:
            rec = self._folders.get(uid)
            return copy.deepcopy(rec) if rec else None

    def datasource(self, uid: str) -> dict[str, Any] | None:
        with self._lock:
            rec = self._datasources.get(uid)
            return copy.deepcopy(rec) if rec else None

    # UI edit ------------------------------------------------------------------------

    def ui_edit(
        self,
        uid: str,
        changes: dict[str, Any] | Callable[[dict[str, Any]], Any] | None = None,
        *,
        message: str = "",
        user: str = "admin",
    ) -> int:
        """Change a stored dashboard as a person saving it in the UI would; returns the new version.

        ``changes`` is a dict merged into the dashboard JSON, or a function mutating it in place (both on
        the classic JSON the dashboard shows as). 12.x: a new version, stored as classic JSON. 13.x: a save
        from the UI through /apis, stored as v2 (see DashboardStoreMixin._ui_save); no changes at all is a
        save that only converts it.
        """
        with self._lock:
            if self.k8s:
                return self._ui_save(uid, changes, message=message, user=user)
            rec = self._dashboards[uid]
            data = copy.deepcopy(rec["data"])
            if callable(changes):
                changes(data)
            elif changes:
                data.update(copy.deepcopy(changes))
            self._update_dashboard(rec, data, rec["folder_uid"], message, user)
            return rec["version"]

    def move_dashboard(self, uid: str, folder_uid: str, *, user: str = "admin") -> None:
        """A person moves the dashboard to another folder (13.x: a write of the folder annotation)."""
        with self._lock:
            rec = self._dashboards[uid]
            if self.k8s:
                from .auth import _Identity

                result = self._k8s_save(_Identity("user", user, "Admin"), name=uid, version=rec["api_version"],
                                        spec=copy.deepcopy(rec["spec"]), folder_uid=folder_uid,
                                        annotations=dict(rec["annotations"]), labels=dict(rec["labels"]),
                                        resource_version="", create=False)
                assert isinstance(result, dict), result
            else:
                self._update_dashboard(rec, copy.deepcopy(rec["data"]), folder_uid, "", user)

    def rename_folder(self, uid: str, title: str, *, user: str = "admin") -> None:
        with self._lock:
            f = self._folders[uid]
            self._change_folder(f, title, f["description"], f["parent_uid"], user)

    def edit_datasource(self, uid: str, **changes: Any) -> int:
        """A person saves the datasource in the UI (a PUT with its current version); returns the new version."""
        with self._lock:
            rec = self._datasources[uid]
            rec.update(copy.deepcopy(changes))
            rec["version"] += 1
            return rec["version"]

    def dashboard_object(self, uid: str, version: str = "v1") -> dict[str, Any] | None:
        """The dashboard as GET /apis/dashboard.grafana.app/<version>/... answers it."""
        with self._lock:
            rec = self._dashboards.get(uid)
            return copy.deepcopy(self._object(rec, version)) if rec else None

    def stored_version(self, uid: str) -> str:
        with self._lock:
            return self._dashboards[uid]["api_version"]

    # request log ----------------------------------------------------------------------

    def count(self, method: str | None = None, path: str | None = None, *, prefix: str | None = None) -> int:
        """Number of logged requests matching method / exact path / path prefix."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method)
                and (path is None or r.path == path)
                and (prefix is None or r.path.startswith(prefix))
            )

    @property
    def writes(self) -> list[RequestRecord]:
        """Logged non-GET/HEAD requests (including those answered by injected faults)."""
        with self._lock:
            return [r for r in self.requests if r.is_write]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def _log(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

