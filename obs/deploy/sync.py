"""Deploy the compiled datasources, folder and dashboards to a running Grafana, and say what a deploy would
change (`obs push`, `obs diff --grafana-url`).

Order: everything is compiled and validated first (nothing is sent if anything is invalid); then Grafana is
asked what it is and what it serves (connect.py); then everything is read at once (the datasource list, the
folder, the dashboards: on /apis a few list pages, on /api one GET each); then the writes, in order:
datasources, the folder, the dashboards, and with `--prune` the deletion of dashboards obs manages that the code
no longer has. The first write of a push is sent alone: a token that may not write stops the push there.

Idempotence: a dashboard is written only when what Grafana holds differs from the compiled JSON in what obs
manages (the spec and the folder), or lacks obs's manager annotations. Server-set metadata (generation,
resourceVersion, createdBy/updatedBy/updatedTimestamp, the deprecatedInternalID label) never counts.

Drift (a dashboard changed in Grafana since obs pushed it). On /apis every obs write carries the manager
annotations (grafana.app/managedBy obs, managerId, managerAllowsEdits), grafana.app/sourcePath,
grafana.app/sourceChecksum (the hash of the JSON obs wrote) and the message `obs push <sha> content=sha256:<hash>`.
A live dashboard is obs's own last write when it is managed by this obs and its spec hashes to its checksum;
anything else is drift, attributed from the history Grafana keeps (the get-history list: who saved, when, with
which message, from the UI or not, stored as v2 or not). On /api the history entry of the live version is read
and its message's hash compared. Drift is backed up (backup.py) before it is overwritten.

A dashboard saved in the 13.x UI is stored as dashboard.grafana.app/v2. A v1 read returns Grafana's conversion
of it, and that conversion is lossy (rows come back with id -1, panels in an expanded row one unit higher, the
panel datasource gone: conversion/v2alpha1_to_v1beta1.go), so comparing it with the compiled v1 would call
every converted dashboard edited. obs compares like with like instead: a dashboard stored as v2 is read again at
v2 (its stored version) and compared with the v2 form of the compiled dashboard (obs.compile.dashboard_v2, which
writes it as Grafana's own conversion does). Equal: Grafana only converted it, no edit, no backup (it is
rewritten in the schema the project deploys). Different: a person changed it.

Overwrites are optimistic: on /apis with the resourceVersion that was read (a save in between is a 409
Conflict), on /api with the version and overwrite: false. obs then reads it again: if Grafana holds exactly
what obs meant to write (its own earlier attempt whose answer was lost) it counts as done; otherwise that object
fails with "changed in Grafana during the push; nothing overwritten". Deletes carry preconditions on /apis; on
/api the dashboard is read again just before.

Objects managed by another tool (a manager annotation that is not this obs's, or a file provisioned dashboard)
are reported `skipped (managed by <kind>)` and never written. A datasource Grafana marks read-only is skipped.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obs.compile.dashboard_json import DashboardShapeError
from obs.compile.dashboard_v2 import from_v2_spec, to_v2_spec
from obs.core.paths import BACKUP_DIR, dashboard_file
from obs.deploy.apis import ApisStore, client_annotations
from obs.deploy.backup import write_backup
from obs.deploy.client import Grafana, GrafanaError
from obs.deploy.compare import (
    MARKER,
    MESSAGE_PREFIX,
    content_hash,
    dashboard_change_lines,
    datasource_changes,
    same_dashboard,
)
from obs.deploy.connect import Server, connect
from obs.deploy.desired import Desired
from obs.deploy.legacy import LegacyStore
from obs.deploy.live import (
    ANNO_FOLDER,
    ANNO_MANAGER_ALLOWS_EDITS,
    ANNO_MANAGER_ID,
    ANNO_MANAGER_KIND,
    ANNO_MESSAGE,
    ANNO_SOURCE_CHECKSUM,
    ANNO_SOURCE_PATH,
    OBS_MANAGER_KIND,
    LiveDashboard,
    LiveFolder,
    Manager,
    Revision,
)
from obs.deploy.report import Item, Report
from obs.deploy.target import Target

DATASOURCE_KEPT = ("user", "database", "basicAuth", "basicAuthUser", "withCredentials")
# What Grafana's server-side dry run (dryRun=All) checks of a dashboard or folder write, and what it skips
# (pkg/registry/apis/dashboard register.go validateCreate/validateUpdate: `if !a.IsDryRun()`)
SERVER_DRY_RUN_CHECKS = ("admission (the spec as Grafana would store it: ids stripped, BOMs stripped, "
                         "migrated), validation (title, uid, message, refresh, strict schema), the "
                         "resourceVersion conflict and delete preconditions; not the folder's existence or quota")


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    prune: bool = False
    concurrency: int = 8
    message: str = MESSAGE_PREFIX
    backup_dir: Path = Path(BACKUP_DIR)
    describe: bool = False  # compute per-panel changes (diff, --verbose)
    server_dry_run: bool = True  # a dry run asks Grafana (dryRun=All) where served; `obs diff` only reads
    schema: str = "v1"  # the dashboard schema deployed: [tool.obs] dashboard-schema (obs.core.project)


DONE = {"create": "created", "update": "updated", "delete": "deleted", "unchanged": "unchanged",
        "skip": "skipped", "orphan": "orphan"}


class NotAttempted(Exception):
    """The push stopped before this object's write."""


@dataclass
class Reads:
    """Everything read before the first write. A GrafanaError in place of a value: that read failed."""

    datasources: Any = None  # list of datasource dicts
    folder: Any = None  # LiveFolder | None
    dashboards: Any = None  # dict uid -> LiveDashboard | None | GrafanaError (legacy: one GET each)
    listing: Any = None  # /apis: every LiveDashboard of the namespace; /api: [(uid, title)] of the obs folder
    pages: int = 0


class Sync:
    """Compares the desired state with Grafana and (unless dry_run) makes Grafana match it."""

    def __init__(self, grafana: Grafana, desired: Desired, options: Options, server: Server) -> None:
        self.grafana = grafana
        self.desired = desired
        self.options = options
        self.server = server
        self.store: ApisStore | LegacyStore
        if server.api == "apis":
            self.store = ApisStore(grafana, server.namespace, server.dashboard_version, server.folder_version)
        else:
            self.store = LegacyStore(grafana)
        self.identity = desired.folder.uid  # managerId: this project's obs, by the folder it owns
        self.abort = threading.Event()
        self.fatal: GrafanaError | None = None
        self._lock = threading.Lock()
        self._first_write = threading.Lock()
        self._first_done = False
        self.checked = 0  # writes Grafana's dry run checked
        self.refused = 0

    @property
    def apis(self) -> bool:
        return self.server.api == "apis"

    @property
    def server_dry_run(self) -> bool:
        return self.options.dry_run and self.options.server_dry_run and self.apis

    # ------------------------------------------------------------------ driver

    def run(self) -> tuple[list[Item], Reads]:
        reads = self._read()
        items: list[Item] = []
        stages: list[Callable[[Reads], list[Item]]] = [self.datasources, self.folder, self.dashboards,
                                                       self.orphans]
        for stage in stages:
            items += stage(reads)
        return items, reads

    def _read(self) -> Reads:
        """Every read the plan needs, in parallel."""
        reads = Reads()
        folder_uid = self.desired.folder.uid
        workers = max(1, min(self.options.concurrency, 8))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="obs-read") as pool:
            def guarded(function: Callable[..., Any], *args: Any) -> Future[Any]:
                return pool.submit(self._catch, function, *args)

            datasources = guarded(self.grafana.request, "GET", "/api/datasources")
            folder = guarded(self.store.get_folder, folder_uid)
            if isinstance(self.store, ApisStore):
                listing = guarded(self.store.list_dashboards)
                dashboards: dict[str, Future[Any]] = {}
            else:
                listing = guarded(self.store.search_folder, folder_uid, self._managed_tag())
                dashboards = {uid: guarded(self.store.get_dashboard, uid) for uid in self.desired.dashboards}
            reads.datasources = datasources.result()
            reads.folder = folder.result()
            result = listing.result()
            if isinstance(self.store, ApisStore):
                if isinstance(result, GrafanaError):
                    reads.listing = result
                    reads.dashboards = {uid: result for uid in self.desired.dashboards}
                else:
                    found, reads.pages = result
                    # what obs may write or prune, read again at its stored version where Grafana could not
                    # convert it (rare: one GET each)
                    relevant = [d for d in found if d.conversion_error and (
                        d.uid in self.desired.dashboards or d.folder_uid == folder_uid)]
                    again = {d.uid: pool.submit(self._catch, self.store.resolve, d) for d in relevant}
                    resolved = {uid: future.result() for uid, future in again.items()}
                    found = [d if not isinstance(resolved.get(d.uid), LiveDashboard) else resolved[d.uid]
                             for d in found]
                    reads.listing = found
                    by_uid = {d.uid: d for d in found}
                    reads.dashboards = {uid: by_uid.get(uid) for uid in self.desired.dashboards}
            else:
                reads.listing = result
                reads.dashboards = {uid: future.result() for uid, future in dashboards.items()}
        return reads

    def _catch(self, function: Callable[..., Any], *args: Any) -> Any:
        try:
            return function(*args)
        except GrafanaError as error:
            if error.fatal:
                self._stop(error)
            return error

    def _stop(self, error: GrafanaError) -> None:
        with self._lock:
            if self.fatal is None:
                self.fatal = error
        self.abort.set()

    def _map(self, function: Callable[..., None], jobs: list[tuple[Item, Any]]) -> list[Item]:
        if not jobs:
            return []
        workers = max(1, min(self.options.concurrency, len(jobs)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="obs-push") as pool:
            futures = [pool.submit(self._guard, function, item, arg) for item, arg in jobs]
            return [future.result() for future in futures]

    def _guard(self, function: Callable[..., None], item: Item, arg: Any) -> Item:
        if self.abort.is_set():
            item.outcome = "not attempted"
            return item
        try:
            function(item, arg)
        except NotAttempted:
            item.outcome = "not attempted"
        except GrafanaError as error:
            item.outcome = "failed"
            item.detail = str(error)
            if error.fatal:
                self._stop(error)
        except OSError as error:  # the backup could not be written: do not overwrite
            item.outcome = "failed"
            item.detail = f"cannot write the backup, nothing overwritten: {error}"
        return item

    def _settle(self, item: Item) -> bool:
        """In a dry run obs does not write (unless Grafana's dry run checks the write), and when nothing is to
        be written the plan is the outcome."""
        if item.action in ("unchanged", "skip", "orphan"):
            item.outcome = item.action if self.options.dry_run else DONE[item.action]
            return True
        if self.options.dry_run and not (self.server_dry_run and item.kind != "datasource"):
            item.outcome = item.action
            return True
        return False

    def _write(self, send: Callable[[], Any]) -> Any:
        """Send one write. The first write of the push goes alone: if Grafana refuses it (a token that may not
        write), the push stops there instead of trying every object."""
        if self.abort.is_set():
            raise NotAttempted
        if not self._first_done:
            with self._first_write:
                if self.abort.is_set():
                    raise NotAttempted
                if not self._first_done:
                    try:
                        return send()
                    finally:
                        self._first_done = True
        if self.abort.is_set():
            raise NotAttempted
        return send()

    def _dry_checked(self, item: Item) -> None:
        """A write Grafana's dry run accepted: the plan is the outcome."""
        with self._lock:
            self.checked += 1
        item.outcome = item.action

    def _managed_tag(self) -> str:
        from catalog.grafana import MANAGED_TAG

        return MANAGED_TAG

    # ------------------------------------------------------------------ datasources

    def datasources(self, reads: Reads) -> list[Item]:
        jobs = [(Item("datasource", body["uid"], body["name"]), body) for body in self.desired.datasources]
        listed = reads.datasources
        if isinstance(listed, GrafanaError) or not isinstance(listed, list):
            error = listed if isinstance(listed, GrafanaError) else GrafanaError(
                "not_json", "GET /api/datasources did not answer a list of datasources", path="/api/datasources")
            for item, _ in jobs:
                item.outcome = "not attempted" if self.abort.is_set() else "failed"
                item.detail = str(error)
            return [item for item, _ in jobs]
        by_uid = {d.get("uid"): d for d in listed if isinstance(d, dict)}
        return self._map(lambda item, body: self._datasource(item, body, by_uid.get(body["uid"])), jobs)

    def _datasource(self, item: Item, body: dict[str, Any], listed: dict[str, Any] | None) -> None:
        g = self.grafana
        item.live = listed
        if listed is None:
            item.action = "create"
        else:
            item.changes = datasource_changes(listed, body)
            if not item.changes:
                item.action = "unchanged"
            elif listed.get("readOnly"):
                item.action = "skip"
                item.detail = "provisioned in Grafana (read-only) and differs from the code: skipped"
            else:
                item.action = "update"
                item.drift = ("differs from the code: changed in Grafana or pushed by an older code (Grafana keeps "
                              "no history of datasources)")
        if self._settle(item):
            return
        try:
            if item.action == "create":
                answer = self._write(lambda: g.request("POST", "/api/datasources", json=body))
                _expect_datasource(answer, "POST /api/datasources")
            else:
                path = f"/api/datasources/uid/{item.uid}"
                live = g.request("GET", path)
                if not isinstance(live, dict) or live.get("uid") != item.uid:
                    raise GrafanaError("not_json", f"GET {path} answered JSON that is not the datasource",
                                       method="GET", path=path, response=live)
                item.version = live.get("version") if isinstance(live.get("version"), int) else None
                backup = write_backup(self.options.backup_dir, "datasource", item.uid, item.version, live)
                item.backup = str(backup.path)
                kept = {k: live[k] for k in DATASOURCE_KEPT if k in live}
                put = {**kept, **body, "version": item.version}  # Grafana refuses an update of an older version
                answer = self._write(lambda: g.request("PUT", path, json=put))
                _expect_datasource(answer, f"PUT {path}")
        except GrafanaError as error:
            if error.status == 403 and "read-only" in error.grafana_message.lower():
                item.outcome, item.detail = "skipped", "provisioned in Grafana (read-only): skipped"
                return
            if error.kind != "conflict":
                raise
            again = g.get_or_none(f"/api/datasources/uid/{item.uid}")
            if again is None or datasource_changes(again, body):
                reason = (f"another datasource already has the name {body['name']!r}" if again is None
                          else "changed in Grafana during the push; nothing overwritten, run obs push again")
                raise GrafanaError("conflict", f"{error}: {reason}", status=error.status) from None
        item.outcome = DONE[item.action]

    # ------------------------------------------------------------------ folder

    def _obs_annotations(self) -> dict[str, str]:
        return {ANNO_MANAGER_KIND: OBS_MANAGER_KIND, ANNO_MANAGER_ID: self.identity,
                ANNO_MANAGER_ALLOWS_EDITS: "true"}

    def owned(self, manager: Manager | None) -> bool:
        return manager == Manager(OBS_MANAGER_KIND, self.identity, True)

    def folder(self, reads: Reads) -> list[Item]:
        folder = self.desired.folder
        return self._map(lambda item, live: self._folder(item, folder, live),
                         [(Item("folder", folder.uid, folder.title), reads.folder)])

    def _folder(self, item: Item, folder: Any, live: LiveFolder | GrafanaError | None) -> None:
        if isinstance(live, GrafanaError):
            raise live
        if live is None:
            item.action = "create"
        elif live.manager and not self.owned(live.manager):
            item.action = "skip"
            item.detail = f"managed by {live.manager.describe()}: left alone"
        elif live.title != folder.title:
            item.action = "update"
            item.changes = [f"title: {live.title!r} -> {folder.title!r}"]
        elif self.apis and not self.owned(live.manager):
            item.action = "update"
            item.detail = "adds obs's manager annotations (Grafana then shows the folder as managed)"
        else:
            item.action = "unchanged"
        if self._settle(item):
            return
        if isinstance(self.store, ApisStore):
            self._folder_apis(item, folder, live)
        else:
            self._folder_legacy(item, folder, live)

    def _folder_apis(self, item: Item, folder: Any, live: LiveFolder | None) -> None:
        store = self.store
        assert isinstance(store, ApisStore)
        annotations = {**client_annotations(live.annotations if live else {}), **self._obs_annotations()}
        annotations.pop(ANNO_FOLDER, None)
        try:
            self._write(lambda: store.save_folder(folder.uid, folder.title, annotations, live,
                                                  dry_run=self.server_dry_run))
        except GrafanaError as error:
            if error.kind != "conflict":
                raise
            again = store.get_folder(folder.uid)
            if again is None or again.title != folder.title:
                raise GrafanaError("conflict", f"{error} - the folder changed in Grafana during the push; nothing "
                                   "overwritten, run obs push again", status=error.status) from None
            item.outcome, item.detail = "unchanged", "already exists"
            return
        if self.server_dry_run:
            self._dry_checked(item)
            return
        item.outcome = DONE[item.action]

    def _folder_legacy(self, item: Item, folder: Any, live: LiveFolder | None) -> None:
        store = self.store
        assert isinstance(store, LegacyStore)
        if item.action == "create":
            try:
                self._write(lambda: store.create_folder(folder.uid, folder.title))
                item.outcome = "created"
                return
            except GrafanaError as error:
                # 409 (Grafana <= 11) or 412 (12+): the uid exists, made meanwhile or by our own lost answer
                if error.kind != "conflict":
                    raise
                live = store.get_folder(folder.uid)
                if live is None:
                    raise
                if live.title == folder.title:
                    item.outcome, item.detail = "unchanged", "already exists"
                    return
                item.action = "update"
        assert live is not None
        try:
            self._write(lambda: store.update_folder(folder.uid, folder.title, live))
        except GrafanaError as error:
            again = store.get_folder(folder.uid) if error.kind == "conflict" else None
            if not again or again.title != folder.title:
                raise
        item.outcome = "updated"

    # ------------------------------------------------------------------ dashboards

    def dashboards(self, reads: Reads) -> list[Item]:
        jobs = [(Item("dashboard", uid, str(doc.get("title", ""))), (doc, reads.dashboards.get(uid)))
                for uid, doc in self.desired.dashboards.items()]
        return self._map(lambda item, arg: self._dashboard(item, *arg), jobs)

    def _stored_spec(self, live: LiveDashboard) -> dict[str, Any]:
        """The spec in the schema Grafana stores the dashboard in (read again when what was read is Grafana's
        conversion of it)."""
        if not live.converted or not isinstance(self.store, ApisStore):
            return live.spec
        stored = self.store.stored_object(live)
        spec = stored.get("spec") if isinstance(stored, dict) else None
        return spec if isinstance(spec, dict) else {}

    def _classic(self, live: LiveDashboard) -> dict[str, Any]:
        """The live dashboard as the v1 JSON obs compiles: a v2 one read back with obs.compile.dashboard_v2
        (without the losses of Grafana's own v2 -> v1 conversion), else Grafana's conversion as read."""
        if live.stored_schema == "v1":
            return self._stored_spec(live)
        try:
            return from_v2_spec(self._stored_spec(live), live.uid)
        except DashboardShapeError:
            return live.spec if live.read_version in ("v1", "v0alpha1", "v1beta1") else {}

    def _same(self, live: LiveDashboard, doc: dict[str, Any]) -> bool:
        """Equal in what obs manages, compared like with like: a dashboard stored as v2 with the v2 form of the
        compiled one (what Grafana's own conversion writes), a classic one with the compiled JSON."""
        if live.conversion_error:
            return False
        if live.stored_schema == "v1":
            return same_dashboard(self._stored_spec(live), doc)
        try:
            return self._stored_spec(live) == to_v2_spec(doc)
        except DashboardShapeError:
            return False

    def _dashboard(self, item: Item, doc: dict[str, Any], live: LiveDashboard | GrafanaError | None) -> None:
        if isinstance(live, GrafanaError):
            raise live
        folder_uid = self.desired.folder.uid
        if live is None:
            item.action = "create"
        else:
            item.version = live.version
            item.api_version = live.stored_version
            if live.folder_uid != folder_uid:
                item.folder = live.folder_title or live.folder_uid or "General"
            same = self._same(live, doc)
            item.live = {**self._classic(live), "uid": live.uid}
            if live.provisioned:
                item.action = "skip" if not same or live.folder_uid != folder_uid else "unchanged"
                if item.action == "skip":
                    item.detail = ("provisioned in Grafana from a file (read-only) and differs from the code: skipped "
                                   "(managed by classic-file-provisioning)")
            elif live.manager and not self.owned(live.manager):
                # another tool's: never written; the same content is simply unchanged
                item.action = "unchanged" if same and live.folder_uid == folder_uid else "skip"
                if item.action == "skip" and live.manager.kind == "classic-file-provisioning":
                    item.detail = ("provisioned in Grafana from a file (read-only) and differs from the code: "
                                   "skipped (managed by classic-file-provisioning)")
                elif item.action == "skip":
                    item.detail = (f"skipped (managed by {live.manager.describe()}) and differs from the code: "
                                   "obs never writes it")
            elif same and live.folder_uid == folder_uid:
                if self.apis and live.stored_schema != self.options.schema:
                    # Grafana only converted it (a save in the 13.x UI stores v2): not an edit, nothing to back up
                    item.action = "update"
                    item.detail = (f"Grafana stores it as {live.stored_version} (saved in Grafana without a change "
                                   f"to what obs manages): written again as {self.options.schema}")
                elif self.apis and not self.owned(live.manager):
                    item.action = "update"
                    item.detail = "adds obs's manager annotations (Grafana then shows it as managed)"
                else:
                    item.action = "unchanged"
            else:
                item.action = "update"
                if self.options.describe:
                    item.changes = dashboard_change_lines(item.live, doc)
                if item.folder:
                    item.changes.append(f"folder: {item.folder!r} -> {self.desired.folder.title!r}")
                item.drift = self._drift(live, doc)
        if self._settle(item):
            return
        if item.drift and live is not None and not self.options.dry_run:
            stored = self.store.stored_object(live) if isinstance(self.store, ApisStore) else live.raw
            backup = write_backup(self.options.backup_dir, "dashboard", item.uid, live.version, stored)
            item.backup, item.backup_written = str(backup.path), backup.written
        if isinstance(self.store, ApisStore):
            self._save_apis(item, doc, live)
        else:
            self._save_legacy(item, doc, live)

    def message_for(self, doc: dict[str, Any]) -> str:
        return f"{self.options.message} content=sha256:{content_hash(doc)}"

    def _save_apis(self, item: Item, doc: dict[str, Any], live: LiveDashboard | None) -> None:
        store = self.store
        assert isinstance(store, ApisStore)
        if self.options.schema == "v2":
            spec = to_v2_spec(doc)
        else:
            spec = {k: v for k, v in doc.items() if k not in ("id", "uid", "version")}
        annotations = client_annotations(live.annotations) if live is not None else {}
        annotations.update({ANNO_FOLDER: self.desired.folder.uid, ANNO_MESSAGE: self.message_for(doc),
                            **self._obs_annotations(), ANNO_SOURCE_PATH: dashboard_file(item.uid),
                            ANNO_SOURCE_CHECKSUM: content_hash(doc)})
        labels = dict(live.labels) if live is not None else {}
        try:
            saved = self._write(lambda: store.save_dashboard(item.uid, spec, annotations, labels, live,
                                                             dry_run=self.server_dry_run))
        except GrafanaError as error:
            if error.kind != "conflict" or self.server_dry_run:
                raise
            again = store.get_dashboard(item.uid)
            if (again is not None and self._same(again, doc) and self.owned(again.manager)
                    and again.folder_uid == self.desired.folder.uid):
                item.outcome, item.version = DONE[item.action], again.version  # our own write, its answer lost
                return
            what = "appeared in Grafana" if error.reason == "AlreadyExists" else "changed in Grafana"
            raise GrafanaError("conflict", f"{error} - the dashboard {what} during the push; nothing overwritten, "
                               "run obs push again", status=error.status) from None
        if self.server_dry_run:
            self._dry_checked(item)
            return
        item.outcome = DONE[item.action]
        item.version = saved.version

    def _save_legacy(self, item: Item, doc: dict[str, Any], live: LiveDashboard | None) -> None:
        store = self.store
        assert isinstance(store, LegacyStore)
        folder_uid = self.desired.folder.uid
        try:
            version = self._write(lambda: store.save_dashboard(doc, live, folder_uid, self.message_for(doc)))
        except GrafanaError as error:
            if error.status == 400 and "provisioned" in error.grafana_message.lower():
                # 13.x refuses a dashboard another tool manages (saveDashboardViaK8s), though meta.provisioned
                # does not show it
                item.outcome = "skipped"
                item.detail = ("skipped (managed by another tool): Grafana refused to save it (400 "
                               f"{error.grafana_message})")
                # not an edit to overwrite but another tool's dashboard: no drift note, no backup of it
                if item.backup_written:
                    Path(item.backup).unlink(missing_ok=True)
                item.drift, item.backup, item.changes = "", "", []
                return
            if error.kind != "conflict":
                raise
            again = store.get_dashboard(item.uid)
            if again and self._same(again, doc) and again.folder_uid == folder_uid:
                item.outcome, item.version = DONE[item.action], again.version
                return
            status = error.response.get("status") if isinstance(error.response, dict) else None
            if status in (None, "version-mismatch") or error.status == 409:
                raise GrafanaError("conflict", f"{error} - the dashboard changed in Grafana during the push; "
                                   "nothing overwritten, run obs push again", status=error.status) from None
            raise
        item.outcome = DONE[item.action]
        item.version = version

    # ------------------------------------------------------------------ drift

    def _drift(self, live: LiveDashboard, doc: dict[str, Any]) -> str:
        """"" when the live dashboard is exactly what obs last wrote (the code changed since); else who changed
        it, when, how."""
        if isinstance(self.store, ApisStore):
            return self._drift_apis(live)
        return self._drift_legacy(live)

    def _drift_apis(self, live: LiveDashboard) -> str:
        store = self.store
        assert isinstance(store, ApisStore)
        checksum = live.annotations.get(ANNO_SOURCE_CHECKSUM, "")
        if (self.owned(live.manager) and live.stored_schema == self.options.schema and checksum
                and checksum == content_hash({**self._classic(live), "uid": live.uid})):
            return ""
        stored = f", stored as {live.stored_version}" if live.stored_schema != self.options.schema else ""
        try:
            history = store.history(live.uid)
        except GrafanaError as error:
            if error.fatal:
                raise
            return (f"generation {live.version}{stored}: its history cannot be read ({error.status or error.kind}), "
                    "so it is treated as changed in Grafana")
        newest: Revision | None = history[0] if history else None
        if newest is None:
            return f"generation {live.version}{stored} is not what obs pushed (no history)"
        said = f" with message {newest.message!r}" if newest.message and not MARKER.match(newest.message) else ""
        how = " from the UI" if newest.from_ui else ""
        text = f"generation {newest.version} was saved by {newest.who} at {newest.when}{said}{how}{stored}"
        last_obs = next((r for r in history if self.owned(r.manager) and r.checksum and MARKER.match(r.message)
                         and r.version != newest.version), None)
        if MARKER.match(newest.message) and self.owned(newest.manager) and not newest.from_ui:
            text += ", but it differs from what obs pushed"
        else:
            text += ", not by obs push"
        if last_obs is not None:
            text += f"; obs last pushed generation {last_obs.version}"
        return text

    def _drift_legacy(self, live: LiveDashboard) -> str:
        store = self.store
        assert isinstance(store, LegacyStore)
        revision = store.revision(live)
        if revision is None:
            return (f"version {live.version}: its history entry cannot be read, so it is treated as edited in "
                    "Grafana")
        marker = MARKER.match(revision.message)
        if marker and marker.group(1) == content_hash(live.spec):
            return ""
        if marker:
            return f"version {live.version} (saved by {revision.who} at {revision.when}) differs from what obs pushed"
        said = f" with message {revision.message!r}" if revision.message else ""
        return f"version {live.version} was saved by {revision.who} at {revision.when}{said}, not by obs push"

    # ------------------------------------------------------------------ prune

    def orphans(self, reads: Reads) -> list[Item]:
        """Dashboards obs manages in its folder that the code no longer has (on /api: in the obs folder with the
        obs-managed tag). Listed without --prune; deleted with it."""
        tag = self._managed_tag()
        folder_uid = self.desired.folder.uid
        listing = reads.listing
        if isinstance(listing, GrafanaError) or not isinstance(listing, list):
            if not self.options.prune:
                return []
            item = Item("dashboard", f"(the {folder_uid} folder)", "")
            item.action, item.outcome = "delete", "failed"
            item.detail = f"{listing}: --prune deletes nothing" if isinstance(listing, GrafanaError) else (
                "the dashboards of the obs folder cannot be listed: --prune deletes nothing")
            return [item]
        jobs: list[tuple[Item, Any]] = []
        if isinstance(self.store, ApisStore):
            for live in sorted(listing, key=lambda d: d.uid):
                if live.uid in self.desired.dashboards or live.folder_uid != folder_uid:
                    continue
                if not (self.owned(live.manager) or (live.manager is None and tag in live.tags)):
                    continue
                jobs.append((Item("dashboard", live.uid, live.title), live))
        else:
            for uid, title in sorted(listing):
                if uid not in self.desired.dashboards:
                    jobs.append((Item("dashboard", uid, title), uid))
        if not self.options.prune:
            for item, _ in jobs:
                item.action = item.outcome = "orphan"
                item.detail = "managed by obs in its folder but no longer in the code: --prune deletes it"
            return [item for item, _ in jobs]
        return self._map(self._prune, jobs)

    def _prune(self, item: Item, target: Any) -> None:
        if isinstance(self.store, ApisStore):
            self._prune_apis(item, target)
        else:
            self._prune_legacy(item, target)

    def _prune_apis(self, item: Item, live: LiveDashboard) -> None:
        store = self.store
        assert isinstance(store, ApisStore)
        item.version = live.version
        item.action = "delete"
        if self._settle(item):
            return
        if not self.options.dry_run:  # always: a deletion never loses an edit
            stored = store.stored_object(live)
            item.backup = str(write_backup(self.options.backup_dir, "dashboard", item.uid, live.version, stored).path)
        try:
            self._write(lambda: store.delete_dashboard(live, dry_run=self.server_dry_run))
        except GrafanaError as error:
            if error.kind == "not_found":
                item.outcome, item.detail = "deleted", "already gone"
                return
            if error.kind == "conflict":
                raise GrafanaError("conflict", f"{error} - the dashboard changed in Grafana since obs read it; not "
                                   "deleted, run obs push --prune again", status=error.status) from None
            raise
        if self.server_dry_run:
            self._dry_checked(item)
            return
        item.outcome = "deleted"

    def _prune_legacy(self, item: Item, uid: str) -> None:
        store = self.store
        assert isinstance(store, LegacyStore)
        tag = self._managed_tag()
        live = store.get_dashboard(uid)  # read just before deleting: the legacy API has no precondition
        if live is None:
            item.action, item.outcome, item.detail = "delete", "deleted", "already gone"
            return
        item.version = live.version
        # Search is only the candidate list: the dashboard itself must be in our folder with our tag.
        if live.folder_uid != self.desired.folder.uid or tag not in live.tags:
            item.action, item.detail = "skip", "not in the obs folder with the obs tag: left alone"
        elif live.provisioned:
            item.action, item.detail = "skip", "provisioned in Grafana from a file: left alone"
        else:
            item.action = "delete"
            item.drift = self._drift_legacy(live)
        if self._settle(item):
            return
        item.backup = str(write_backup(self.options.backup_dir, "dashboard", uid, live.version, live.raw).path)
        self._write(lambda: store.delete_dashboard(uid))
        item.outcome = "deleted"


def _expect_datasource(answer: Any, where: str) -> None:
    # pkg/api/datasources.go AddDataSource / UpdateDataSourceByUID: {"message", "id", "name", "datasource"}
    if not isinstance(answer, dict) or not isinstance(answer.get("datasource"), dict):
        raise GrafanaError("not_json", f"{where} answered JSON that does not say it saved the datasource",
                           response=answer)


def push_options(root: Path, *, dry_run: bool = False, prune: bool = False, concurrency: int = 8,
                 describe: bool = False, schema: str = "v1") -> Options:
    """The options of a push from the project at `root`: its backups go there, and every save's message names
    the commit it was pushed from."""
    revision = git_revision(root)
    return Options(dry_run=dry_run, prune=prune, concurrency=concurrency, backup_dir=root / BACKUP_DIR,
                   message=f"{MESSAGE_PREFIX} {revision}" if revision else MESSAGE_PREFIX, describe=describe,
                   schema=schema)


def git_revision(root: Path) -> str:
    """Short sha of HEAD, `-dirty` when tracked files differ from it; "" outside git."""
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return sha + ("-dirty" if dirty else "")


def run_sync(target: Target, desired: Desired, options: Options) -> Report:
    """Connect (what Grafana is and serves) and sync. Raises GrafanaError when Grafana cannot be used at all."""
    started = time.monotonic()
    with Grafana(target, pool_size=max(options.concurrency, 2)) as grafana:
        server = connect(grafana, target.api, options.schema)
        sync = Sync(grafana, desired, options, server)
        items, reads = sync.run()
        fatal = str(sync.fatal) if sync.fatal else ""
        dry_note = ""
        if options.dry_run and options.server_dry_run:
            if sync.apis:
                dry_note = (f"Grafana checked {sync.checked} of the writes server-side (dryRun=All: "
                            f"{SERVER_DRY_RUN_CHECKS}); datasources are planned only (/api has no dry run)")
            else:
                dry_note = "planned only: Grafana's legacy /api has no server-side dry run"
        return Report(target.url, server.version, items, grafana.requests, grafana.writes, grafana.retried,
                      time.monotonic() - started, options.dry_run, fatal, api=sync.store.describe(),
                      dry_run_note=dry_note, pages=reads.pages)
