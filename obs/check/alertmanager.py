"""Checks on monitoring/alertmanager.yml: its schema (Alertmanager's config format, secrets only as *_file),
receivers that routes name, matcher syntax, and nothing that looks like a pasted secret."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from obs.core import schemas
from obs.core.documents import iter_strings
from obs.core.errors import Problem, json_path

# Alertmanager's matcher syntax, quoted form: name="value", name!="value", name=~"regex", name!~"regex".
MATCHER = re.compile(r'^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*$')
# What a secret looks like when someone pastes one into a template or an address.
SECRET_PATTERNS = re.compile(r"hooks\.slack\.com/services/|xox[abpr]-[0-9A-Za-z-]+|https?://[^/\s:@]+:[^/\s@]+@")


def describe_route(route: Any, path: Sequence[str | int]) -> str:
    if len(path) <= 1:
        return "route (root)"
    matchers = route.get("matchers") if isinstance(route, dict) else None
    return f"route {{{', '.join(matchers)}}}" if isinstance(matchers, list) and matchers else "route"


def routes_of(route: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], dict[str, Any]]]:
    if not isinstance(route, dict):
        return
    yield path, route
    children = route.get("routes")
    for index, child in enumerate(children if isinstance(children, list) else []):
        yield from routes_of(child, [*path, "routes", index])


def _object(document: Any, path: Sequence[str | int]) -> str:
    """Name the route, receiver or inhibit rule a JSON path points into."""
    if not path or not isinstance(document, dict):
        return "alertmanager"
    if path[0] == "route":
        node: Any = document.get("route")
        route_path: list[str | int] = ["route"]
        rest = list(path[1:])
        while len(rest) >= 2 and rest[0] == "routes" and isinstance(rest[1], int) and isinstance(node, dict):
            node = (node.get("routes") or [])[rest[1]]
            route_path += rest[:2]
            rest = rest[2:]
        return describe_route(node, route_path)
    if path[0] == "receivers" and len(path) > 1 and isinstance(path[1], int):
        receivers = document.get("receivers") or []
        receiver = receivers[path[1]] if path[1] < len(receivers) else None
        return f"receiver {receiver.get('name') if isinstance(receiver, dict) else '?'!r}"
    if path[0] == "inhibit_rules" and len(path) > 1:
        return f"inhibit rule {path[1]}"
    return str(path[0])


def check_alertmanager(document: Any, file: str, path: str) -> list[Problem]:
    validator = schemas.validator("alertmanager.schema.json")
    assert validator is not None, "alertmanager.schema.json missing from the package"
    problems = [Problem(file, _object(document, at), json_path(at), message)
                for at, message in validator.findings(document)]
    if not isinstance(document, dict):
        return problems
    receivers = [r.get("name") for r in document.get("receivers") or [] if isinstance(r, dict)]
    for index, name in enumerate(receivers):
        if name in receivers[:index]:
            problems.append(Problem(file, f"receiver {name!r}", json_path(["receivers", index, "name"]),
                                    "duplicate receiver name"))
    for route_path, route in routes_of(document.get("route"), ["route"]):
        what = describe_route(route, route_path)
        receiver = route.get("receiver")
        if receiver is not None and receiver not in receivers:
            defined = ", ".join(map(str, receivers))
            problems.append(Problem(file, what, json_path([*route_path, "receiver"]),
                                    f"receiver {receiver!r} is not defined (receivers: {defined})"))
        for index, matcher in enumerate(route.get("matchers") or []):
            if not isinstance(matcher, str) or not MATCHER.match(matcher):
                problems.append(Problem(file, what, json_path([*route_path, "matchers", index]),
                                        f'matcher {matcher!r} is not name="value" (or !=, =~, !~)'))
    for index, rule in enumerate(document.get("inhibit_rules") or []):
        for key in ("source_matchers", "target_matchers"):
            for position, matcher in enumerate((rule.get(key) or []) if isinstance(rule, dict) else []):
                if not isinstance(matcher, str) or not MATCHER.match(matcher):
                    problems.append(Problem(file, f"inhibit rule {index}", json_path(["inhibit_rules", index, key,
                                                                                      position]),
                                            f'matcher {matcher!r} is not name="value" (or !=, =~, !~)'))
    for string_path, text in iter_strings(document, []):
        if SECRET_PATTERNS.search(text):
            problems.append(Problem(file, _object(document, string_path), json_path(string_path),
                                    "looks like a secret: read it from a file (*_file fields) mounted at deploy time"))
    return problems
