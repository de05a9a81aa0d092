"""Before anything else: is this a Grafana, do the credentials work, which namespace is this org's, and which
API serves dashboards and folders. Two requests, sent together: GET /api/frontend/settings (signed in: the build
version and the namespace the frontend itself builds /apis URLs with) and GET /apis (what the server serves).
/api/health is asked only to explain a failure."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from obs.deploy.client import Grafana, GrafanaError
from obs.deploy.target import redact_url

DASHBOARD_GROUP = "dashboard.grafana.app"
FOLDER_GROUP = "folder.grafana.app"


@dataclass(frozen=True)
class Server:
    version: str
    namespace: str
    api: str  # "apis" | "legacy"
    dashboard_version: str = "v1"
    folder_version: str = "v1"
    why: str = ""  # why this API: "served", "--api legacy", what GET /apis answered
    served: dict[str, list[str]] = field(default_factory=dict)


def connect(grafana: Grafana, api: str = "auto", dashboard_version: str = "v1") -> Server:
    """Raises GrafanaError (fatal kinds) when Grafana cannot be used: not a Grafana, credentials refused,
    unreachable, or `--api apis` asked of a Grafana that does not serve it."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="obs-connect") as pool:
        settings_future = pool.submit(_settings, grafana)
        apis_future = pool.submit(_discovery, grafana) if api != "legacy" else None
        settings = settings_future.result()
        discovery = apis_future.result() if apis_future is not None else None
    build = settings.get("buildInfo") if isinstance(settings.get("buildInfo"), dict) else {}
    version = str(build.get("version") or "unknown")
    namespace = str(settings.get("namespace") or "default")
    url = grafana.target.url
    if api == "legacy":
        _legacy_can(grafana, version, dashboard_version, "--api legacy")
        return Server(version, namespace, "legacy", why="--api legacy")
    served, answered = discovery if discovery is not None else ({}, "")
    if dashboard_version in served.get(DASHBOARD_GROUP, []) and "v1" in served.get(FOLDER_GROUP, []):
        return Server(version, namespace, "apis", dashboard_version, "v1", "served", served)
    lists = "; ".join(f"{g} {', '.join(v)}" for g, v in sorted(served.items()) if g in (DASHBOARD_GROUP, FOLDER_GROUP))
    why = (f"GET /apis lists {lists}" if lists else f"GET /apis {answered or 'lists neither group'}")
    if api == "apis":
        raise GrafanaError("not_grafana", grafana._say(
            f"Grafana {version} at {url} does not serve {DASHBOARD_GROUP}/{dashboard_version} and "
            f"{FOLDER_GROUP}/v1 ({why}); --api legacy uses /api"))
    _legacy_can(grafana, version, dashboard_version, why)
    return Server(version, namespace, "legacy", why=why, served=served)


def _legacy_can(grafana: Grafana, version: str, dashboard_version: str, why: str) -> None:
    """The legacy /api takes the classic JSON only: a project that deploys schema v2 needs /apis."""
    if dashboard_version != "v1":
        raise GrafanaError("not_grafana", grafana._say(
            f"the project deploys dashboard schema {dashboard_version} ([tool.obs] dashboard-schema), which needs "
            f"{DASHBOARD_GROUP}/{dashboard_version} through /apis; Grafana {version} at {grafana.target.url} is used "
            f"through the legacy /api ({why})"))


def _settings(grafana: Grafana) -> dict[str, Any]:
    url = grafana.target.url
    sub = grafana._parts.path
    try:
        settings = grafana.request("GET", "/api/frontend/settings", retry=True)
    except GrafanaError as error:
        if error.kind == "redirect":
            raise _moved(grafana, error) from None
        if error.fatal and error.kind != "unauthorized":
            raise
        health = _health(grafana)  # raises "not a Grafana URL" when that is what it is
        if error.kind == "unauthorized":
            what = "token" if isinstance(grafana.target.credential, str) else "user name or password"
            detail = error.grafana_message or "Unauthorized"
            raise GrafanaError("unauthorized", grafana._say(
                f"Grafana at {url} rejected the {what} (401 {detail})"), status=401) from None
        if error.kind == "not_found":
            raise GrafanaError("not_grafana", grafana._say(
                f"{url} is not a Grafana URL: GET {sub}/api/frontend/settings answered 404"), status=404) from None
        raise GrafanaError("not_grafana", grafana._say(f"Grafana {health.get('version', '')} at {url} cannot be "
                                                       f"used: {error}".replace("  ", " "))) from None
    if not isinstance(settings, dict) or not isinstance(settings.get("buildInfo"), dict):
        _health(grafana)
        raise GrafanaError("not_grafana", grafana._say(
            f"{url} is not a Grafana URL: GET {sub}/api/frontend/settings did not answer Grafana's settings"))
    return settings


def _health(grafana: Grafana) -> dict[str, Any]:
    """GET /api/health (no auth): Grafana's own health JSON, or a one-line "not a Grafana URL" error."""
    url = grafana.target.url
    sub = grafana._parts.path
    try:
        health = grafana.request("GET", "/api/health", retry=False)
    except GrafanaError as error:
        if error.kind == "redirect":
            raise _moved(grafana, error) from None
        if error.kind in ("not_found", "client", "unauthorized", "forbidden"):
            raise GrafanaError("not_grafana", grafana._say(
                f"{url} is not a Grafana URL: GET {sub}/api/health answered {error.status} (is the sub-path "
                "right?)"), status=error.status) from None
        if error.kind == "not_json":
            raise GrafanaError("not_grafana", grafana._say(
                f"{url} is not a Grafana URL: GET {sub}/api/health did not answer Grafana's health JSON (is the "
                "sub-path right?)")) from None
        raise
    if not isinstance(health, dict) or "database" not in health:
        raise GrafanaError("not_grafana", grafana._say(
            f"{url} is not a Grafana URL: GET {sub}/api/health did not answer Grafana's health JSON (is the "
            "sub-path right?)"))
    return health


def _moved(grafana: Grafana, error: GrafanaError) -> GrafanaError:
    location = str(error.response or "")
    for tail in ("/api/frontend/settings", "/api/health"):
        if tail in location:
            location = location.split(tail)[0]
    return GrafanaError("not_grafana", grafana._say(
        f"{grafana.target.url} redirects to {redact_url(location) or 'another address'}: use that URL"))


def _discovery(grafana: Grafana) -> tuple[dict[str, list[str]], str]:
    """The groups and versions GET /apis lists, and (when it lists none) what it answered instead."""
    try:
        answer = grafana.request("GET", "/apis", retry=True)
    except GrafanaError as error:
        if error.fatal:
            raise
        return {}, f"answered {error.status or error.kind}"
    groups = answer.get("groups") if isinstance(answer, dict) else None
    if not isinstance(groups, list):
        return {}, "answered JSON that is not an APIGroupList"
    served: dict[str, list[str]] = {}
    for group in groups:
        if isinstance(group, dict) and isinstance(group.get("versions"), list):
            served[str(group.get("name"))] = [str(v.get("version")) for v in group["versions"] if isinstance(v, dict)]
    return served, ""
