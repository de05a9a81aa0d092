"""`obs diff --grafana-url`: what `obs push` would change in a running Grafana, per dashboard and per panel,
as the same kind of Report `obs diff --base` gives. A dry-run push reads Grafana; nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obs.core.paths import DATASOURCES_FILE, dashboard_file
from obs.deploy.compare import datasource_fields, normalise
from obs.deploy.desired import Desired
from obs.deploy.report import Report as PushReport
from obs.deploy.sync import Options, run_sync
from obs.deploy.target import Target
from obs.diff import diff_documents
from obs.diff.model import Report


@dataclass(frozen=True)
class LiveComparison:
    report: Report  # Grafana (old) against the code (new)
    pushed: PushReport  # the dry run it was read from

    @property
    def differs(self) -> bool:
        return self.report.changed or any(i.action in ("create", "update") for i in self.pushed.items)

    @property
    def failure(self) -> str:
        """Why the comparison is incomplete ("" when it is not): Grafana stopped answering, or an object
        could not be read."""
        failed = [i for i in self.pushed.items if i.outcome in ("failed", "not attempted")]
        return self.pushed.fatal or (failed[0].detail if failed else "")


def compare_with_grafana(target: Target, desired: Desired, *, concurrency: int = 8,
                         schema: str = "v1") -> LiveComparison:
    """Raises obs.deploy.client.GrafanaError when Grafana cannot be used at all."""
    pushed = run_sync(target, desired, Options(dry_run=True, concurrency=concurrency, server_dry_run=False,
                                               schema=schema))
    return LiveComparison(live_report(pushed, desired), pushed)


def live_report(pushed: PushReport, desired: Desired) -> Report:
    """A semantic-diff Report: old = what Grafana holds, new = the compiled code; notes for what the
    per-artifact differ does not show (folder moves, drift, provisioned objects, orphans)."""
    from catalog.grafana import MANAGED_TAG

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
            notes.append(f"dashboard {item.uid} {item.title!r} is obs's (in the obs folder, managed by obs or with "
                         f"the {MANAGED_TAG} tag) but not in the code: `obs push --prune` deletes it")
            continue
        path = dashboard_file(item.uid)
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
    report = diff_documents(old, new)
    report.base = f"Grafana {pushed.grafana_version} at {pushed.url}"
    report.head = "compiled code (what obs push would deploy)"
    report.notes = notes
    return report
