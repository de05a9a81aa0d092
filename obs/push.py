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

import contextlib
import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from catalog.grafana import FOLDER, MANAGED_TAG, Folder
from obs.artifacts import DASHBOARD_DIR, DATASOURCES_FILE, Artifact
from obs.errors import BuildError
from obs.grafana_api import Grafana, GrafanaError, Target, UsageError, make_target
from obs.provisioning import unescape_env

BACKUP_DIR = ".obs-backups"
# Fields Grafana sets on save (pkg/services/dashboards: id, version; `uid` is ours and stable).
SERVER_FIELDS = ("id", "version")
MESSAGE_PREFIX = "obs push"
MARKER = re.compile(r"^obs push\b.*\bcontent=sha256:([0-9a-f]{16})\b")
# Datasource fields the code owns; compared and sent. Others found in Grafana are kept on update.
DATASOURCE_FIELDS = ("name", "type", "access", "url", "isDefault", "jsonData")
DATASOURCE_KEPT = ("user", "database", "basicAuth", "basicAuthUser", "withCredentials")
SEARCH_PAGE = 5000  # Grafana's maximum page size for /api/search

# Exit codes (README "Deploying to Grafana").
EXIT_OK = 0
EXIT_FAILED = 1  # push: something failed; diff: differences found
EXIT_USAGE = 2
EXIT_INVALID = 3  # the code does not build or validate: nothing was sent
EXIT_GRAFANA = 4  # Grafana unusable: unreachable, TLS, not a Grafana, credentials rejected


# --------------------------------------------------------------------------- desired state


@dataclass
class Desired:
    folder: Folder
    datasources: list[dict[str, Any]]  # API bodies, by uid order
    dashboards: dict[str, dict[str, Any]]  # uid -> compiled JSON

    def describe(self) -> str:
        return (f"{len(self.datasources)} datasources, folder {self.folder.uid}, "
                f"{len(self.dashboards)} dashboards")


def datasource_body(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "uid": entry["uid"],
        "name": entry["name"],
        "type": entry["type"],
        "access": entry.get("access", "proxy"),
        "url": entry.get("url", ""),
        "isDefault": bool(entry.get("isDefault", False)),
        "jsonData": unescape_env(entry.get("jsonData") or {}),
    }


def desired_from_artifacts(artifacts: list[Artifact], folder: Folder = FOLDER) -> Desired:
    """The validated build output, exactly: dashboards as compiled, datasources from the provisioning file."""
    dashboards: dict[str, dict[str, Any]] = {}
    datasources: list[dict[str, Any]] = []
    for artifact in artifacts:
        if artifact.path.startswith(DASHBOARD_DIR + "/") and artifact.path.endswith(".json"):
            document = json.loads(artifact.text)
            dashboards[document["uid"]] = document
        elif artifact.path == DATASOURCES_FILE:
            entries = (yaml.safe_load(artifact.text) or {}).get("datasources") or []
            datasources = sorted((datasource_body(e) for e in entries), key=lambda d: d["uid"])
    return Desired(folder, datasources, dict(sorted(dashboards.items())))


def desired_state(root: Path) -> Desired:
    """Build and validate everything in memory; raises BuildError (nothing sent) on any problem."""
    from obs.build import build_artifacts

    return desired_from_artifacts(build_artifacts(root))


# --------------------------------------------------------------------------- comparison


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # Grafana (Go) writes 5.0 as 5
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def normalise(document: dict[str, Any]) -> dict[str, Any]:
    """The dashboard without what Grafana sets on save."""
    return _canonical({k: v for k, v in document.items() if k not in SERVER_FIELDS})


def content_hash(document: dict[str, Any]) -> str:
    text = json.dumps(normalise(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def same_dashboard(live: dict[str, Any], compiled: dict[str, Any]) -> bool:
    """Equal but for server fields. Python's == already treats 5 and 5.0 alike, and runs in C: no copy."""
    return ({k: v for k, v in live.items() if k not in SERVER_FIELDS}
            == {k: v for k, v in compiled.items() if k not in SERVER_FIELDS})


def datasource_fields(datasource: dict[str, Any]) -> dict[str, Any]:
    fields = {k: datasource.get(k) for k in DATASOURCE_FIELDS}
    fields["jsonData"] = fields["jsonData"] or {}
    return _canonical(fields)


def datasource_changes(live: dict[str, Any], body: dict[str, Any]) -> list[str]:
    from obs import semantic_diff as sd

    return [f"{path}: {sd.fmt(old)} -> {sd.fmt(new)}"
            for path, old, new in sd.deep_changes(datasource_fields(live), datasource_fields(body))]


def dashboard_change_lines(live: dict[str, Any], compiled: dict[str, Any]) -> list[str]:
    """Per-panel changes a push makes (obs.semantic_diff, as `obs diff` shows them), without heading."""
    from obs import semantic_diff as sd

    path = f"{DASHBOARD_DIR}/{compiled.get('uid')}.json"
    report = sd.diff_documents({path: normalise(live)}, {path: normalise(compiled)})
    lines = sd.render_text(report).splitlines()
    body = lines[1:lines.index("")] if "" in lines else lines[1:]
    return [line[2:] if line.startswith("  ") else line for line in body]


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


# --------------------------------------------------------------------------- plan and apply


@dataclass
class Item:
    kind: str  # datasource | folder | dashboard
    uid: str
    title: str
    action: str = ""  # planned: create | update | unchanged | delete | skip | orphan
    outcome: str = ""  # created | updated | unchanged | deleted | skipped | failed | not attempted | orphan
    detail: str = ""
    changes: list[str] = field(default_factory=list)
    drift: str = ""  # why the live dashboard is not obs's own last push ("" = it is, or n/a)
    backup: str = ""
    version: int | None = None
    live: Any = field(default=None, repr=False)  # the live object as read (for diffs; not reported)
    folder: str = ""  # the live dashboard's folder uid, when it is not the obs folder


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

    def _folder(self, item: Item, folder: Folder) -> None:
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


# --------------------------------------------------------------------------- reports


@dataclass
class Report:
    url: str
    grafana_version: str
    items: list[Item]
    requests: int
    writes: int
    retried: int
    seconds: float
    dry_run: bool
    fatal: str = ""

    @property
    def failed(self) -> list[Item]:
        return [i for i in self.items if i.outcome in ("failed", "not attempted")]

    def count(self, kind: str, outcome: str) -> int:
        return sum(1 for i in self.items if i.kind == kind and i.outcome == outcome)

    def to_json(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "items"},
                "items": [{k: v for k, v in asdict(i).items() if k != "live"} for i in self.items]}


LABELS = {"created": "created", "updated": "updated", "deleted": "deleted", "unchanged": "unchanged",
          "skipped": "skipped", "failed": "FAILED", "not attempted": "not attempted", "orphan": "orphan",
          "create": "would create", "update": "would update", "delete": "would delete", "skip": "would skip"}
KINDS = ("datasource", "folder", "dashboard")


def _item_lines(item: Item, root: Path | None, show_changes: bool, fatal: str = "") -> list[str]:
    label = LABELS.get(item.outcome, item.outcome)
    version = f" v{item.version}" if item.version is not None and item.outcome in ("created", "updated") else ""
    lines = [f"  {label:<13} {item.kind:<10} {item.uid:<30} {item.title}{version}".rstrip()]
    if item.drift:
        lines.append(f"      edited in Grafana since the last obs push: {item.drift}")
    if item.backup:
        shown = item.backup
        if root is not None:
            with contextlib.suppress(ValueError):
                shown = str(Path(item.backup).resolve().relative_to(root.resolve()))
        verb = "deleting" if item.outcome == "deleted" else "overwriting"
        lines.append(f"      live JSON saved to {shown} before {verb}")
    elif item.drift and item.outcome in ("update", "delete"):
        lines.append("      a push saves the live JSON to .obs-backups/ before overwriting it")
    if item.detail and item.detail != fatal:  # the error that stopped the push is printed once, at the end
        lines.append(f"      {item.detail}")
    if show_changes or item.outcome in ("skipped", "skip"):  # a skip says what it leaves different
        lines += [f"      {change}" for change in item.changes]
    return lines


def summary_table(report: Report) -> list[str]:
    if report.dry_run:
        columns = [("create", "create"), ("update", "update"), ("unchanged", "unchanged"), ("delete", "delete"),
                   ("skip", "skip"), ("failed", "failed")]
    else:
        columns = [("created", "created"), ("updated", "updated"), ("unchanged", "unchanged"),
                   ("deleted", "deleted"), ("skipped", "skipped"), ("failed", "failed")]
    lines = [f"  {'':<11}" + "".join(f"{title:>11}" for title, _ in columns)]
    for kind in KINDS:
        counts = []
        for _, outcome in columns:
            n = report.count(kind, outcome)
            if outcome == "failed":
                n += report.count(kind, "not attempted")
            counts.append(n)
        lines.append(f"  {kind + 's':<11}" + "".join(f"{n:>11}" for n in counts))
    return lines


def _phrase(report: Report) -> str:
    parts = []
    for kind in KINDS:
        counts: dict[str, int] = {}
        for item in report.items:
            if item.kind == kind:
                label = LABELS.get(item.outcome, item.outcome) if report.dry_run else item.outcome
                counts[label] = counts.get(label, 0) + 1
        if counts:
            ordered = sorted(counts.items(), key=lambda kv: OUTCOME_ORDER.index(kv[0])
                             if kv[0] in OUTCOME_ORDER else len(OUTCOME_ORDER))
            parts.append(f"{kind}s: " + ", ".join(f"{n} {label}" for label, n in ordered))
    return "; ".join(parts)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


OUTCOME_ORDER = ["created", "would create", "updated", "would update", "deleted", "would delete", "unchanged",
                 "skipped", "would skip", "orphan", "failed", "not attempted"]


def render_push(report: Report, *, root: Path | None, verbose: bool, echo: Callable[..., None]) -> None:
    order = {"datasource": 0, "folder": 1, "dashboard": 2}
    shown = [i for i in report.items if verbose or i.outcome not in ("unchanged",)]
    for item in sorted(shown, key=lambda i: (order[i.kind], i.uid)):
        for line in _item_lines(item, root, verbose or report.dry_run, report.fatal):
            echo(line)
    echo("")
    for line in summary_table(report):
        echo(line)
    traffic = f"{_n(report.requests, 'request')}, {_n(report.writes, 'write')}"
    if report.retried:
        traffic += f", {report.retried} retried"
    timing = f"{traffic}, {report.seconds:.2f} s"
    if report.fatal:
        echo(f"error: {report.fatal}", err=True)
    if report.dry_run:
        echo(f"dry run, nothing written: {_phrase(report)} ({timing})")
    elif report.failed or report.fatal:
        echo(f"push FAILED: {_phrase(report)} ({timing})", err=True)
    else:
        echo(f"pushed: {_phrase(report)} ({timing})")


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


def push(root: Path, target: Target, *, dry_run: bool = False, prune: bool = False, concurrency: int = 8,
         verbose: bool = False, echo: Callable[..., None] | None = None, desired: Desired | None = None) -> int:
    """`obs push`: returns the exit code, prints the report."""
    echo = echo or _click_echo
    if desired is None:
        try:
            desired = desired_state(root)
        except BuildError as error:
            for problem in error.problems:
                echo(f"error: {problem}", err=True)
            echo(f"{len(error.problems)} problem(s): nothing pushed", err=True)
            return EXIT_INVALID
    revision = git_revision(root)
    options = Options(dry_run=dry_run, prune=prune, concurrency=concurrency, backup_dir=root / BACKUP_DIR,
                      message=f"{MESSAGE_PREFIX} {revision}" if revision else MESSAGE_PREFIX,
                      describe=verbose or dry_run)
    mode = "dry run, nothing will be written" if dry_run else "pushing"
    echo(f"{mode}: {desired.describe()} (all built and validated) -> {target.url} ({target.auth_kind})")
    try:
        report = run_sync(target, desired, options)
    except GrafanaError as error:
        echo(f"error: {error}", err=True)
        return EXIT_GRAFANA
    echo(f"Grafana {report.grafana_version}")
    render_push(report, root=root, verbose=verbose, echo=echo)
    if report.fatal or report.failed:
        return EXIT_FAILED
    return EXIT_OK


# --------------------------------------------------------------------------- live diff


def live_diff(root: Path, grafana_url: str, token: str | None = None, user: str | None = None,
              password: str | None = None, insecure: bool = False, output_format: str = "text", *,
              timeout: float = 10.0, retries: int = 4, concurrency: int = 8,
              echo: Callable[..., None] | None = None, desired: Desired | None = None) -> int:
    """`obs diff --grafana-url`: print what `obs push` would change in Grafana, per dashboard and per
    panel, in the format of `obs diff --base` (obs.semantic_diff: text, markdown or json).

    Returns 0 when Grafana matches the code, 1 when a push would change something (or a provisioned
    object differs from the code), 2 on any error (bad URL or credentials, the code does not build,
    Grafana unreachable or not a Grafana). Nothing is written.
    """
    from obs import semantic_diff as sd

    echo = echo or _click_echo
    try:
        target = make_target(grafana_url, token, user, password, insecure=insecure, timeout=timeout, retries=retries)
    except UsageError as error:
        echo(f"error: {error}", err=True)
        return DIFF_ERROR
    if desired is None:
        try:
            desired = desired_state(root)
        except BuildError as error:
            for problem in error.problems:
                echo(f"error: {problem}", err=True)
            echo(f"{len(error.problems)} problem(s): nothing compared", err=True)
            return DIFF_ERROR
    try:
        pushed = run_sync(target, desired, Options(dry_run=True, concurrency=concurrency))
    except GrafanaError as error:
        echo(f"error: {error}", err=True)
        return DIFF_ERROR
    failed = [i for i in pushed.items if i.outcome in ("failed", "not attempted")]
    if pushed.fatal or failed:
        echo(f"error: {pushed.fatal or failed[0].detail}", err=True)
        return DIFF_ERROR
    report = live_report(pushed, desired)
    if output_format == "json":
        echo(sd.render_json(report), nl=False)
    elif output_format == "markdown":
        echo(sd.render_markdown(report), nl=False)
    else:
        echo(sd.render_text(report), nl=False)
    differs = report.changed or any(i.action in ("create", "update") for i in pushed.items)
    return DIFF_CHANGED if differs else DIFF_SAME


DIFF_SAME, DIFF_CHANGED, DIFF_ERROR = 0, 1, 2


def live_report(pushed: Report, desired: Desired) -> Any:
    """An obs.semantic_diff Report: old = what Grafana holds, new = the compiled code; notes for what
    the per-artifact differ does not show (folder moves, drift, provisioned objects, orphans)."""
    from obs import semantic_diff as sd

    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    notes: list[str] = []
    live_sources: list[dict[str, Any]] = []
    for item in pushed.items:
        if item.kind == "datasource" and item.live is not None:
            live_sources.append({"uid": item.uid, **datasource_fields(item.live)})
        if item.kind == "folder" and item.action in ("create", "update"):
            notes.append(f"folder {item.uid} {item.title!r}: a push would {item.action} it"
                         + (f" ({'; '.join(item.changes)})" if item.changes else ""))
        if item.kind != "dashboard":
            if item.action == "skip":
                notes.append(f"{item.kind} {item.uid}: {item.detail}")
            continue
        if item.action == "orphan":
            notes.append(f"dashboard {item.uid} {item.title!r} is in the obs folder with the {MANAGED_TAG} tag "
                         "but not in the code: `obs push --prune` deletes it")
            continue
        path = f"{DASHBOARD_DIR}/{item.uid}.json"
        new[path] = normalise(desired.dashboards[item.uid])
        if item.live is not None:
            old[path] = normalise(item.live)
        if item.folder:
            notes.append(f"dashboard {item.uid} is in folder {item.folder!r}: a push moves it to "
                         f"{desired.folder.title!r}")
        if item.action == "skip":
            notes.append(f"dashboard {item.uid}: {item.detail}")
        if item.drift:
            notes.append(f"dashboard {item.uid} was edited in Grafana since the last obs push ({item.drift}): "
                         "a push saves the live JSON to .obs-backups/ before overwriting it")
    wanted = [{"uid": d["uid"], **datasource_fields(d)} for d in desired.datasources]
    live_by_uid = {d["uid"]: d for d in live_sources}
    # A datasource missing from Grafana shows as added; compare only what the code manages.
    old[DATASOURCES_FILE] = {"datasources": [live_by_uid[d["uid"]] for d in wanted if d["uid"] in live_by_uid]}
    new[DATASOURCES_FILE] = {"datasources": wanted}
    report = sd.diff_documents(old, new)
    report.base = f"Grafana {pushed.grafana_version} at {pushed.url}"
    report.head = "compiled code (what obs push would deploy)"
    report.notes = notes
    return report


def _click_echo(message: str = "", err: bool = False, nl: bool = True) -> None:
    import click

    click.echo(message, err=err, nl=nl)
