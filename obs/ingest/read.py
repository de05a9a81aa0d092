"""What `obs import` reads: a dashboard in any of the forms Grafana writes one, made a classic (v1) dashboard.

    a bare dashboard              {"title", "panels" or "rows", "schemaVersion", ...}: a UI export or a
                                  provisioning file, any schemaVersion, possibly "Export for sharing externally"
                                  (with `__inputs`)
    an API answer                 {"dashboard": {...}, "meta": {...}}: GET /api/dashboards/uid/:uid
    a v0alpha1/v1beta1/v1 resource {"apiVersion": "dashboard.grafana.app/v1", "kind": "Dashboard",
                                  "metadata": {"name": uid}, "spec": <a classic dashboard>}
    a v2 resource                 {"apiVersion": "dashboard.grafana.app/v2", ..., "spec": <the v2 model>},
                                  converted back to the classic model as Grafana converts it
                                  (obs.compile.dashboard_v2.from_v2_spec)

Pure functions of the parsed document; reading the file is the caller's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from obs.core.errors import Problem

RESOURCE_GROUP = "dashboard.grafana.app"
CLASSIC_VERSIONS = ("v0alpha1", "v1alpha1", "v1beta1", "v1")
V2_VERSIONS = ("v2",)
FOLDER_ANNOTATION = "grafana.app/folder"
NOT_A_DASHBOARD = ("not a Grafana dashboard: expected a dashboard (a title and panels or rows), an "
                   "/api/dashboards/uid answer ({dashboard, meta}) or a dashboard.grafana.app resource")


@dataclass(frozen=True)
class Incoming:
    """One dashboard to import, as a classic dashboard document (a fresh copy the caller may change)."""

    origin: str  # where it came from, as messages name it: a file path, or "<grafana url> uid <uid>"
    dashboard: dict[str, Any]
    form: str  # which of the forms above it was in
    folder: str = ""  # the folder uid Grafana had it in, when the input says
    notes: tuple[str, ...] = ()  # what reading it left out, for the module's docstring


class ReadError(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def parse_json(origin: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise ReadError(Problem(origin, "", "", f"not JSON: {error}")) from None


def read_document(origin: str, document: Any) -> Incoming:
    """The dashboard in `document`; ReadError (one problem) when it is none of the forms above."""
    if not isinstance(document, dict):
        raise ReadError(Problem(origin, "", "$", f"{NOT_A_DASHBOARD}; got a JSON {_kind(document)}"))
    if "apiVersion" in document or "spec" in document:
        return _resource(origin, document)
    if isinstance(document.get("dashboard"), dict) and isinstance(document.get("meta"), dict):
        meta = document["meta"]
        inner = _classic(origin, document["dashboard"], "$.dashboard")
        return Incoming(origin, inner, "/api/dashboards/uid answer", str(meta.get("folderUid") or ""))
    return Incoming(origin, _classic(origin, document, "$"), "dashboard JSON")


def _resource(origin: str, document: dict[str, Any]) -> Incoming:
    api_version = str(document.get("apiVersion") or "")
    group, _, version = api_version.partition("/")
    if group != RESOURCE_GROUP or document.get("kind") != "Dashboard":
        raise ReadError(Problem(origin, "", "$.apiVersion", f"{NOT_A_DASHBOARD}; got a {api_version or 'resource'} "
                                                            f"{document.get('kind') or ''}".rstrip()))
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    uid = str(metadata.get("name") or "")
    annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
    folder = str(annotations.get(FOLDER_ANNOTATION) or "")
    spec = document.get("spec")
    if not isinstance(spec, dict):
        raise ReadError(Problem(origin, f"{api_version} resource {uid!r}", "$.spec", "has no spec object"))
    form = f"{api_version} resource"
    notes: list[str] = []
    if version in CLASSIC_VERSIONS:
        dashboard = _classic(origin, spec, "$.spec")
    elif version in V2_VERSIONS:
        dashboard = _from_v2(origin, _without_v2_only(spec, notes), uid, form)
    else:
        known = ", ".join(f"{RESOURCE_GROUP}/{v}" for v in (*CLASSIC_VERSIONS, *V2_VERSIONS))
        raise ReadError(Problem(origin, f"{form} {uid!r}", "$.apiVersion",
                                f"obs import reads {known}; convert it with Grafana first"))
    if uid and not dashboard.get("uid"):
        dashboard["uid"] = uid
    return Incoming(origin, dashboard, form, folder, tuple(notes))


# What a v2 spec Grafana 13 saves carries that the classic model has no field for, and that changes nothing a
# viewer sees: Grafana's own v2 -> v1 conversion (apps/dashboard/pkg/migration/conversion/v2alpha1_to_v1beta1.go,
# convertDashboardSpec_V2alpha1_to_V1beta1) writes nothing of it either. Key -> why.
V2_ONLY = {
    "preferences": "the layout the dashboard editor gives new rows and tabs (Grafana 13's editor writes it on save); "
                   "the classic model has no field for it and Grafana's v2 -> v1 conversion drops it too",
}


def _without_v2_only(spec: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    out = dict(spec)
    for key, why in V2_ONLY.items():
        if key in out:
            del out[key]
            notes.append(f"spec.{key} dropped: {why}")
    return out


def _from_v2(origin: str, spec: dict[str, Any], uid: str, form: str) -> dict[str, Any]:
    try:
        from obs.compile.dashboard_v2 import from_v2_spec  # type: ignore[import-not-found]
    except ImportError:
        raise ReadError(Problem(origin, f"{form} {uid!r}", "$.spec", "reading the v2 model needs "
                                "obs.compile.dashboard_v2, which this obs does not have yet")) from None
    try:
        dashboard = from_v2_spec(spec, uid)
    except (KeyError, TypeError, ValueError) as error:
        raise ReadError(Problem(origin, f"{form} {uid!r}", "$.spec",
                                f"not a v2 dashboard spec Grafana could convert: {error}")) from None
    return _classic(origin, json.loads(json.dumps(dashboard)), "$.spec")


def _classic(origin: str, dashboard: Any, path: str) -> dict[str, Any]:
    if not isinstance(dashboard, dict):
        raise ReadError(Problem(origin, "", path, f"{NOT_A_DASHBOARD}; got a JSON {_kind(dashboard)}"))
    has_content = any(isinstance(dashboard.get(key), list) for key in ("panels", "rows"))
    if not isinstance(dashboard.get("title"), str) or not (has_content or "schemaVersion" in dashboard):
        found = ", ".join(sorted(map(str, dashboard))[:6]) or "nothing"
        raise ReadError(Problem(origin, "", path, f"{NOT_A_DASHBOARD}; found keys {found}"))
    version = dashboard.get("schemaVersion", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ReadError(Problem(origin, _what(dashboard), f"{path}.schemaVersion",
                                f"schemaVersion must be a whole number, got {version!r}"))
    return json.loads(json.dumps(dashboard))


def _what(dashboard: dict[str, Any]) -> str:
    return f"dashboard {dashboard.get('uid') or dashboard.get('title')!r}"


def _kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")
