"""Resolving the datasource names and references of an old dashboard, as Grafana resolves them against the
datasources of the instance it loads the dashboard in.

Grafana's DashboardMigrator (schema 33 and 36) turns a datasource given by name (`"datasource": "Prometheus"`),
by `null` (the default datasource) or by a template variable (`"$ds"`) into a reference `{type, uid}` through
`migrateDatasourceNameToRef` and the instance's datasource list (public/app/features/dashboard/state/
DashboardMigrator.ts; the backend port is apps/dashboard/pkg/migration/schemaversion/v33.go and v36.go). For
`obs import` the instance is the Grafana the dashboard is read from, or, for a file, the project's own
datasources (datasources/*.py): the ones the imported dashboard will run against.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Grafana's template variable syntax (public/app/features/templating/template_srv.ts, variableRegex): `$name`,
# `[[name]]` or `[[name:format]]`, `${name}`, `${name.fieldPath}` or `${name:format}`.
VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")


def variable_reference(text: Any) -> str | None:
    """The name of the variable `text` is, when it is one variable reference and nothing else."""
    found = VARIABLE.fullmatch(text) if isinstance(text, str) else None
    return next(group for group in (found.group(1), found.group(2), found.group(4)) if group) if found else None


def plain_variable(text: Any) -> str | None:
    """The variable `text` names with no format or field path: `$ds`, `[[ds]]` and `${ds}` are one and the same
    reference in Grafana (template_srv.ts replaces each with the variable's value), `${ds:text}` is not."""
    found = VARIABLE.fullmatch(text) if isinstance(text, str) else None
    if not found or found.group(3) or found.group(5) or found.group(6):
        return None
    return variable_reference(text)


def same_reference(one: Any, other: Any) -> bool:
    """Whether two datasource references are the same: equal, or of one type and the same variable however it
    is written ({type: prometheus, uid: $datasource} is {type: prometheus, uid: ${datasource}})."""
    if one == other:
        return True
    if not (isinstance(one, dict) and isinstance(other, dict) and set(one) == set(other) == {"type", "uid"}):
        return False
    name = plain_variable(one["uid"])
    return one["type"] == other["type"] and name is not None and name == plain_variable(other["uid"])

# Grafana's built-in pseudo datasources, by the name old dashboards use (public/app/plugins/datasource/grafana,
# mixed, dashboard: their uids are these names; DashboardMigrator keeps them as references of these types).
SPECIAL = {
    "-- Grafana --": {"type": "grafana", "uid": "-- Grafana --"},
    "-- Mixed --": {"type": "datasource", "uid": "-- Mixed --"},
    "-- Dashboard --": {"type": "datasource", "uid": "-- Dashboard --"},
}


@dataclass(frozen=True)
class DatasourceInfo:
    name: str
    uid: str
    type: str
    is_default: bool = False

    def ref(self) -> dict[str, str]:
        return {"type": self.type, "uid": self.uid}


@dataclass(frozen=True)
class DatasourceIndex:
    """The datasources of the instance a dashboard is migrated against (getDataSourceSrv() in Grafana)."""

    datasources: tuple[DatasourceInfo, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()  # (name, plugin id) of the dashboard's datasource variables

    @classmethod
    def of(cls, datasources: Sequence[DatasourceInfo], dashboard: dict[str, Any]) -> DatasourceIndex:
        variables = tuple((str(v.get("name")), str(v.get("query") or ""))
                          for v in (dashboard.get("templating") or {}).get("list") or []
                          if isinstance(v, dict) and v.get("type") == "datasource")
        return cls(tuple(datasources), variables)

    @property
    def default(self) -> DatasourceInfo | None:
        return next((d for d in self.datasources if d.is_default), self.datasources[0] if self.datasources else None)

    def find(self, name_or_uid: str) -> DatasourceInfo | None:
        """DatasourceSrv.getInstanceSettings: by name, then by uid; "default" is the default datasource."""
        if name_or_uid == "default":
            return self.default
        for datasource in self.datasources:
            if datasource.name == name_or_uid:
                return datasource
        return next((d for d in self.datasources if d.uid == name_or_uid), None)

    def variable_ref(self, text: str) -> dict[str, str] | None:
        """`$ds` or `${ds}`: a reference that stays a variable, of the plugin type the variable lists. Grafana
        resolves a name as a variable when it starts with `$` only (getInstanceSettings: `nameOrUid[0] === '$'`);
        `[[ds]]` is not found, as in Grafana, and obs.ingest.adapt writes it `${ds}`."""
        if not text.startswith("$"):
            return None
        name = variable_reference(text) or text.removeprefix("$").removeprefix("{").removesuffix("}")
        plugin = dict(self.variables).get(name)
        return {"type": plugin, "uid": text} if plugin else {"uid": text}

    def name_to_ref(self, value: Any, *, default_as_null: bool) -> dict[str, Any] | None:
        """migrateDatasourceNameToRef (DashboardMigrator.ts): null or "default" is None when `default_as_null`,
        a reference stays as it is, a name becomes the reference of the datasource it names; a name nothing has
        becomes {uid: name} (what Grafana writes for a datasource it cannot find)."""
        if default_as_null and (value is None or value == "default"):
            return None
        if isinstance(value, dict) and isinstance(value.get("uid"), str):
            return value
        if value is None:
            found = self.default
            return found.ref() if found else None
        if isinstance(value, str):
            if value in SPECIAL:
                return dict(SPECIAL[value])
            if (ref := self.variable_ref(value)) is not None:
                return ref
            found = self.find(value)
            return found.ref() if found else {"uid": value}
        return {"uid": None} if not isinstance(value, dict) else value

    def default_ref(self) -> dict[str, str] | None:
        found = self.default
        return found.ref() if found else None
