"""A dashboard from another Grafana made one of this project's, and each change said.

    inputs       an "Export for sharing externally" file's `__inputs` (${DS_PROMETHEUS}, constants) replaced as
                 Grafana's import replaces them (pkg/services/dashboardimport: the template evaluator puts the
                 chosen datasource's uid, or the constant's value, wherever `${NAME}` stands), with the project's
                 provisioned datasource of the input's plugin type; `__inputs`, `__requires`, `__elements` go
    server       `id` and `version` go: the Grafana that stores the dashboard sets them (the semantic diff
                 ignores them too)
    datasources  a reference to a datasource the project does not provision is pointed at the one it
                 provisions of the same type (there must be exactly one), so the dashboard queries what the
                 project runs
    the uid      a dashboard without one gets one from its title (obs pushes and links by uid)
    the tag      obs's managed tag is added: `obs push --prune` only ever touches dashboards that carry it

Every function returns what it changed, for the module's docstring; a change that cannot be made is a problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from obs.ingest.datasources import SPECIAL, DatasourceInfo

ENVELOPE = ("__inputs", "__requires", "__elements")
SERVER_FIELDS = ("id", "version")
UID_CHARACTERS = re.compile(r"[^a-zA-Z0-9_-]+")


@dataclass
class Adapted:
    dashboard: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (JSON path, reason)


def resolve_inputs(dashboard: dict[str, Any], provisioned: Sequence[DatasourceInfo]) -> Adapted:
    out = Adapted(dashboard)
    inputs = dashboard.get("__inputs")
    values: dict[str, str] = {}
    for index, item in enumerate(inputs if isinstance(inputs, list) else []):
        if not isinstance(item, dict) or not item.get("name"):
            continue
        name, kind = str(item["name"]), item.get("type")
        if kind == "datasource":
            plugin = str(item.get("pluginId") or "")
            chosen = _provisioned_of_type(provisioned, plugin)
            if chosen is None:
                out.problems.append((f"$.__inputs[{index}]", f"input {name} needs a {plugin} datasource and "
                                     f"datasources/ provisions {_count(provisioned, plugin)}"))
                continue
            values[name] = chosen.uid
            out.notes.append(f"input ${{{name}}} ({plugin}) -> the provisioned datasource {chosen.uid}")
        elif kind == "constant":
            values[name] = str(item.get("value") if item.get("value") is not None else "")
            out.notes.append(f"input ${{{name}}} (constant) -> {values[name]!r}")
        else:
            out.problems.append((f"$.__inputs[{index}]", f"input {name} of type {kind!r}: obs import fills "
                                                         "datasource and constant inputs only"))
    if values:
        out.dashboard = _substitute(dashboard, values)
    for key in ENVELOPE:
        if key in out.dashboard:
            out.dashboard.pop(key)
            out.notes.append(f"{key} (the sharing envelope) dropped, as Grafana's import drops it")
    return out


def adapt(dashboard: dict[str, Any], provisioned: Sequence[DatasourceInfo], managed_tag: str,
          known: Sequence[DatasourceInfo] = ()) -> Adapted:
    """`known`: every datasource of the Grafana the dashboard came from (to tell a reference's type)."""
    out = Adapted(dashboard)
    for key in SERVER_FIELDS:
        if key in dashboard:
            dashboard.pop(key)
    if not dashboard.get("uid"):
        uid = UID_CHARACTERS.sub("-", str(dashboard.get("title") or "dashboard").lower()).strip("-")[:40] or "imported"
        dashboard["uid"] = uid
        out.notes.append(f"uid {uid!r} given (from the title): it had none")
    uids = {d.uid for d in provisioned}
    builtin = {s["uid"] for s in SPECIAL.values()} | {"grafana", "__expr__"}
    for path, ref in _references(dashboard, []):
        uid = ref.get("uid")
        if not isinstance(uid, str) or uid in uids or uid in builtin or uid.startswith("$"):
            continue
        kind = ref.get("type") or next((d.type for d in known if d.uid == uid or d.name == uid), None)
        chosen = _provisioned_of_type(provisioned, kind) if kind else None
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        if chosen is None:
            what = f"a {kind} datasource" if kind else "a datasource of unknown type"
            out.problems.append((where, f"datasource {uid!r} ({what}) is not provisioned by datasources/ and "
                                        f"datasources/ provisions {_count(provisioned, kind)} of its type to use "
                                        "instead"))
            continue
        ref.clear()
        ref.update(chosen.ref())
        out.notes.append(f"datasource {uid!r} ({kind}) -> the provisioned {chosen.uid}")
    tags = dashboard.get("tags") if isinstance(dashboard.get("tags"), list) else []
    if managed_tag not in tags:
        dashboard["tags"] = [*tags, managed_tag]
        out.notes.append(f"tag {managed_tag!r} added: obs push manages the dashboards that carry it")
    out.notes = list(dict.fromkeys(out.notes))
    return out


def _references(node: Any, path: list[Any]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and isinstance(value, dict):
                yield [*path, key], value
            else:
                yield from _references(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _references(value, [*path, index])


def _provisioned_of_type(provisioned: Sequence[DatasourceInfo], kind: str | None) -> DatasourceInfo | None:
    matching = [d for d in provisioned if d.type == kind]
    if len(matching) > 1:
        defaults = [d for d in matching if d.is_default]
        return defaults[0] if len(defaults) == 1 else None
    return matching[0] if matching else None


def _count(provisioned: Sequence[DatasourceInfo], kind: str | None) -> str:
    number = sum(1 for d in provisioned if d.type == kind)
    return "none" if number == 0 else f"{number} with no default among them"


def _substitute(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), node)
    if isinstance(node, dict):
        return {key: _substitute(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute(value, values) for value in node]
    return node
