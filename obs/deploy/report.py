"""What a push did (or, in a dry run, would do), object by object, and the lines that say so. Nothing here
prints: the command layer does."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


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
    backup_written: bool = False  # by this push (a refused write removes it)
    version: int | None = None
    live: Any = field(default=None, repr=False)  # the live object as read (for diffs; not reported)
    folder: str = ""  # the live dashboard's folder uid, when it is not the obs folder
    api_version: str = ""  # the API version Grafana stores the dashboard in (on /apis)


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
    api: str = ""  # which API served dashboards and folders
    dry_run_note: str = ""  # what Grafana itself checked in a dry run
    pages: int = 0  # list pages read (on /apis)

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
    if item.drift and item.kind == "dashboard":
        lines.append(f"      edited in Grafana since the last obs push: {item.drift}")
    elif item.drift:
        lines.append(f"      {item.drift}")
    if item.backup:
        shown = item.backup
        if root is not None:
            with contextlib.suppress(ValueError):
                shown = str(Path(item.backup).resolve().relative_to(root.resolve()))
        if item.outcome in ("failed", "not attempted"):
            lines.append(f"      live JSON saved to {shown} (nothing was overwritten)")
        else:
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


@dataclass(frozen=True)
class Line:
    text: str
    error: bool = False  # for stderr


def render_push(report: Report, *, root: Path | None, verbose: bool) -> list[Line]:
    """The push report as a terminal shows it: one block per object that changed (every object with
    `verbose`), the summary table, then the outcome line."""
    lines: list[Line] = []
    order = {"datasource": 0, "folder": 1, "dashboard": 2}
    shown = [i for i in report.items if verbose or i.outcome not in ("unchanged",)]
    for item in sorted(shown, key=lambda i: (order[i.kind], i.uid)):
        lines += [Line(text) for text in _item_lines(item, root, verbose or report.dry_run, report.fatal)]
    lines.append(Line(""))
    lines += [Line(text) for text in summary_table(report)]
    traffic = f"{_n(report.requests, 'request')}, {_n(report.writes, 'write')}"
    if report.retried:
        traffic += f", {report.retried} retried"
    timing = f"{traffic}, {report.seconds:.2f} s"
    if report.fatal:
        lines.append(Line(f"error: {report.fatal}", error=True))
    if report.dry_run:
        if report.dry_run_note:
            lines.append(Line(f"dry run: {report.dry_run_note}"))
        lines.append(Line(f"dry run, nothing written: {_phrase(report)} ({timing})"))
    elif report.failed or report.fatal:
        lines.append(Line(f"push FAILED: {_phrase(report)} ({timing})", error=True))
    else:
        lines.append(Line(f"pushed: {_phrase(report)} ({timing})"))
    return lines
