"""Prometheus rules: alert and recording rules matched by name across every rule file, their expressions,
durations, labels and annotations; rule groups."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from obs.diff.model import Change, Documents, Section
from obs.diff.values import fmt, setting_changes, text_change, without


@dataclass(frozen=True)
class RuleInfo:
    kind: str  # "alert rule" or "recording rule"
    name: str
    rule: dict[str, Any]
    group: str
    path: str


def rule_infos(documents: Documents) -> dict[tuple[str, str], RuleInfo]:
    """Every rule of every file, keyed by kind and name (alerts sharing a name, as a warning and a
    critical variant do, are told apart by their severity, then by their labels)."""
    found: list[RuleInfo] = []
    for path, document in sorted(documents.items()):
        for group in _groups(document):
            for rule in group.get("rules") or []:
                if not isinstance(rule, dict):
                    continue
                kind = "alert rule" if "alert" in rule else "recording rule"
                found.append(RuleInfo(kind, str(rule.get("alert") or rule.get("record") or "?"), rule,
                                      str(group.get("name", "")), path))
    names = Counter((r.kind, r.name) for r in found)
    keyed: dict[tuple[str, str], RuleInfo] = {}
    for info in found:
        display = info.name
        if names[(info.kind, info.name)] > 1:
            labels = info.rule.get("labels") or {}
            display += f" [severity={labels['severity']}]" if "severity" in labels else f" {fmt(labels)}"
        key, number = (info.kind, display), 2
        while key in keyed:
            key, number = (info.kind, f"{display} #{number}"), number + 1
        keyed[key] = info
    return keyed


def _groups(document: Any) -> list[dict[str, Any]]:
    groups = document.get("groups") if isinstance(document, dict) else None
    return [g for g in groups or [] if isinstance(g, dict)]


RULE_FIELDS = ("expr", "for", "keep_firing_for", "labels", "annotations")


def diff_rules(old: Documents, new: Documents) -> list[Section]:
    old_rules, new_rules = rule_infos(old), rule_infos(new)
    changes: list[Change] = []
    changes += group_changes(old, new)
    for key in sorted({*old_rules, *new_rules}, key=lambda k: (k[0] != "alert rule", k[1])):
        kind, name = key
        before, after = old_rules.get(key), new_rules.get(key)
        if before is None and after is not None:
            changes.append(Change(kind, name, "added", new=_rule_outline(after), ref=_rule_ref(after)))
        elif after is None and before is not None:
            changes.append(Change(kind, name, "removed", old=_rule_outline(before), ref=_rule_ref(before)))
        elif before is not None and after is not None:
            changes += rule_changes(kind, name, before, after)
    if not changes:
        return []
    paths = sorted({*old, *new})
    status = "added" if not old else "removed" if not new else "changed"
    return [Section("rules", "prometheus-rules", "Prometheus rules", status, paths, changes)]


def _rule_ref(info: RuleInfo) -> dict[str, Any]:
    return {"file": info.path, "group": info.group}


def _rule_outline(info: RuleInfo) -> str:
    text = f"{info.rule.get('expr', '')}"
    if info.rule.get("for"):
        text += f" for {info.rule['for']}"
    severity = (info.rule.get("labels") or {}).get("severity")
    return text + (f" (severity {severity})" if severity else "")


def rule_changes(kind: str, name: str, old: RuleInfo, new: RuleInfo) -> list[Change]:
    ref = _rule_ref(new)
    a, b = old.rule, new.rule
    changes: list[Change] = []
    if a.get("expr") != b.get("expr"):
        changes.append(text_change(kind, name, "expr", str(a.get("expr", "")), str(b.get("expr", "")), ref))
    for key in ("for", "keep_firing_for"):
        if a.get(key) != b.get(key):
            changes.append(Change(kind, name, "changed", key, a.get(key), b.get(key), ref=ref))
    for key in ("labels", "annotations"):
        changes += setting_changes(kind, name, a.get(key) or {}, b.get(key) or {}, prefix=key, ref=ref)
    changes += setting_changes(kind, name, without(a, "alert", "record", *RULE_FIELDS),
                               without(b, "alert", "record", *RULE_FIELDS), ref=ref)
    if (old.path, old.group) != (new.path, new.group):
        changes.append(Change(kind, name, "moved", "group", f"{old.group} ({old.path})",
                              f"{new.group} ({new.path})", ref=ref))
    return changes


def group_changes(old: Documents, new: Documents) -> list[Change]:
    """Rule groups added or removed, and their own settings (interval, limit...)."""
    def groups(documents: Documents) -> dict[str, dict[str, Any]]:
        return {str(g.get("name")): g for _, d in sorted(documents.items()) for g in _groups(d)}

    old_groups, new_groups = groups(old), groups(new)
    changes: list[Change] = []
    for name in sorted({*old_groups, *new_groups}):
        if name not in old_groups:
            changes.append(Change("rule group", name, "added"))
        elif name not in new_groups:
            changes.append(Change("rule group", name, "removed"))
        else:
            changes += setting_changes("rule group", name, without(old_groups[name], "name", "rules"),
                                       without(new_groups[name], "name", "rules"))
    return changes
