"""Dashboard storage, shared by /api and /apis.

Grafana 13 (`k8s` mode) keeps each dashboard as a Kubernetes-style object in unified storage, in the API
version it was written at, and the legacy /api is a client of it (pkg/api/dashboard.go saveDashboardViaK8s).
Grafana 12 mode keeps the legacy SQL behaviour (every save is a new version). A record holds both views:

    rec["api_version"], rec["spec"]    the object as stored (classic JSON for v0alpha1/v1, a v2 spec for v2)
    rec["data"]                        the classic JSON /api serves (converted from v2 when stored as v2),
                                       with id, uid and version put back
    rec["version"]                     12 mode: the legacy version; k8s mode: metadata.generation
    rec["resource_version"]            unified storage's resource version (k8s mode)
    rec["annotations"], rec["labels"]  what clients set (server-set annotations are computed)
    rec["versions"]                    history: one entry per write that changed the stored bytes
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from . import k8s
from .auth import _Identity
from .common import MAX_UID_LEN, UID_RE, utc_now
from .conversion import LATEST_SCHEMA_VERSION, v1_to_v2, v2_to_v1
from .replies import _Reply
from .slugify import slugify

CLASSIC = ("v0alpha1", "v1beta1", "v1")
V2 = ("v2",)
SERVED = CLASSIC + V2 + ("v2beta1", "v2alpha1")  # the emulator converts to and from v2 only, not v2beta1/v2alpha1
# pkg/apimachinery/utils/manager.go ManagerKind values (the newest variant)
MANAGER_KINDS = ("repo", "terraform", "kubectl", "plugin", "grafana", "classic-file-provisioning",
                 "classic-api-provisioning", "classic-converted-prometheus")
V2_SCHEMA = Path(__file__).resolve().parents[2] / "obs" / "schemas" / "grafana-13.2.3" / "dashboard-v2.schema.json"


@cache
def _v2_validator() -> Any:
    """Grafana 13.2.3's own v2 dashboard schema (generated from @grafana/schema@13.2.3, pinned in the repository):
    the Strict field validation of a v2 write."""
    import jsonschema

    return jsonschema.Draft7Validator(json.loads(V2_SCHEMA.read_text()))


def classic_spec(data: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in data.items() if k not in ("id", "uid", "version")}


class DashboardStoreMixin:
    # ------------------------------------------------------------------ views

    def _manager(self, rec: dict[str, Any]) -> dict[str, Any] | None:
        # pkg/apimachinery/utils/meta.go GetManagerProperties: managed only when managerId is set;
        # AllowsEdits / Suspended only for the exact string "true"
        annotations = rec["annotations"]
        identity = annotations.get(k8s.ANNO_MANAGER_ID, "")
        if not identity:
            return None
        kind = annotations.get(k8s.ANNO_MANAGER_KIND, "")
        return {"kind": kind if kind in MANAGER_KINDS else "", "identity": identity,
                "allows_edits": annotations.get(k8s.ANNO_MANAGER_ALLOWS_EDITS) == "true",
                "suspended": annotations.get(k8s.ANNO_MANAGER_SUSPENDED) == "true"}

    def _classic_view(self, rec: dict[str, Any]) -> dict[str, Any]:
        """The stored spec as classic JSON (Grafana's v2 -> v1 conversion for a v2 object)."""
        if rec["api_version"] in V2:
            return v2_to_v1(rec["spec"])
        return copy.deepcopy(rec["spec"])

    def _refresh_data(self, rec: dict[str, Any]) -> None:
        # pkg/services/dashboards/service/dashboard_service.go unstructuredToLegacyDashboardWithUsers:
        # spec.uid = name, spec.version = generation, id = the deprecatedInternalID label
        data = self._classic_view(rec)
        data["uid"] = rec["uid"]
        data["version"] = rec["version"]
        data["id"] = rec["id"]
        rec["data"] = data
        rec["title"] = str(data.get("title") or "")
        rec["slug"] = slugify(rec["title"])

    def _spec_at(self, stored_version: str, spec: dict[str, Any], version: str) -> tuple[dict[str, Any], Any]:
        """The spec read at `version`, and status.conversion. apps/dashboard/pkg/migration/conversion:
        a successful conversion always reports {failed: false, storedVersion}; a failed one answers 200 with an
        empty spec and {failed: true, storedVersion, error} (no HTTP error)."""
        if stored_version == version or (stored_version in CLASSIC and version in CLASSIC
                                          and {stored_version, version} == {"v1", "v1beta1"}):
            return spec, None  # not copied: every reply is serialised before the lock is released
        try:
            if stored_version in CLASSIC and version in CLASSIC:
                # Convert_V0_to_V1beta1: the spec copied, then migrated to the latest schemaVersion. The emulator
                # runs no migration: a spec already at the latest one is what Grafana answers, an older one is
                # answered as a failed conversion (Grafana would migrate it), not as a wrong spec
                converted = spec
                if int(spec.get("schemaVersion") or 0) < LATEST_SCHEMA_VERSION:
                    raise ValueError(f"schema_version_migration_error: the emulator does not run Grafana's schema "
                                     f"migrations (schemaVersion {spec.get('schemaVersion')})")
            elif stored_version in CLASSIC and version in V2:
                converted = v1_to_v2(spec)
            elif stored_version in V2 and version in CLASSIC:
                converted = v2_to_v1(spec)
            else:
                raise ValueError(f"conversion from {stored_version} to {version} is not emulated")
        except ValueError as error:
            default: dict[str, Any] = {"layout": {"kind": "GridLayout", "spec": {}}} if version in V2 else {}
            return default, {"failed": True, "storedVersion": stored_version, "error": str(error)}
        return converted, {"failed": False, "storedVersion": stored_version}

    def _object(self, snapshot: dict[str, Any], version: str) -> dict[str, Any]:
        """A stored snapshot (current object or history entry) as the k8s API answers it at `version`."""
        spec, conversion = self._spec_at(snapshot["api_version"], snapshot["spec"], version)
        annotations = dict(snapshot["annotations"])
        annotations[k8s.ANNO_CREATED_BY] = snapshot["created_by_id"]
        if snapshot.get("updated_by_id"):
            annotations[k8s.ANNO_UPDATED_BY] = snapshot["updated_by_id"]
            annotations[k8s.ANNO_UPDATED_TS] = snapshot["updated_ts"]
        if snapshot["folder_uid"]:
            annotations[k8s.ANNO_FOLDER] = snapshot["folder_uid"]
        labels = dict(snapshot["labels"])
        if snapshot["id"]:
            labels[k8s.LABEL_INTERNAL_ID] = str(snapshot["id"])
        return {
            "kind": "Dashboard",
            "apiVersion": f"{k8s.DASHBOARD_GROUP}/{version}",
            "metadata": {
                "name": snapshot["uid"],
                "namespace": self.namespace,
                "uid": snapshot["k8s_uid"],
                "resourceVersion": str(snapshot["resource_version"]),
                "generation": snapshot["version"],
                "creationTimestamp": snapshot["created"],
                "labels": labels,
                "annotations": dict(sorted(annotations.items())),
            },
            "spec": spec,
            "status": {"conversion": conversion} if conversion else {},
        }

    def _stored_size(self, snapshot: dict[str, Any]) -> int:
        """Bytes of the stored value (what a list page is cut by), computed once per resource version."""
        cached = snapshot.get("_size")
        if cached and cached[0] == snapshot["resource_version"]:
            return cached[1]
        size = k8s.stored_size(self._object(snapshot, snapshot["api_version"]))
        snapshot["_size"] = (snapshot["resource_version"], size)
        return size

    def _snapshot(self, rec: dict[str, Any]) -> dict[str, Any]:
        keys = ("id", "uid", "k8s_uid", "api_version", "spec", "annotations", "labels", "folder_uid", "version",
                "resource_version", "created", "created_by_id", "updated_by_id", "updated_ts")
        return {key: copy.deepcopy(rec.get(key)) for key in keys}

    def _add_version(self, rec: dict[str, Any], *, parent: int, message: str, login: str) -> None:
        entry = self._snapshot(rec)
        entry.update(id=self._next_version_id, dashboard_id=rec["id"], parentVersion=parent, restoredFrom=0,
                     created=rec["updated"], createdBy=login, message=message, data=copy.deepcopy(rec["data"]))
        entry["version"] = rec["version"]
        rec["versions"].append(entry)
        self._next_version_id += 1

    # ------------------------------------------------------------------ 12.x legacy store

    def _new_record(self, uid: str, folder_uid: str, login: str) -> dict[str, Any]:
        now = utc_now()
        dash_id = self._next_dash_id
        self._next_dash_id += 1
        return {"id": dash_id, "uid": uid, "k8s_uid": str(uuid.uuid4()), "title": "", "slug": "",
                "folder_uid": folder_uid, "version": 1, "resource_version": self._rv.next(), "api_version": "v0alpha1",
                "spec": {}, "annotations": {}, "labels": {}, "created": now, "updated": now, "created_by": login,
                "updated_by": login, "created_by_id": self._identity_id(login), "updated_by_id": "",
                "updated_ts": "", "provisioned": False, "allow_ui_updates": False, "data": {}, "versions": []}

    def _insert_dashboard(self, data: dict[str, Any], folder_uid: str, message: str, login: str) -> dict[str, Any]:
        # src: pkg/services/dashboards/database/database.go saveDashboard (new: version 1,
        # created/updated now, version row with parentVersion 0); 12.x trims the title
        # (BuildSaveDashboardCommand strings.TrimSpace)
        rec = self._new_record(data["uid"], folder_uid, login)
        data = dict(data, title=str(data.get("title") or "").strip())
        rec["spec"] = classic_spec(data)
        if message:
            rec["annotations"][k8s.ANNO_MESSAGE] = message
        self._refresh_data(rec)
        self._add_version(rec, parent=0, message=message, login=login)
        self._dashboards[rec["uid"]] = rec
        return rec

    def _update_dashboard(
        self, rec: dict[str, Any], data: dict[str, Any], folder_uid: str, message: str, login: str
    ) -> None:
        # src: pkg/services/dashboards/database/database.go saveDashboard (update: version + 1, every save)
        parent = rec["version"]
        rec["version"] = parent + 1
        rec["spec"] = classic_spec(dict(data, title=str(data.get("title") or "").strip()))
        rec["api_version"] = "v0alpha1"
        rec["annotations"] = {k8s.ANNO_MESSAGE: message} if message else {}
        rec.update(folder_uid=folder_uid, updated=utc_now(), updated_by=login, resource_version=self._rv.next(),
                   updated_by_id=self._identity_id(login), updated_ts=utc_now())
        self._refresh_data(rec)
        self._add_version(rec, parent=parent, message=message, login=login)

    # ------------------------------------------------------------------ 13.x k8s store

    def _identity_id(self, login: str) -> str:
        # grafana.app/createdBy / updatedBy hold the identity's type:uid (authlib); the emulator uses the login
        # as the uid, so a person shows as user:alice and the token as service-account:sa-1-emulator
        return f"service-account:{login}" if login.startswith("sa-") else f"user:{login}"

    def _mutate(self, version: str, spec: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
        # pkg/registry/apis/dashboard/mutate.go mutateDashboard: v0/v1 lose spec.uid/version/id (a numeric id
        # moves to the deprecatedInternalID label), v1 is migrated to the latest schemaVersion (the emulator
        # only raises the number: obs and its tests write 42 already), BOMs are stripped from every string;
        # v2 gets a GridLayout when no layout kind is set.
        spec = k8s.strip_bom(copy.deepcopy(spec))
        if version in CLASSIC:
            spec.pop("uid", None)
            spec.pop("version", None)
            legacy_id = spec.pop("id", None)
            if isinstance(legacy_id, int | float) and not isinstance(legacy_id, bool) and legacy_id > 0:
                labels[k8s.LABEL_INTERNAL_ID] = str(int(legacy_id))
            if version != "v0alpha1" and int(spec.get("schemaVersion") or 0) < LATEST_SCHEMA_VERSION:
                # migration.Migrate to schemaversion.LATEST_VERSION: not emulated (see _spec_at); such a write
                # is refused below, as a migration error is in Strict mode
                spec["__emulator_unmigrated__"] = spec.get("schemaVersion")
        elif not (spec.get("layout") or {}).get("kind"):
            spec["layout"] = {"kind": "GridLayout", "spec": {}}
        return spec

    def _validate(self, version: str, name: str, spec: dict[str, Any], annotations: dict[str, str],
                  field_validation: str) -> _Reply | None:
        # pkg/registry/apis/dashboard/mutate.go getFieldValidationMode (empty = Strict) + register.go
        # validateCreate/validateUpdate: schema errors are 422 Invalid in Strict mode, then
        # DashboardServiceImpl.ValidateBasicDashboardProperties (400 BadRequest; the title is not trimmed)
        if "__emulator_unmigrated__" in spec:
            # mutate.go: a failed migration is 422 Invalid in Strict mode (the emulator fails every one)
            return k8s.invalid(f"Dashboard.{k8s.DASHBOARD_GROUP}", name, [{
                "field": "spec", "message": "the emulator does not run Grafana's schema migrations (schemaVersion "
                f"{spec['__emulator_unmigrated__']} < {LATEST_SCHEMA_VERSION})"}])
        if version in V2 and field_validation in ("", "Strict"):
            errors = sorted(_v2_validator().iter_errors(spec), key=lambda e: list(e.absolute_path))
            if errors:
                causes = [{"field": "spec" + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}"
                                                     for p in e.absolute_path), "message": e.message[:200]}
                          for e in errors[:5]]
                return k8s.invalid(f"Dashboard.{k8s.DASHBOARD_GROUP}", name, causes)
        title = spec.get("title") if isinstance(spec.get("title"), str) else ""
        if title == "":
            return k8s.bad_request("Dashboard title cannot be empty")
        if len(title) > 5000:
            return k8s.bad_request("Dashboard title cannot contain more than 5 000 characters")
        if len(annotations.get(k8s.ANNO_MESSAGE, "")) > 500:
            return k8s.bad_request("message too long, max 500 characters")
        if not UID_RE.match(name):
            return k8s.bad_request("uid contains illegal characters")
        if len(name) > MAX_UID_LEN:
            return k8s.bad_request("uid too long, max 40 characters")
        return None

    def _check_manager_change(self, old: dict[str, Any] | None, annotations: dict[str, str],
                              ident: _Identity) -> _Reply | None:
        # pkg/storage/unified/apistore/managed.go checkManagerPropertiesOnUpdateSpec / enforceManagerProperties
        # (run when the generation changes): a repository's resources are written through the provisioning
        # API only; the kind and the identity of a manager cannot be changed in one write.
        new_kind = annotations.get(k8s.ANNO_MANAGER_KIND, "")
        new_id = annotations.get(k8s.ANNO_MANAGER_ID, "")
        if old is not None:
            before = self._manager(old)
            if before and new_id:
                if before["kind"] != (new_kind if new_kind in MANAGER_KINDS else ""):
                    return k8s.status(403, "Forbidden", "Cannot change resource manager kind; remove the existing "
                                      "manager first, then add the new one")
                if before["identity"] != new_id and before["kind"] != "terraform":
                    return k8s.status(403, "Forbidden", "Cannot change resource manager identity; remove the "
                                      "existing manager first, then add the new one")
            if before and before["kind"] == "repo":
                return k8s.status(403, "Forbidden", "this resource is managed by a repository")
        if new_kind == "classic-file-provisioning" and new_id and ident.kind != "service":
            return k8s.status(403, "Forbidden", "Can not set the classic-file-provisioning resource manager")
        return None

    def _k8s_save(self, ident: _Identity, *, name: str, version: str, spec: dict[str, Any], folder_uid: str,
                  annotations: dict[str, str], labels: dict[str, str], resource_version: str, create: bool,
                  dry_run: bool = False, field_validation: str = "", message_for_history: str | None = None,
                  ) -> dict[str, Any] | _Reply:
        """Create (create=True, POST) or update (PUT: creates a missing name, AllowCreateOnUpdate) a dashboard
        the way unified storage does. Returns the record (or, in a dry run, a would-be record) or a Status."""
        annotations = {k: str(v) for k, v in annotations.items() if k not in k8s.SERVER_ANNOTATIONS + (
            k8s.ANNO_FOLDER,)}
        labels = {k: str(v) for k, v in labels.items() if k != k8s.LABEL_INTERNAL_ID}
        new_labels: dict[str, str] = {}
        spec = self._mutate(version, spec, new_labels)
        problem = self._validate(version, name, spec, annotations, field_validation)
        if problem is not None:
            return problem
        rec = self._dashboards.get(name)
        if create and rec is not None:
            # pkg/storage/unified/apistore/store.go Storage.Create: storage.NewKeyExistsError -> AlreadyExists
            return k8s.already_exists(k8s.DASHBOARD_GROUP, "dashboards", name)
        if rec is None and resource_version:
            # prepareObjectForStorage: storage.ErrResourceVersionSetOnCreate
            return k8s.status(500, "InternalError", "resourceVersion should not be set on objects to be created")
        if rec is not None and resource_version and resource_version != str(rec["resource_version"]):
            # k8s.io/apiserver genericregistry Store.Update: a stale resourceVersion is a 409 Conflict
            return k8s.conflict(k8s.DASHBOARD_GROUP, "dashboards", name, k8s.STALE)
        moved = folder_uid and (rec is None or folder_uid != rec["folder_uid"])
        if not dry_run and moved and folder_uid not in self._folders:
            # register.go validateCreate/validateUpdate: the folder must exist (skipped in a dry run)
            return k8s.not_found(k8s.FOLDER_GROUP, "folders", folder_uid)
        annotations.pop(k8s.ANNO_GRANT_PERMISSIONS, None)  # prepareObjectForStorage consumes it
        problem = self._check_manager_change(rec, annotations, ident)
        if problem is not None:
            return problem
        login = ident.login
        if rec is None:
            # prepareObjectForStorage: generation 1, createdBy = the caller, no updatedBy/updatedTimestamp;
            # RequireDeprecatedInternalID: every dashboard gets a deprecatedInternalID label
            new = self._new_record(name, folder_uid, login)
            if not dry_run:
                self._dashboards[name] = new
            else:
                self._next_dash_id -= 1
            if new_labels.get(k8s.LABEL_INTERNAL_ID):
                new["id"] = int(new_labels[k8s.LABEL_INTERNAL_ID])
            new.update(api_version=version, spec=spec, annotations=annotations, labels=labels)
            self._refresh_data(new)
            if not dry_run:
                self._add_version(new, parent=0, message=annotations.get(k8s.ANNO_MESSAGE, "")
                                  if message_for_history is None else message_for_history, login=login)
            return new
        # prepareObjectForUpdate: the generation (and updatedBy / updatedTimestamp) moves only when the folder
        # or the spec changes; the old spec is compared as read at the version of this request
        old_spec, _ = self._spec_at(rec["api_version"], rec["spec"], version)
        changed = folder_uid != rec["folder_uid"] or spec != old_spec
        same_bytes = (version == rec["api_version"] and spec == rec["spec"] and annotations == rec["annotations"]
                      and labels == rec["labels"] and folder_uid == rec["folder_uid"])
        target = copy.deepcopy(rec) if dry_run else rec
        if same_bytes:
            # pkg/storage/unified/apistore/store.go GuaranteedUpdate: "Only update (for real) if the bytes have
            # changed" -- nothing written, the resource version stays
            return target
        parent = rec["version"]
        target.update(api_version=version, spec=spec, annotations=annotations, labels=labels, folder_uid=folder_uid)
        if dry_run:
            self._refresh_data(target)
            return target
        if changed:
            target["version"] = parent + 1
            target["updated"] = utc_now()
            target["updated_by"] = login
            target["updated_by_id"] = self._identity_id(login)
            target["updated_ts"] = target["updated"]
        target["resource_version"] = self._rv.next()
        self._refresh_data(target)
        self._add_version(target, parent=parent, login=target["updated_by"],
                          message=annotations.get(k8s.ANNO_MESSAGE, "") if message_for_history is None
                          else message_for_history)
        return target

    # ------------------------------------------------------------------ a person in the 13.x UI

    def _ui_save(self, uid: str, changes: dict[str, Any] | Callable[[dict[str, Any]], Any] | None, *,
                 message: str, user: str) -> int:
        """A save from the 13.x UI: with dynamic dashboards (dashboardNewLayouts, on by default in 13) the
        dashboard is opened as v2 (Grafana's own v1 -> v2 conversion) and saved through /apis as v2, keeping the
        metadata the UI read (annotations included) and marking it grafana.app/saved-from-ui."""
        rec = self._dashboards[uid]
        view = classic_spec(rec["data"])
        if callable(changes):
            changes(view)
        elif changes:
            view.update(copy.deepcopy(changes))
        version = "v2" if self.new_layouts else "v1"
        spec = v1_to_v2(view) if version == "v2" else view
        annotations = dict(rec["annotations"])
        annotations[k8s.ANNO_SAVED_FROM_UI] = self.version
        if message:
            annotations[k8s.ANNO_MESSAGE] = message
        else:
            annotations.pop(k8s.ANNO_MESSAGE, None)
        person = _Identity("user", user, "Admin")
        result = self._k8s_save(person, name=uid, version=version, spec=spec, folder_uid=rec["folder_uid"],
                                annotations=annotations, labels=dict(rec["labels"]),
                                resource_version=str(rec["resource_version"]), create=False)
        if isinstance(result, _Reply):
            raise ValueError(f"UI save refused: {result.body.decode()}")
        return result["version"]
