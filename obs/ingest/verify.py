"""The proof that a generated module builds back to the dashboard it was generated from.

The module's source is run as the build runs content (the project's catalog active), its `dashboard` compiled
with the build's own compiler, and the result compared with the document: key by key at the top, panel by
panel (by JSON path), variable by variable. An empty comparison means the compiled file equals the document,
so `obs diff` between them is empty too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grafanalib.core as G

from obs.compile.dashboard_json import compile_dashboard

Path = tuple[Any, ...]


class BuildFailed(Exception):
    """The generated module does not run or does not define a dashboard (a bug of the generator)."""


def build_source(source: str, filename: str) -> dict[str, Any]:
    """Run `source` as the dashboard module `filename` and compile its `dashboard`."""
    namespace: dict[str, Any] = {"__name__": "dashboards._obs_import", "__file__": filename}
    try:
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated code
    except Exception as error:
        raise BuildFailed(f"{type(error).__name__}: {error}") from error
    dashboard = namespace.get("dashboard")
    if not isinstance(dashboard, G.Dashboard):
        raise BuildFailed(f"defines no grafanalib Dashboard named `dashboard` (got {type(dashboard).__name__})")
    try:
        return compile_dashboard(dashboard)
    except Exception as error:
        raise BuildFailed(f"does not compile: {type(error).__name__}: {error}") from error


@dataclass
class Comparison:
    settings: list[str] = field(default_factory=list)  # top-level keys that differ
    extra_settings: list[str] = field(default_factory=list)  # keys the build writes that the document lacks
    layout: bool = False  # the panels are not in the same places, or not the same panels
    panels: dict[Path, list[str]] = field(default_factory=dict)  # path -> keys that differ
    variables: list[int] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.settings or self.extra_settings or self.layout or self.panels or self.variables)

    def first(self) -> str:
        if self.extra_settings:
            return f"$.{self.extra_settings[0]} is written by the build but was not in the dashboard"
        if self.settings:
            return f"$.{self.settings[0]} differs"
        if self.layout:
            return "the panels are not placed as they were"
        if self.panels:
            path, keys = next(iter(self.panels.items()))
            return f"{_json_path(path)}: {', '.join(keys)} differ"
        return f"$.templating.list[{self.variables[0]}] differs"


def compare(expected: dict[str, Any], built: dict[str, Any]) -> Comparison:
    result = Comparison()
    for key in sorted(set(expected) | set(built)):
        if key in ("panels", "templating"):
            continue
        if key not in expected:
            result.extra_settings.append(key)
        elif expected.get(key) != built.get(key):
            result.settings.append(key)
    want, got = dict(_flat(expected)), dict(_flat(built))
    if list(want) != list(got):
        result.layout = True
    for path, panel in want.items():
        other = got.get(path)
        if other is None:
            result.layout = True
            continue
        if panel.get("gridPos") != other.get("gridPos"):
            result.layout = True
        keys = sorted(k for k in set(panel) | set(other) if k not in ("gridPos", "panels")
                      and panel.get(k) != other.get(k))
        if keys:
            result.panels[path] = keys
    want_vars = (expected.get("templating") or {}).get("list") or []
    got_vars = (built.get("templating") or {}).get("list") or []
    for index in range(max(len(want_vars), len(got_vars))):
        if index >= len(want_vars) or index >= len(got_vars) or want_vars[index] != got_vars[index]:
            result.variables.append(index)
    if "templating" in built and set(expected.get("templating") or {}) != set(built["templating"]):
        result.settings.append("templating")
    return result


_ABSENT = object()


def differences(want: Any, got: Any, limit: int = 3, writer: str = "the builder") -> str:
    """Where `got` (what a builder wrote) is not `want` (the document), leaf by leaf: "options.legend.displayMode
    'list' (the builder writes 'table'), fieldConfig.defaults.min 0 (the builder writes none)"; the first `limit`,
    then how many more."""
    found = list(_leaves(want, got, ""))
    text = [f"{path or 'the value'} {_show(a)} ({writer} writes {_show(b)})" for path, a, b in found[:limit]]
    if len(found) > limit:
        text.append(f"{len(found) - limit} more")
    return ", ".join(text)


def _leaves(want: Any, got: Any, path: str) -> Any:
    if isinstance(want, dict) and isinstance(got, dict):
        for key in [*want, *(k for k in got if k not in want)]:
            yield from _leaves(want.get(key, _ABSENT), got.get(key, _ABSENT), f"{path}.{key}" if path else str(key))
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for index, (a, b) in enumerate(zip(want, got, strict=True)):
            yield from _leaves(a, b, f"{path}[{index}]")
    elif want != got:
        yield path, want, got


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "none"
    import json

    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _flat(document: dict[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for index, panel in enumerate(document.get("panels") or []):
        out.append((("panels", index), panel))
        for child_index, child in enumerate(panel.get("panels") or []):
            out.append((("panels", index, "panels", child_index), child))
    return out


def _json_path(path: Path) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
