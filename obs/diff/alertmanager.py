"""Alertmanager: routes matched by their matchers, receivers by name, inhibit rules."""

from __future__ import annotations

import re
from typing import Any

from obs.diff.model import Change, Documents, Section
from obs.diff.values import fmt, setting_changes, without


def _matchers(route: dict[str, Any]) -> list[str]:
    """A route's matchers in one normal form, whichever syntax it uses (matchers, match, match_re)."""
    out = [re.sub(r"\s*(=~|!~|!=|=)\s*", r"\1", str(m).strip()) for m in route.get("matchers") or []]
    out += [f'{k}="{v}"' for k, v in (route.get("match") or {}).items()]
    out += [f'{k}=~"{v}"' for k, v in (route.get("match_re") or {}).items()]
    return sorted(out)


def route_entries(config: Any) -> dict[str, tuple[int, dict[str, Any]]]:
    """Every route of the tree, keyed by its matchers from the root down: 'root', '{severity="critical"}',
    '{team="x"} > {severity="critical"}'; with its position among its siblings."""
    out: dict[str, tuple[int, dict[str, Any]]] = {}

    def walk(route: dict[str, Any], chain: list[str], position: int) -> None:
        key = " > ".join(chain) if chain else "root"
        unique, number = key, 2
        while unique in out:
            unique, number = f"{key} #{number}", number + 1
        out[unique] = (position, route)
        for index, child in enumerate(route.get("routes") or []):
            if isinstance(child, dict):
                walk(child, [*chain, "{" + ", ".join(_matchers(child)) + "}"], index)

    route = config.get("route") if isinstance(config, dict) else None
    if isinstance(route, dict):
        walk(route, [], 0)
    return out


ROUTE_IDENTITY = ("routes", "matchers", "match", "match_re")


def diff_alertmanager(old: Documents, new: Documents) -> list[Section]:
    sections = []
    for path in sorted({*old, *new}):
        before, after = old.get(path), new.get(path)
        changes = alertmanager_changes(before if isinstance(before, dict) else {},
                                       after if isinstance(after, dict) else {})
        if changes:
            status = "added" if path not in old else "removed" if path not in new else "changed"
            sections.append(Section("alertmanager", path, "Alertmanager", status, [path], changes))
    return sections


def alertmanager_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    old_routes, new_routes = route_entries(old), route_entries(new)
    for key in [*new_routes, *(k for k in old_routes if k not in new_routes)]:
        if key not in old_routes:
            changes.append(Change("route", key, "added", new=_route_outline(new_routes[key][1])))
        elif key not in new_routes:
            changes.append(Change("route", key, "removed", old=_route_outline(old_routes[key][1])))
        else:
            (old_position, before), (new_position, after) = old_routes[key], new_routes[key]
            changes += setting_changes("route", key, without(before, *ROUTE_IDENTITY), without(after, *ROUTE_IDENTITY))
            if old_position != new_position:
                changes.append(Change("route", key, "moved", "position", old_position + 1, new_position + 1,
                                      note="routes are tried in order"))
    old_receivers = {str(r.get("name")): r for r in old.get("receivers") or [] if isinstance(r, dict)}
    new_receivers = {str(r.get("name")): r for r in new.get("receivers") or [] if isinstance(r, dict)}
    for name in sorted({*old_receivers, *new_receivers}):
        if name not in old_receivers:
            changes.append(Change("receiver", name, "added", new=_receiver_outline(new_receivers[name])))
        elif name not in new_receivers:
            changes.append(Change("receiver", name, "removed", old=_receiver_outline(old_receivers[name])))
        else:
            changes += setting_changes("receiver", name, without(old_receivers[name], "name"),
                                       without(new_receivers[name], "name"))
    old_inhibit = {fmt(r, 10**6): r for r in old.get("inhibit_rules") or []}
    new_inhibit = {fmt(r, 10**6): r for r in new.get("inhibit_rules") or []}
    changes += [Change("inhibit rule", _inhibit_outline(r), "added") for k, r in new_inhibit.items()
                if k not in old_inhibit]
    changes += [Change("inhibit rule", _inhibit_outline(r), "removed") for k, r in old_inhibit.items()
                if k not in new_inhibit]
    others = ("route", "receivers", "inhibit_rules")
    changes += setting_changes("alertmanager setting", "alertmanager", without(old, *others), without(new, *others))
    return changes


def _route_outline(route: dict[str, Any]) -> str:
    return f"to {route.get('receiver', '(parent receiver)')}" + (" (continue)" if route.get("continue") else "")


def _receiver_outline(receiver: dict[str, Any]) -> str:
    kinds = [k.removesuffix("_configs") for k in receiver if k.endswith("_configs")]
    return ", ".join(kinds) or "no integrations"


def _inhibit_outline(rule: Any) -> str:
    if not isinstance(rule, dict):
        return fmt(rule)
    source = ", ".join(_matchers({"matchers": rule.get("source_matchers"), "match": rule.get("source_match"),
                                  "match_re": rule.get("source_match_re")}))
    target = ", ".join(_matchers({"matchers": rule.get("target_matchers"), "match": rule.get("target_match"),
                                  "match_re": rule.get("target_match_re")}))
    equal = f" equal on {', '.join(rule.get('equal') or [])}" if rule.get("equal") else ""
    return f"{{{source}}} silences {{{target}}}{equal}"
