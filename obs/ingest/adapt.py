"""A dashboard from another Grafana made one of this project's, and each change said.

    inputs       an "Export for sharing externally" file's `__inputs` (${DS_PROMETHEUS}, constants) replaced as
                 Grafana's import replaces them (pkg/services/dashboardimport: the template evaluator puts the
                 chosen datasource's uid, or the constant's value, wherever `${NAME}` stands), with the project's
                 provisioned datasource of the input's plugin type; `__inputs`, `__requires`, `__elements` go
    server       `id` and `version` go: the Grafana that stores the dashboard sets them (the semantic diff
                 ignores them too)
    datasources  a reference to a datasource the project does not provision is pointed at the one it
                 provisions of the same type (there must be exactly one), so the dashboard queries what the
                 project runs; a reference to a datasource variable written `$ds` or `[[ds]]` is written `${ds}`,
                 as the project writes it (the same variable to Grafana: template_srv.ts replaces all three)
    the uid      a dashboard without one gets one from its title (obs pushes and links by uid)
    the tag      obs's managed tag is added: `obs push --prune` only ever touches dashboards that carry it

Every function returns what it changed, for the module's docstring; a change that cannot be made is a problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from obs.ingest.datasources import SPECIAL, DatasourceInfo, plain_variable, variable_reference
from obs.ingest.queries import editor_form

ENVELOPE = ("__inputs", "__requires", "__elements")
# What Grafana writes or leaves that Grafana 13's dashboard model (@grafana/schema 13.2.3, which every build
# validates against) has no field for: (which objects, the key, the only values that may go, why dropping it
# changes nothing). A value outside the allowed ones (None: any) cannot go, and the import says so.
def _footer_off(value: Any) -> bool:
    return isinstance(value, dict) and not value.get("show")


NOT_IN_MODEL: tuple[tuple[str, tuple[str, ...], Any, str], ...] = (
    ("panel", ("fieldConfig", "defaults", "nullValueMode"), None,
     "the graph and singlestat migrations write it; no panel of Grafana 13 reads it"),
    ("row", ("targets",), None, "schema 36 gives every panel a query, rows too; a row runs none"),
    ("variable", ("definition",), None, "a copy of the query the variables page shows"),
    ("variable", ("queryValue",), None, "what the variable editor typed, before it was applied"),
    ("table", ("options", "footer"), _footer_off, "the table footer of Grafana 11 and older, switched off"),
)
# Settings whose value is what their absence means to Grafana 13, dropped so that the builders (which write
# neither) can give the panel: (which objects, the key, the value or a tuple of the values, why it is the same).
SAME_AS_ABSENT: tuple[tuple[str, tuple[str, ...], Any, str], ...] = (
    ("stat", ("options", "text"), {}, "no text sizes set, as without it"),
    ("panel", ("fieldConfig", "defaults", "links"), [], "no data links, as without it"),
    ("variable", ("skipUrlSync",), False, "the value kept in the URL, as without it"),
    ("interval", ("auto",), False, "the interval variable's automatic option off, as without it"),
    ("interval", ("auto_count",), 30, "the default count, and read only by the automatic option"),
    ("interval", ("auto_min",), "10s", "the default minimum, and read only by the automatic option"),
    ("variable", ("current", "selected"), (True, False), "Grafana 13 reads the text and value of a variable's "
     "current value only (dashboard-scene/serialization/transformSaveModelToScene.ts)"),
)
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
        if variable_reference(uid) is not None:  # [[ds]] or [[ds:format]]: a variable, as $ds is
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
    variable_spelling(dashboard, out)
    prometheus_queries(dashboard, out)
    same_as_absent(dashboard, out)
    fit_model(dashboard, out)
    tags = dashboard.get("tags") if isinstance(dashboard.get("tags"), list) else []
    if managed_tag not in tags:
        dashboard["tags"] = [*tags, managed_tag]
        out.notes.append(f"tag {managed_tag!r} added: obs push manages the dashboards that carry it")
    out.notes = list(dict.fromkeys(out.notes))
    return out


def variable_spelling(dashboard: dict[str, Any], out: Adapted) -> None:
    """Datasource references to a variable as `${name}`, the way the project's builders write them (catalog
    PROMETHEUS_VARIABLE), so that the panels and variables that use one can be written with them."""
    plugins = {str(v.get("name")): str(v.get("query") or "") for v in (dashboard.get("templating") or {}).get("list")
               or [] if isinstance(v, dict) and v.get("type") == "datasource" and v.get("query")}
    for _, ref in _references(dashboard, []):
        uid = ref.get("uid")
        name = plain_variable(uid)
        if name is None or uid == f"${{{name}}}":
            continue
        ref["uid"] = f"${{{name}}}"
        typed = ""
        if "type" not in ref and name in plugins:
            # What Grafana's migration gives `${name}` (DashboardMigrator, getInstanceSettings), not `[[name]]`.
            ref["type"] = plugins[name]
            typed = f", of type {plugins[name]} (the datasources the variable lists)"
        out.notes.append(f"datasource {uid!r} written '${{{name}}}'{typed}, as the project writes it: the same "
                         "variable to Grafana (template_srv.ts replaces $name, [[name]] and ${name} alike)")


def prometheus_queries(dashboard: dict[str, Any], out: Adapted) -> None:
    """Prometheus queries as Grafana 13's query editor saves them, where Grafana runs and names the same
    (obs.ingest.queries.editor_form)."""
    changes: list[str] = []
    panels: list[str] = []
    for panel in _panels(dashboard):
        panel_source = panel.get("datasource")
        for target in panel.get("targets") or []:
            if not isinstance(target, dict):
                continue
            source = target.get("datasource") if isinstance(target.get("datasource"), dict) else panel_source
            if not isinstance(source, dict) or source.get("type") != "prometheus":
                continue
            changed = editor_form(target)
            changes += [change for change in changed if change not in changes]
            if changed and f"panel {panel.get('id')}" not in panels:
                panels.append(f"panel {panel.get('id')}")
    if changes:
        out.notes.append(f"Prometheus queries ({', '.join(panels)}) as Grafana 13's query editor saves them, which "
                         f"Grafana runs and names the same (obs/ingest/queries.py): {', '.join(changes)}")


def same_as_absent(dashboard: dict[str, Any], out: Adapted) -> None:
    for where, keys, value, why in SAME_AS_ABSENT:
        dropped = []
        for name, _, node in _objects(dashboard, where):
            found = _value(node, keys)
            if any(found == allowed and type(found) is type(allowed)
                   for allowed in (value if isinstance(value, tuple) else (value,))):
                _drop(node, keys)
                dropped.append(name)
        if dropped:
            what = "" if isinstance(value, tuple) else f" {value!r}"
            out.notes.append(f"{'.'.join(keys)}{what} dropped ({', '.join(dropped)}): {why}")


def fit_model(dashboard: dict[str, Any], out: Adapted) -> None:
    """Drop what NOT_IN_MODEL allows to drop, saying where; a value it does not allow is a problem."""
    for where, keys, allowed, why in NOT_IN_MODEL:
        dropped = []
        for name, path, node in _objects(dashboard, where):
            value = _value(node, keys)
            if value is _ABSENT:
                continue
            if allowed is not None and not (allowed(value) if callable(allowed) else value in allowed):
                out.problems.append((f"{path}.{'.'.join(keys)}", f"{name}: {keys[-1]} {value!r} is not in Grafana "
                                                                 "13's dashboard model, and obs build would refuse it"))
                continue
            _drop(node, keys)
            dropped.append(name)
        if dropped:
            out.notes.append(f"{'.'.join(keys)} dropped ({', '.join(dropped)}): not in Grafana 13's dashboard "
                             f"model; {why}")


def _objects(dashboard: dict[str, Any], where: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    if where in ("panel", "row", "table", "stat"):
        for index, panel in enumerate(dashboard.get("panels") or []):
            found = [(f"$.panels[{index}]", panel)]
            found += [(f"$.panels[{index}].panels[{i}]", p) for i, p in enumerate(panel.get("panels") or [])]
            for path, node in found:
                kind = node.get("type") if isinstance(node, dict) else None
                if kind is not None and (where == kind or (where == "panel" and kind != "row")):
                    yield f"{'row' if kind == 'row' else 'panel'} {node.get('id')}", path, node
        return
    for index, variable in enumerate((dashboard.get("templating") or {}).get("list") or []):
        if isinstance(variable, dict) and where in ("variable", variable.get("type")):
            yield f"variable {variable.get('name')!r}", f"$.templating.list[{index}]", variable


def _value(node: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys[:-1]:
        node = node.get(key) if isinstance(node.get(key), dict) else {}
    return node.get(keys[-1], _ABSENT)


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard.get("panels") or []:
        if isinstance(panel, dict):
            out += [panel, *(p for p in panel.get("panels") or [] if isinstance(p, dict))]
    return out


def _drop(node: dict[str, Any], keys: tuple[str, ...]) -> bool:
    for key in keys[:-1]:
        node = node.get(key) if isinstance(node.get(key), dict) else {}
    return node.pop(keys[-1], _ABSENT) is not _ABSENT


_ABSENT = object()


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
