"""What a semantic diff says: Changes to subjects, grouped in Sections (one per dashboard, one for all rule
files...), in a Report."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any

Documents = dict[str, Any]  # artifact path -> parsed document

@dataclass
class Change:
    """One thing that changed about one subject (a panel, a variable, an alert rule, a route...)."""

    subject_kind: str  # "dashboard", "panel", "row", "variable", "alert rule", "recording rule", "route", ...
    subject: str  # its name, as a reviewer knows it: the panel title, the alert name
    action: str  # "added", "removed", "changed", "moved", "resized"
    field: str = ""  # what about it changed: "title", "query A", "unit", "thresholds", "expr", "for", ...
    old: Any = None
    new: Any = None
    diff: list[str] = dataclasses.field(default_factory=list)  # a line diff ("-old", "+new", " same") for text fields
    note: str = ""  # a reading of the change: "threshold 0.2 -> 0.25"
    ref: dict[str, Any] = dataclasses.field(default_factory=dict)  # identifiers: panel ids on both sides, file, group

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"subject_kind": self.subject_kind, "subject": self.subject, "action": self.action}
        for key in ("field", "old", "new", "diff", "note", "ref"):
            value = getattr(self, key)
            if value not in ("", None, [], {}):
                out[key] = value
        return out


@dataclass
class Section:
    """The changes to one artifact (a dashboard) or one family of artifacts (all rule files)."""

    kind: str  # "dashboard", "rules", "alertmanager", "datasources", "file"
    key: str  # the dashboard uid, or the path
    title: str
    status: str  # "added", "removed", "changed"
    paths: list[str]
    changes: list[Change] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "title": self.title, "status": self.status,
                "paths": self.paths, "changes": [c.to_dict() for c in self.changes]}


@dataclass
class Report:
    sections: list[Section] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)  # e.g. "the base did not build"
    base: str = ""  # what the old side is, for the heading: "main (0f2266f)"
    head: str = "working tree"

    @property
    def changed(self) -> bool:
        return bool(self.sections)

    def counts(self) -> list[tuple[str, str, int]]:
        """(what, how, count): ("dashboard", "changed", 2), ("alert rule", "added", 1)..."""
        units: list[tuple[str, str]] = []
        for section in self.sections:
            if section.kind in ("dashboard", "file"):
                units.append((section.kind, section.status))
                continue
            seen: dict[tuple[str, str], str] = {}
            for change in section.changes:
                key = (change.subject_kind, change.subject)
                action = change.action if change.action in ("added", "removed") else "changed"
                seen.setdefault(key, action)
            units += [(kind, action) for (kind, _), action in seen.items()]
        counted = Counter(units)
        kinds = list(dict.fromkeys(kind for kind, _ in units))
        return [(kind, how, counted[(kind, how)]) for kind in kinds for how in ("added", "removed", "changed")
                if counted[(kind, how)]]

    def summary(self) -> str:
        if not self.changed:
            return "no changes"
        return ", ".join(f"{count} {plural(kind, count)} {how}" for kind, how, count in self.counts())

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base, "head": self.head, "changed": self.changed, "summary": self.summary(),
                "counts": [{"kind": k, "action": a, "count": n} for k, a, n in self.counts()],
                "notes": self.notes, "sections": [s.to_dict() for s in self.sections]}


def plural(word: str, count: int) -> str:
    if count == 1:
        return word
    return word + ("es" if word.endswith("s") else "s")
