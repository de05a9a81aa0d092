"""Deploy the compiled datasources, folder and dashboards to a running Grafana, and say what a deploy
would change (`obs push`, `obs diff --grafana-url`).

Order: everything is compiled and validated first (`build_artifacts`; nothing is sent if anything is
invalid), then datasources (upsert by uid), the folder (stable uid), the dashboards into it, and with
`--prune` the deletion of dashboards obs created that the code no longer has.

Idempotence: a dashboard is written only when the live JSON, minus the fields Grafana sets on save (`id`,
`version`), differs from the compiled JSON, or it sits in another folder. An unchanged push only reads.

Drift (a dashboard edited in Grafana since obs pushed it). Every obs save carries the version message
`obs push <git sha> content=sha256:<16 hex>`, the hash of the JSON it saved (server fields removed).
Before overwriting a dashboard whose live JSON differs from the code, obs reads the history entry of the
live version (`GET /api/dashboards/uid/:uid/versions/:version`, which returns the message as saved; the
version list rewrites the first one to "Initial save"). The live dashboard is obs's own work only if
that message is an obs push AND its hash equals the hash of the live JSON; anything else (a UI save, a
restore, an import, an API client, a history entry that cannot be read) counts as drift: the live JSON is
written to `.obs-backups/<uid>-v<version>-<timestamp>.json` before the overwrite. The hash check also
catches an edit that kept the old message (Grafana 12+ keeps the message as an object annotation). The
compiled JSON itself is pushed unchanged, so it still validates against the pinned schema.

Overwrites are optimistic: a dashboard is saved with the live `version` it was compared with and
`overwrite: false`, so an edit made between obs's read and its write gets 412 (409 on Grafana's newest
save path) instead of being lost; obs then re-reads, and if Grafana already holds exactly the compiled
JSON (our own earlier attempt whose answer was lost) it counts as done, else it fails that dashboard with
"changed in Grafana during the push".

Why every request may be retried (connection error, timeout, 429, 5xx; see obs/grafana_api.py):
GETs and the datasource PUT (a full replace) are idempotent. A dashboard POST carries the version it
expects, a datasource or folder POST carries a stable uid: if a first attempt took effect but its answer
was lost, the retry is refused (412/409, "exists") and resolved by re-reading and comparing, as above.
A DELETE that already happened answers 404, which counts as deleted.

Provisioned objects: a datasource Grafana marks read-only, or a dashboard provisioned from a file, is
owned by Grafana's provisioning (the compose stack mounts the same compiled files): obs reports
"provisioned in Grafana, skipped" with what differs, and does not fail the push for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from obs.core.paths import BACKUP_DIR
from obs.deploy.client import Grafana, GrafanaError
from obs.deploy.compare import (
    MARKER,
    MESSAGE_PREFIX,
    SERVER_FIELDS,
    content_hash,
    dashboard_change_lines,
    datasource_changes,
    same_dashboard,
)
from obs.deploy.desired import Desired
from obs.deploy.report import Item, Report
from obs.deploy.target import Target

DATASOURCE_KEPT = ("user", "database", "basicAuth", "basicAuthUser", "withCredentials")
SEARCH_PAGE = 5000  # Grafana's maximum page size for /api/search


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    prune: bool = False
    concurrency: int = 8
    message: str = MESSAGE_PREFIX
    backup_dir: Path = Path(BACKUP_DIR)
    describe: bool = False  # compute per-panel changes (diff, --verbose)


DONE = {"create": "created", "update": "updated", "delete": "deleted", "unchanged": "unchanged",
        "skip": "skipped", "orphan": "orphan"}


class Sync:
    """Compares the desired state with Grafana and (unless dry_run) makes Grafana match it."""

    def __init__(self, grafana: Grafana, desired: Desired, options: Options) -> None:
        self.grafana = grafana
        self.desired = desired
        self.options = options
        self.abort = threading.Event()
        self.fatal: GrafanaError | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ driver

    def run(self) -> list[Item]:
        items: list[Item] = []
        stages: list[Callable[[], list[Item]]] = [self.datasources, self.folder, self.dashboards, self.orphans]
        for stage in stages:
            if self.abort.is_set():
                break
            items += stage()
        return items

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
        except GrafanaError as error:
            item.outcome = "failed"
            item.detail = str(error)
            if error.fatal:
                with self._lock:
                    if self.fatal is None:
                        self.fatal = error
                self.abort.set()
        except OSError as error:  # the backup could not be written: do not overwrite
            item.outcome = "failed"
            item.detail = f"cannot write the backup, nothing overwritten: {error}"
        return item

    def _settle(self, item: Item) -> bool:
        """In a dry run, or when nothing is to be written, the plan is the outcome."""
        if self.options.dry_run or item.action in ("unchanged", "skip", "orphan"):
            item.outcome = item.action if self.options.dry_run else DONE[item.action]
            return True
        return False

    # ------------------------------------------------------------------ datasources

    def datasources(self) -> list[Item]:
        jobs = [(Item("datasource", body["uid"], body["name"]), body) for body in self.desired.datasources]
        return self._map(self._datasource, jobs)

    def _datasource(self, item: Item, body: dict[str, Any]) -> None:
        g = self.grafana
        live = item.live = g.get_or_none(f"/datasources/uid/{item.uid}")
        if live is None:
            item.action = "create"
        else:
            item.changes = datasource_changes(live, body)
            if not item.changes:
                item.action = "unchanged"
            elif live.get("readOnly"):
                item.action = "skip"
                item.detail = "provisioned in Grafana (read-only) and differs from the code: skipped"
            else:
                item.action = "update"
        if self._settle(item):
            return
        try:
            if item.action == "create":
                g.request("POST", "/datasources", json=body)
            else:
                kept = {k: live[k] for k in DATASOURCE_KEPT if k in live}
                g.request("PUT", f"/datasources/uid/{item.uid}", json={**kept, **body})
        except GrafanaError as error:
            if error.status == 403 and "read-only" in error.grafana_message.lower():
                item.outcome, item.detail = "skipped", "provisioned in Grafana (read-only): skipped"
                return
            if error.kind != "conflict":
                raise
            again = g.get_or_none(f"/datasources/uid/{item.uid}")
            if again is None or datasource_changes(again, body):
                reason = (f"another datasource already has the name {body['name']!r}" if again is None
                          else "changed in Grafana during the push; run obs push again")
                raise GrafanaError("conflict", f"{error}: {reason}", status=error.status) from None
        item.outcome = DONE[item.action]

    # ------------------------------------------------------------------ folder

    def folder(self) -> list[Item]:
        folder = self.desired.folder
        return self._map(self._folder, [(Item("folder", folder.uid, folder.title), folder)])

    def _folder(self, item: Item, folder: Any) -> None:
        g = self.grafana
        live = g.get_or_none(f"/folders/{folder.uid}")
        if live is None:
            item.action = "create"
        elif live.get("title") != folder.title:
            item.action = "update"
            item.changes = [f"title: {live.get('title')!r} -> {folder.title!r}"]
        else:
            item.action = "unchanged"
        if self._settle(item):
            return
        if item.action == "create":
            try:
                g.request("POST", "/folders", json={"uid": folder.uid, "title": folder.title})
                item.outcome = "created"
                return
            except GrafanaError as error:
                # 409 (Grafana <= 11) or 412 (12+): the uid exists, made meanwhile or by our own lost answer
                if error.kind != "conflict":
                    raise
                live = g.get_or_none(f"/folders/{folder.uid}")
                if live is None:
                    raise
                if live.get("title") == folder.title:
                    item.outcome, item.detail = "unchanged", "already exists"
                    return
                item.action = "update"
        try:
            g.request("PUT", f"/folders/{folder.uid}", json={"title": folder.title, "version": live.get("version")})
        except GrafanaError as error:
            again = g.get_or_none(f"/folders/{folder.uid}") if error.kind == "conflict" else None
            if not again or again.get("title") != folder.title:
                raise
        item.outcome = "updated"

    # ------------------------------------------------------------------ dashboards

    def dashboards(self) -> list[Item]:
        jobs = [(Item("dashboard", uid, str(doc.get("title", ""))), doc)
                for uid, doc in self.desired.dashboards.items()]
        return self._map(self._dashboard, jobs)

    def _dashboard(self, item: Item, doc: dict[str, Any]) -> None:
        g = self.grafana
        folder_uid = self.desired.folder.uid
        live = g.get_or_none(f"/dashboards/uid/{item.uid}")
        dash: dict[str, Any] = {}
        if live is None:
            item.action = "create"
        else:
            dash, meta = live.get("dashboard") or {}, live.get("meta") or {}
            item.live = dash
            item.version = meta.get("version") or dash.get("version")
            live_folder = meta.get("folderUid") or ""
            if live_folder != folder_uid:
                item.folder = str(meta.get("folderTitle") or live_folder or "General")
            if same_dashboard(dash, doc) and live_folder == folder_uid:
                item.action = "unchanged"
            else:
                if self.options.describe:
                    item.changes = dashboard_change_lines(dash, doc)
                if item.folder:
                    item.changes.append(f"folder: {item.folder!r} -> {self.desired.folder.title!r}")
                if meta.get("provisioned"):
                    item.action = "skip"
                    item.detail = "provisioned in Grafana from a file (read-only) and differs from the code: skipped"
                else:
                    item.action = "update"
                    item.drift = self._drift(item.uid, dash, meta)
        if self._settle(item):
            return
        if item.drift:
            item.backup = self._backup(item.uid, item.version, dash)
        self._save(item, doc)

    def message_for(self, doc: dict[str, Any]) -> str:
        return f"{self.options.message} content=sha256:{content_hash(doc)}"

    def _save(self, item: Item, doc: dict[str, Any]) -> None:
        g = self.grafana
        folder_uid = self.desired.folder.uid
        body_doc = {k: v for k, v in doc.items() if k not in SERVER_FIELDS}
        if item.action == "update":
            body_doc["version"] = item.version  # optimistic: 412 if someone saved since we read
        body = {"dashboard": body_doc, "folderUid": folder_uid, "overwrite": False, "message": self.message_for(doc)}
        try:
            answer = g.request("POST", "/dashboards/db", json=body)
        except GrafanaError as error:
            if error.kind != "conflict":
                raise
            again = g.get_or_none(f"/dashboards/uid/{item.uid}")
            if again and same_dashboard(again.get("dashboard") or {}, doc) and (
                    (again.get("meta") or {}).get("folderUid") == folder_uid):
                item.outcome = DONE[item.action]
                item.version = (again.get("meta") or {}).get("version")
                return
            status = error.response.get("status") if isinstance(error.response, dict) else None
            if status in (None, "version-mismatch") or error.status == 409:
                raise GrafanaError("conflict", f"{error} - the dashboard changed in Grafana during the push; "
                                   "nothing overwritten, run obs push again", status=error.status) from None
            raise
        item.outcome = DONE[item.action]
        item.version = answer.get("version") if isinstance(answer, dict) else None

    def _drift(self, uid: str, dash: dict[str, Any], meta: dict[str, Any]) -> str:
        """"" when the live dashboard is exactly what obs last pushed; else who/when/why it is not."""
        version = meta.get("version") or dash.get("version")
        try:
            saved = self.grafana.request("GET", f"/dashboards/uid/{uid}/versions/{version}")
        except GrafanaError as error:
            if error.fatal:
                raise
            return (f"version {version}: its history entry cannot be read ({error.status or error.kind}), "
                    "so it is treated as edited in Grafana")
        saved = saved if isinstance(saved, dict) else {}
        message = str(saved.get("message") or "")
        marker = MARKER.match(message)
        who = saved.get("createdBy") or meta.get("updatedBy") or "?"
        when = saved.get("created") or meta.get("updated") or "?"
        if marker and marker.group(1) == content_hash(dash):
            return ""
        if marker:
            return f"version {version} (saved by {who} at {when}) differs from what obs pushed"
        said = f" with message {message!r}" if message else ""
        return f"version {version} was saved by {who} at {when}{said}, not by obs push"

    def _backup(self, uid: str, version: int | None, dash: dict[str, Any]) -> str:
        directory = self.options.backup_dir
        directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = directory / f"{uid}-v{version}-{stamp}.json"
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=directory, delete=False, suffix=".tmp",
                                         prefix=f".{uid}.") as handle:
            json.dump(dash, handle, indent=2, sort_keys=True, ensure_ascii=False)
            handle.write("\n")
        os.chmod(handle.name, 0o644)  # NamedTemporaryFile makes it 0600
        os.replace(handle.name, target)
        return str(target)

    # ------------------------------------------------------------------ prune

    def orphans(self) -> list[Item]:
        """Dashboards in the obs folder with the obs tag that the code no longer has."""
        from catalog.grafana import MANAGED_TAG

        folder = self.desired.folder
        hits: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self.grafana.request("GET", "/search", params={
                "type": "dash-db", "folderUIDs": folder.uid, "tag": MANAGED_TAG, "limit": SEARCH_PAGE, "page": page})
            batch = batch if isinstance(batch, list) else []
            hits += batch
            if len(batch) < SEARCH_PAGE:
                break
            page += 1
        jobs = []
        for hit in sorted(hits, key=lambda h: str(h.get("uid"))):
            uid = str(hit.get("uid") or "")
            if not uid or uid in self.desired.dashboards or hit.get("type", "dash-db") != "dash-db":
                continue
            item = Item("dashboard", uid, str(hit.get("title") or ""))
            if not self.options.prune:
                item.action = item.outcome = "orphan"
                item.detail = "in the obs folder with the obs tag but no longer in the code: --prune deletes it"
                jobs.append((item, None))
            else:
                jobs.append((item, hit))
        if not self.options.prune:
            return [item for item, _ in jobs]
        return self._map(self._prune, jobs)

    def _prune(self, item: Item, hit: dict[str, Any]) -> None:
        from catalog.grafana import MANAGED_TAG

        g = self.grafana
        live = g.get_or_none(f"/dashboards/uid/{item.uid}")
        if live is None:
            item.action, item.outcome, item.detail = "delete", "deleted", "already gone"
            return
        dash, meta = live.get("dashboard") or {}, live.get("meta") or {}
        item.version = meta.get("version") or dash.get("version")
        # Search is only the candidate list: the dashboard itself must be in our folder with our tag.
        if meta.get("folderUid") != self.desired.folder.uid or MANAGED_TAG not in (dash.get("tags") or []):
            item.action, item.detail = "skip", "not in the obs folder with the obs tag: left alone"
        elif meta.get("provisioned"):
            item.action, item.detail = "skip", "provisioned in Grafana from a file: left alone"
        else:
            item.action = "delete"
            item.drift = self._drift(item.uid, dash, meta)
        if self._settle(item):
            return
        item.backup = self._backup(item.uid, item.version, dash)  # always: a deletion never loses an edit
        try:
            g.request("DELETE", f"/dashboards/uid/{item.uid}")
        except GrafanaError as error:
            if error.kind != "not_found":
                raise
        item.outcome = "deleted"


def push_options(root: Path, *, dry_run: bool = False, prune: bool = False, concurrency: int = 8,
                 describe: bool = False) -> Options:
    """The options of a push from the project at `root`: its backups go there, and every save's message names
    the commit it was pushed from."""
    revision = git_revision(root)
    return Options(dry_run=dry_run, prune=prune, concurrency=concurrency, backup_dir=root / BACKUP_DIR,
                   message=f"{MESSAGE_PREFIX} {revision}" if revision else MESSAGE_PREFIX, describe=describe)


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
    """Preflight (health, credentials) and sync. Raises GrafanaError when Grafana cannot be used at all."""
    started = time.monotonic()
    with Grafana(target, pool_size=max(options.concurrency, 1)) as grafana:
        info = grafana.check()
        sync = Sync(grafana, desired, options)
        items = sync.run()
        fatal = str(sync.fatal) if sync.fatal else ""
        return Report(target.url, str(info.get("version")), items, grafana.requests, grafana.writes,
                      grafana.retried, time.monotonic() - started, options.dry_run, fatal)
