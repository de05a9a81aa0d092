"""In-process HTTP emulator of Grafana's HTTP API (target: Grafana 12.x/13.x).

Every behaviour carries a comment naming the grafana/grafana source file it follows
("src: <path>"). Where older releases differ, the comment says so; a few constructor
flags switch to the older or newest behaviour.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import random
import re
import socket
import string
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .slugify import slugify

ROLES = ("Viewer", "Editor", "Admin")
_ROLE_RANK = {r: i for i, r in enumerate(ROLES)}

# src: pkg/util/shortid_generator.go (IsValidShortUID / IsShortUIDTooLong, MaxUIDLength = 40)
_UID_RE = re.compile(r"^[a-zA-Z0-9\-_]*$")
_MAX_UID_LEN = 40


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short_uid() -> str:
    # src: pkg/util/shortid_generator.go GenerateShortUID (a letter, then lower-case alnum)
    rest = "".join(random.choices(string.ascii_lowercase + string.digits, k=13))
    return random.choice(string.ascii_lowercase) + rest


def _as_int(value: Any) -> int:
    """simplejson MustInt(): numbers (or numeric strings) -> int, anything else -> 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return 0
    return 0


# --------------------------------------------------------------------------- records


@dataclass
class RequestRecord:
    """One request as seen by the emulator (faulted and dropped ones included)."""

    method: str
    path: str  # path below the sub-path, e.g. "/api/dashboards/db"
    status: int | None  # None: connection dropped without a response
    query: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None  # parsed JSON request body, if any
    fault: str | None = None  # "status" / "drop" when an injected fault answered
    started: float = 0.0  # time.monotonic() when the request arrived

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")


@dataclass
class _Fault:
    kind: str  # "status" | "drop"
    remaining: int
    path_prefix: str | None
    method: str | None
    status: int = 503
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        return not (self.path_prefix and not path.startswith(self.path_prefix))


@dataclass
class _Identity:
    kind: str  # "user" | "token"
    login: str
    role: str

    def at_least(self, role: str) -> bool:
        return _ROLE_RANK[self.role] >= _ROLE_RANK[role]


class _Reply:
    def __init__(
        self,
        status: int,
        body: Any = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> None:
        self.status = status
        self.headers = dict(headers or {})
        if raw is not None:
            self.body = raw
        elif body is None:
            self.body = b""
        else:
            self.body = json.dumps(body).encode()
        self.content_type = content_type


def _ok(body: Any) -> _Reply:
    return _Reply(200, body)


def _error(status: int, message: str, *, trace: bool = False, **extra: Any) -> _Reply:
    # src: pkg/api/response/response.go Error(): {"message": ...}; when Grafana passes a Go error
    # along, WriteTo() adds "traceID" (empty without tracing). The "error" detail is only added
    # outside production mode, so it is not emulated.
    body: dict[str, Any] = {"message": message, **extra}
    if trace:
        body["traceID"] = ""
    return _Reply(status, body)


def _status_body(status: int, message: str, status_name: str) -> _Reply:
    # src: pkg/services/dashboards/dashboardaccess (DashboardErr.Body): {"status", "message"}
    return _Reply(status, {"message": message, "status": status_name})


def _forbidden(permission: str) -> _Reply:
    # src: pkg/services/accesscontrol/middleware.go deny()
    ace = "ACE" + "".join(random.choices(string.digits, k=10))
    return _Reply(
        403,
        {
            "accessErrorId": ace,
            "message": f"You'll need additional permissions to perform this action. Permissions needed: {permission}",
            "title": "Access denied",
        },
    )


_INDEX_HTML = """<!DOCTYPE html>
<html lang="en-US">
  <head>
    <meta charset="utf-8" />
    <title>Grafana</title>
    <base href="{sub}/" />
  </head>
  <body class="theme-dark app-grafana">
    <div id="reactRoot"></div>
    <script>window.grafanaBootData = {{ settings: {{ appSubUrl: "{sub}" }} }};</script>
  </body>
</html>
"""

_NGINX_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

# Data source plugin names/logos for the types the project uses.
# src: pkg/api/datasources.go GetDataSources (TypeName/TypeLogoUrl from the plugin store,
# "public/img/icn-datasource.svg" when the plugin is unknown).
_DS_PLUGINS = {
    "prometheus": ("Prometheus", "public/plugins/prometheus/img/prometheus_logo.svg"),
    "loki": ("Loki", "public/plugins/loki/img/loki_icon.svg"),
    "tempo": ("Tempo", "public/plugins/tempo/img/tempo_logo.svg"),
    "alertmanager": ("Alertmanager", "public/plugins/alertmanager/img/logo.svg"),
}


# --------------------------------------------------------------------------- emulator


class GrafanaEmulator:
    """A threaded HTTP server on 127.0.0.1 that answers like Grafana's HTTP API.

    Parameters
    ----------
    tokens:
        Bearer tokens (service-account tokens) accepted: a str, a list (role Admin) or a
        ``{token: role}`` dict with role "Viewer" | "Editor" | "Admin".
    basic_auth:
        ``(user, password)`` or ``(user, password, role)`` accepted via HTTP basic auth
        (default ``("admin", "admin")``, role Admin); ``None`` disables basic auth.
    sub_path:
        Serve under a sub-path (e.g. ``"/grafana"``), as Grafana does with ``root_url`` +
        ``serve_from_sub_path``. Returned URLs (``/d/...``) then carry the prefix.
    version:
        Reported build version (``/api/health``, ``/api/frontend/settings``).
    latency:
        Seconds added to every request (settable later via ``.latency``).
    folder_conflict_status:
        412 (default, Grafana 12/13 k8s folder API) or 409 (legacy folder service, 10.x-11.x)
        for ``POST /api/folders`` with an existing uid.
    versions_as_list:
        ``GET .../versions`` answers a bare list (Grafana <= 11.4) instead of
        ``{continueToken, versions}``.
    unique_titles:
        Grafana <= 11.2: a second dashboard with the same title in the same folder is rejected
        with 412 ``name-exists``.
    save_via_k8s:
        The newest ``/api/dashboards/db`` (grafana main, ``saveDashboardViaK8s``): a stale or
        missing version on an existing uid gives 409 "Dashboard already exists. Use overwrite
        flag to update." instead of 412 version-mismatch.
    """

    def __init__(
        self,
        *,
        tokens: str | list[str] | dict[str, str] | None = None,
        basic_auth: tuple[str, ...] | None = ("admin", "admin"),
        sub_path: str = "",
        version: str = "12.3.0",
        latency: float = 0.0,
        folder_conflict_status: int = 412,
        versions_as_list: bool = False,
        unique_titles: bool = False,
        save_via_k8s: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        if isinstance(tokens, str):
            tokens = {tokens: "Admin"}
        elif isinstance(tokens, list | tuple):
            tokens = {t: "Admin" for t in tokens}
        self.tokens: dict[str, str] = dict(tokens or {})
        for role in self.tokens.values():
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r}")
        self.users: dict[str, tuple[str, str]] = {}
        if basic_auth is not None:
            user, password, *rest = basic_auth
            self.users[user] = (password, rest[0] if rest else "Admin")
        sub = "/" + sub_path.strip("/") if sub_path.strip("/") else ""
        self.sub_path = sub
        self.version = version
        self.latency = float(latency)
        if folder_conflict_status not in (409, 412):
            raise ValueError("folder_conflict_status must be 409 or 412")
        self.folder_conflict_status = folder_conflict_status
        self.versions_as_list = versions_as_list
        self.unique_titles = unique_titles
        self.save_via_k8s = save_via_k8s
        self._host = host

        self._lock = threading.RLock()
        self._faults: list[_Fault] = []
        self.requests: list[RequestRecord] = []
        self._reset_state()

        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> GrafanaEmulator:
        if self._server is not None:
            return self
        server = _Server((self._host, 0), _Handler)
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="grafana-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> GrafanaEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        if self.port is None:
            raise RuntimeError("emulator not started")
        return f"http://{self._host}:{self.port}"

    @property
    def url(self) -> str:
        """Base URL of the Grafana instance, without trailing slash (includes the sub-path)."""
        return self.root_url + self.sub_path

    @property
    def client_url(self) -> str:
        """``url`` with the trailing slash grafana-client needs for a sub-path."""
        return self.url + "/"

    def client(self, credential: Any = None, timeout: float | tuple[float, float] = 5.0) -> Any:
        """A ``grafana_client.GrafanaApi`` pointed at this emulator (first token by default)."""
        from grafana_client import GrafanaApi

        if credential is None:
            if self.tokens:
                credential = next(iter(self.tokens))
            elif self.users:
                user = next(iter(self.users))
                credential = (user, self.users[user][0])
        return GrafanaApi.from_url(self.client_url, credential=credential, timeout=timeout)

    # ------------------------------------------------------------------ state

    def _reset_state(self) -> None:
        with self._lock:
            self._next_dash_id = 1  # folders and dashboards share the dashboard id sequence
            self._next_ds_id = 1
            self._next_version_id = 1
            self._dashboards: dict[str, dict[str, Any]] = {}
            self._folders: dict[str, dict[str, Any]] = {}
            self._datasources: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        """Forget all state, faults and the request log (keeps credentials and flags)."""
        with self._lock:
            self._reset_state()
            self._faults.clear()
            self.requests.clear()

    # seeding (no HTTP, not logged) -------------------------------------------------

    def add_folder(self, uid: str, title: str, parent_uid: str | None = None) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._create_folder(uid, title, parent_uid or "", "admin"))

    def add_dashboard(
        self,
        dashboard: dict[str, Any],
        folder_uid: str = "",
        *,
        provisioned: bool = False,
        allow_ui_updates: bool = False,
        message: str = "",
    ) -> dict[str, Any]:
        """Store a dashboard as if created (provisioned=True: as if from a provisioning file)."""
        with self._lock:
            data = copy.deepcopy(dashboard)
            uid = (data.get("uid") or "").strip() or _short_uid()
            data["uid"] = uid
            if uid in self._dashboards:
                raise ValueError(f"dashboard {uid} exists")
            if folder_uid and folder_uid not in self._folders:
                raise ValueError(f"folder {folder_uid} does not exist")
            rec = self._insert_dashboard(data, folder_uid, message, "admin")
            rec["provisioned"] = provisioned
            rec["allow_ui_updates"] = allow_ui_updates
            return copy.deepcopy(rec["data"])

    def add_datasource(self, datasource: dict[str, Any], *, read_only: bool = False) -> dict[str, Any]:
        """Store a data source; read_only=True mimics a provisioned one (editable: false)."""
        with self._lock:
            rec = self._new_datasource(datasource)
            rec["readOnly"] = read_only
            self._datasources[rec["uid"]] = rec
            return copy.deepcopy(rec)

    # inspection ---------------------------------------------------------------------

    def dashboard(self, uid: str) -> dict[str, Any] | None:
        """The stored dashboard JSON (with server-set id/uid/version), or None."""
        with self._lock:
            rec = self._dashboards.get(uid)
            return copy.deepcopy(rec["data"]) if rec else None

    def dashboard_record(self, uid: str) -> dict[str, Any] | None:
        """Stored record: id, uid, version, folder_uid, created, updated, provisioned, versions..."""
        with self._lock:
            rec = self._dashboards.get(uid)
            return copy.deepcopy(rec) if rec else None

    @property
    def dashboard_uids(self) -> list[str]:
        with self._lock:
            return sorted(self._dashboards)

    def folder(self, uid: str) -> dict[str, Any] | None:
        with self._lock:
            rec = self._folders.get(uid)
            return copy.deepcopy(rec) if rec else None

    def datasource(self, uid: str) -> dict[str, Any] | None:
        with self._lock:
            rec = self._datasources.get(uid)
            return copy.deepcopy(rec) if rec else None

    # UI edit ------------------------------------------------------------------------

    def ui_edit(
        self,
        uid: str,
        changes: dict[str, Any] | Callable[[dict[str, Any]], Any] | None = None,
        *,
        message: str = "",
        user: str = "admin",
    ) -> int:
        """Change a stored dashboard as a person saving it in the UI would; returns the new version.

        ``changes`` is a dict merged into the dashboard JSON, or a function mutating it in place.
        The version is bumped by one and a history entry is recorded (drift simulation).
        """
        with self._lock:
            rec = self._dashboards[uid]
            data = copy.deepcopy(rec["data"])
            if callable(changes):
                changes(data)
            elif changes:
                data.update(copy.deepcopy(changes))
            self._update_dashboard(rec, data, rec["folder_uid"], message, user)
            return rec["version"]

    # request log ----------------------------------------------------------------------

    def count(self, method: str | None = None, path: str | None = None, *, prefix: str | None = None) -> int:
        """Number of logged requests matching method / exact path / path prefix."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method)
                and (path is None or r.path == path)
                and (prefix is None or r.path.startswith(prefix))
            )

    @property
    def writes(self) -> list[RequestRecord]:
        """Logged non-GET/HEAD requests (including those answered by injected faults)."""
        with self._lock:
            return [r for r in self.requests if r.is_write]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # fault injection --------------------------------------------------------------------

    def fail_next(
        self,
        n: int,
        status: int = 503,
        *,
        path_prefix: str | None = None,
        method: str | None = None,
        body: bytes | str | dict[str, Any] | None = None,
        retry_after: int | float | str | None = None,
    ) -> None:
        """Answer the next ``n`` matching requests with ``status`` (a proxy-style 5xx by default)."""
        if isinstance(body, dict):
            raw, ctype = json.dumps(body).encode(), "application/json"
        elif isinstance(body, str):
            raw, ctype = body.encode(), "text/plain; charset=utf-8"
        elif body is None and status == 503:
            raw, ctype = _NGINX_503, "text/html"
        elif body is None:
            raw, ctype = f"{status} error\n".encode(), "text/plain; charset=utf-8"
        else:
            raw, ctype = body, "application/octet-stream"
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self._lock:
            self._faults.append(_Fault("status", n, path_prefix, method, status, raw, ctype, headers))

    def rate_limit_next(
        self,
        n: int,
        retry_after: int | float | str = 1,
        *,
        path_prefix: str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next ``n`` matching requests with 429 Too Many Requests + Retry-After."""
        self.fail_next(
            n,
            429,
            path_prefix=path_prefix,
            method=method,
            body={"message": "Too Many Requests"},
            retry_after=retry_after,
        )

    def drop_next(self, n: int, *, path_prefix: str | None = None, method: str | None = None) -> None:
        """Close the connection without any response for the next ``n`` matching requests."""
        with self._lock:
            self._faults.append(_Fault("drop", n, path_prefix, method))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _log(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    # ------------------------------------------------------------------ URLs

    def _dash_url(self, uid: str, slug: str) -> str:
        # src: pkg/services/dashboards/models.go GetDashboardURL: AppSubUrl + "/d/<uid>/<slug>"
        return f"{self.sub_path}/d/{uid}/{slug}"

    def _folder_url(self, uid: str, slug: str) -> str:
        # src: pkg/services/dashboards/models.go GetFolderURL: AppSubUrl + "/dashboards/f/<uid>/<slug>"
        return f"{self.sub_path}/dashboards/f/{uid}/{slug}"

    # ------------------------------------------------------------------ storage helpers

    def _create_folder(self, uid: str, title: str, parent_uid: str, login: str) -> dict[str, Any]:
        now = _now()
        rec = {
            "id": self._next_dash_id,
            "uid": uid,
            "title": title,
            "description": "",
            "parent_uid": parent_uid,
            "version": 1,
            "created": now,
            "updated": now,
            "created_by": login,
            "updated_by": login,
        }
        self._next_dash_id += 1
        self._folders[uid] = rec
        return rec

    def _insert_dashboard(self, data: dict[str, Any], folder_uid: str, message: str, login: str) -> dict[str, Any]:
        # src: pkg/services/dashboards/database/database.go saveDashboard (new: version 1,
        # created/updated now, version row with parentVersion 0)
        now = _now()
        dash_id = self._next_dash_id
        self._next_dash_id += 1
        title = str(data.get("title") or "").strip()
        data["id"] = dash_id
        data["version"] = 1
        data["title"] = title
        rec = {
            "id": dash_id,
            "uid": data["uid"],
            "title": title,
            "slug": slugify(title),
            "folder_uid": folder_uid,
            "version": 1,
            "created": now,
            "updated": now,
            "created_by": login,
            "updated_by": login,
            "provisioned": False,
            "allow_ui_updates": False,
            "data": data,
            "versions": [],
        }
        self._add_version(rec, parent=0, message=message, login=login)
        self._dashboards[rec["uid"]] = rec
        return rec

    def _update_dashboard(
        self, rec: dict[str, Any], data: dict[str, Any], folder_uid: str, message: str, login: str
    ) -> None:
        # src: pkg/services/dashboards/database/database.go saveDashboard (update: version + 1)
        parent = rec["version"]
        rec["version"] = parent + 1
        title = str(data.get("title") or "").strip()
        data["id"] = rec["id"]
        data["uid"] = rec["uid"]
        data["version"] = rec["version"]
        data["title"] = title
        rec.update(
            title=title,
            slug=slugify(title),
            folder_uid=folder_uid,
            data=data,
            updated=_now(),
            updated_by=login,
        )
        self._add_version(rec, parent=parent, message=message, login=login)

    def _add_version(self, rec: dict[str, Any], *, parent: int, message: str, login: str) -> None:
        rec["versions"].append(
            {
                "id": self._next_version_id,
                "version": rec["version"],
                "parentVersion": parent,
                "restoredFrom": 0,
                "created": rec["updated"],
                "createdBy": login,
                "message": message,
                "data": copy.deepcopy(rec["data"]),
            }
        )
        self._next_version_id += 1

    def _new_datasource(self, body: dict[str, Any]) -> dict[str, Any]:
        uid = (body.get("uid") or "").strip() or _short_uid()
        rec = {
            "id": self._next_ds_id,
            "uid": uid,
            "orgId": 1,
            "name": body.get("name") or "",
            "type": body.get("type") or "",
            "access": body.get("access") or "",
            "url": body.get("url") or "",
            "user": body.get("user") or "",
            "database": body.get("database") or "",
            "basicAuth": bool(body.get("basicAuth")),
            "basicAuthUser": body.get("basicAuthUser") or "",
            "withCredentials": bool(body.get("withCredentials")),
            "isDefault": bool(body.get("isDefault")),
            "jsonData": copy.deepcopy(body.get("jsonData")) or {},
            "secureJsonData": {k: v for k, v in (body.get("secureJsonData") or {}).items() if v},
            "version": 1,
            "readOnly": False,
        }
        self._next_ds_id += 1
        return rec

    # ------------------------------------------------------------------ auth

    def _authenticate(self, header: str | None) -> _Identity | _Reply:
        def unauthorized(message_id: str, message: str) -> _Reply:
            # src: pkg/services/authn/authnimpl/service.go (errCantAuthenticateReq =
            # errutil.Unauthorized("auth.unauthorized")), clients/api_key.go ("api-key.invalid",
            # "Invalid API key"), clients/password.go ("password-auth.failed"); rendered by
            # pkg/middleware/auth.go unauthorized() -> WriteErrOrFallback. Grafana <= 9 sent
            # just {"message": "Unauthorized"}.
            return _Reply(
                401,
                {"message": message, "messageId": message_id, "statusCode": 401, "traceID": ""},
            )

        if not header:
            return unauthorized("auth.unauthorized", "Unauthorized")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            token = value.strip()
            if token in self.tokens:
                return _Identity("token", "sa-1-emulator", self.tokens[token])
            return unauthorized("api-key.invalid", "Invalid API key")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return unauthorized("auth.unauthorized", "Unauthorized")
            if user == "api_key":
                # src: pkg/services/authn/clients/api_key.go getTokenFromRequest (basic api_key:<token>)
                if password in self.tokens:
                    return _Identity("token", "sa-1-emulator", self.tokens[password])
                return unauthorized("api-key.invalid", "Invalid API key")
            known = self.users.get(user)
            if known and known[0] == password:
                return _Identity("user", user, known[1])
            return unauthorized("password-auth.failed", "Invalid username or password")
        return unauthorized("auth.unauthorized", "Unauthorized")

    # ------------------------------------------------------------------ dispatch

    def _dispatch(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: Any, body_error: bool
    ) -> _Reply:
        if method == "HEAD":
            method = "GET"
        # src: pkg/api/http_server.go apiHealthHandler: before any auth, GET/HEAD only
        if path == "/api/health" and method == "GET":
            return self._health()
        is_api = path == "/api" or path.startswith("/api/")
        if not is_api and path in ("/login", "/login/"):
            return _Reply(
                200, raw=_INDEX_HTML.format(sub=self.sub_path).encode(), content_type="text/html; charset=UTF-8"
            )

        ident = self._authenticate(headers.get("Authorization"))
        if isinstance(ident, _Reply):
            if is_api:
                return ident
            # src: pkg/middleware/auth.go unauthorized(): non-API requests are redirected to login
            return _Reply(302, headers={"Location": f"{self.sub_path}/login"}, raw=b"")
        if not is_api:
            # src: pkg/api/index.go Index: the single-page app's HTML for frontend routes
            return _Reply(
                200, raw=_INDEX_HTML.format(sub=self.sub_path).encode(), content_type="text/html; charset=UTF-8"
            )

        if body_error and method in ("POST", "PUT", "PATCH"):
            # src: pkg/web/binding.go via web.Bind -> response.Error(400, "bad request data", err)
            return _error(400, "bad request data", trace=True)

        with self._lock:
            for pattern, verb, handler in self._routes():
                if verb != method:
                    continue
                m = re.fullmatch(pattern, path)
                if m:
                    return handler(ident, query, body, *m.groups())
        # src: pkg/api/index.go NotFoundHandler: API paths -> 404 {"message": "Not found"}
        return _error(404, "Not found")

    def _routes(self) -> list[tuple[str, str, Callable[..., _Reply]]]:
        # src: pkg/api/api.go registerRoutes (+ pkg/api/folder.go registerFolderAPI)
        u = r"([^/]+)"
        return [
            (r"/api/dashboards/db/?", "POST", self._post_dashboard),
            (rf"/api/dashboards/uid/{u}/versions/?", "GET", self._get_versions),
            (rf"/api/dashboards/uid/{u}/versions/(\d+)", "GET", self._get_version),
            (rf"/api/dashboards/uid/{u}", "GET", self._get_dashboard),
            (rf"/api/dashboards/uid/{u}", "DELETE", self._delete_dashboard),
            (r"/api/search/?", "GET", self._search),
            (r"/api/folders/?", "GET", self._list_folders),
            (r"/api/folders/?", "POST", self._post_folder),
            (rf"/api/folders/{u}/?", "GET", self._get_folder),
            (rf"/api/folders/{u}/?", "PUT", self._put_folder),
            (rf"/api/folders/{u}/?", "DELETE", self._delete_folder),
            (r"/api/datasources/?", "GET", self._list_datasources),
            (r"/api/datasources/?", "POST", self._post_datasource),
            (rf"/api/datasources/uid/{u}", "GET", self._get_datasource),
            (rf"/api/datasources/uid/{u}", "PUT", self._put_datasource),
            (rf"/api/datasources/uid/{u}", "DELETE", self._delete_datasource),
            (rf"/api/datasources/name/{u}", "GET", self._get_datasource_by_name),
            (r"/api/frontend/settings/?", "GET", self._frontend_settings),
            (r"/api/user/?", "GET", self._user),
            (r"/api/org/?", "GET", self._org),
        ]

    # ------------------------------------------------------------------ misc endpoints

    def _health(self) -> _Reply:
        # src: pkg/api/http_server.go apiHealthHandler: no auth, healthResponse
        # {database, version, commit}, pretty-printed (json.MarshalIndent "  ")
        body = {"database": "ok", "version": self.version, "commit": "emulator"}
        return _Reply(200, raw=json.dumps(body, indent=2).encode(), content_type="application/json; charset=UTF-8")

    def _frontend_settings(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/frontendsettings.go getFrontendSettings (buildInfo DTO in
        # pkg/api/dtos/frontend_settings.go); requires a signed-in user. A minimal subset.
        return _ok(
            {
                "appUrl": self.client_url,
                "appSubUrl": self.sub_path,
                "buildInfo": {
                    "hideVersion": False,
                    "version": self.version,
                    "versionString": f"Grafana v{self.version} (emulator)",
                    "commit": "emulator",
                    "commitShort": "emulator",
                    "buildstamp": 0,
                    "edition": "Open Source",
                    "latestVersion": "",
                    "hasUpdate": False,
                    "env": "production",
                },
                "datasources": {
                    rec["name"]: {"uid": rec["uid"], "type": rec["type"], "name": rec["name"]}
                    for rec in self._datasources.values()
                },
            }
        )

    def _user(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/user.go GetSignedInUser (dtos UserProfileDTO); subset
        return _ok(
            {
                "id": 1,
                "uid": "emulator-user",
                "email": f"{ident.login}@localhost",
                "name": ident.login,
                "login": ident.login,
                "theme": "",
                "orgId": 1,
                "isGrafanaAdmin": ident.kind == "user" and ident.role == "Admin",
                "isDisabled": False,
                "isExternal": False,
                "authLabels": [],
            }
        )

    def _org(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/org.go GetCurrentOrg -> dtos.OrgDetailsDTO
        return _ok(
            {
                "id": 1,
                "name": "Main Org.",
                "address": {"address1": "", "address2": "", "city": "", "zipCode": "", "state": "", "country": ""},
            }
        )

    # ------------------------------------------------------------------ dashboards

    def _post_dashboard(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/api.go: POST /api/dashboards/db needs any of dashboards:create, dashboards:write
        if not ident.at_least("Editor"):
            return _forbidden("any of dashboards:create, dashboards:write")
        body = body if isinstance(body, dict) else {}
        data = body.get("dashboard")
        data = copy.deepcopy(data) if isinstance(data, dict) else {}
        overwrite = bool(body.get("overwrite"))
        message = str(body.get("message") or "")
        folder_uid = str(body.get("folderUid") or "")
        folder_id = _as_int(body.get("folderId"))

        # src: pkg/api/dashboard.go postDashboard: isFolder -> 400
        if body.get("isFolder"):
            return _error(400, "Use folders endpoint for saving folders.")

        # src: pkg/services/dashboards/service/dashboard_service.go BuildSaveDashboardCommand
        # (title/uid trimmed; checks in this order) + pkg/services/dashboards/errors.go
        title = str(data.get("title") or "").strip()
        uid = str(data.get("uid") or "").strip()
        if not title:
            if self.save_via_k8s:
                # src: pkg/api/dashboard.go saveDashboardViaK8s (newest main)
                return _error(400, "Dashboard spec is missing required title property")
            return _status_body(400, "Dashboard title cannot be empty", "empty-name")
        if len(message) > 500:
            return _error(400, "message too long, max 500 characters")
        if not _UID_RE.match(uid):
            return _error(400, "uid contains illegal characters")
        if len(uid) > _MAX_UID_LEN:
            return _error(400, "uid too long, max 40 characters")

        # folder: src: BuildSaveDashboardCommand folder lookup; pkg/api/apierrors/dashboard.go
        # ToDashboardErrorResponse maps dashboards.ErrFolderNotFound -> 400 "folder not found"
        if folder_uid and folder_uid != "general":
            if folder_uid not in self._folders:
                return _error(400, "folder not found")
        elif folder_id:
            match = [f for f in self._folders.values() if f["id"] == folder_id]
            if not match:
                return _error(400, "folder not found")
            folder_uid = match[0]["uid"]
        else:
            folder_uid = ""

        # src: dashboard_service.go ValidateDashboardBeforeSave
        posted_id = _as_int(data.get("id"))
        posted_version = _as_int(data.get("version"))  # missing/null counts as 0
        existing = None
        if posted_id > 0:
            by_id = [r for r in self._dashboards.values() if r["id"] == posted_id]
            if not by_id:
                return _status_body(404, "Dashboard not found", "not-found")
            existing = by_id[0]
            if uid and uid != existing["uid"] and uid in self._dashboards:
                return _error(400, "A dashboard with the same uid already exists")
            if not uid:
                uid = existing["uid"]
        elif uid:
            existing = self._dashboards.get(uid)

        if existing is not None:
            if self.save_via_k8s and not overwrite and posted_version != existing["version"]:
                return _error(409, "Dashboard already exists. Use overwrite flag to update.")
            if posted_version != existing["version"] and not overwrite:
                return _status_body(412, "The dashboard has been changed by someone else", "version-mismatch")
            if existing["provisioned"] and not existing["allow_ui_updates"]:
                # src: BuildSaveDashboardCommand validateProvisionedDashboard
                return _error(400, "Cannot save provisioned dashboard")

        if self.unique_titles:
            # Grafana <= 11.2 only (src: pkg/services/dashboards/database/database.go
            # getExistingDashboardByTitleAndFolder, ErrDashboardWithSameNameInFolderExists);
            # removed in 11.3 (grafana/grafana PR #90687).
            same = [
                r
                for r in self._dashboards.values()
                if r["folder_uid"] == folder_uid
                and r["title"].lower() == title.lower()
                and (existing is None or r["uid"] != existing["uid"])
            ]
            if same and not overwrite:
                return _status_body(412, "A dashboard with the same name in the folder already exists", "name-exists")

        data["title"] = title
        if existing is None:
            data["uid"] = uid or _short_uid()
            rec = self._insert_dashboard(data, folder_uid, message, ident.login)
        else:
            rec = existing
            if uid != rec["uid"]:  # id given with a new, unused uid: the dashboard is re-keyed
                del self._dashboards[rec["uid"]]
                rec["uid"] = uid
                self._dashboards[uid] = rec
            self._update_dashboard(rec, data, folder_uid, message, ident.login)

        # src: pkg/api/dashboard.go postDashboard success body
        return _ok(
            {
                "id": rec["id"],
                "uid": rec["uid"],
                "url": self._dash_url(rec["uid"], rec["slug"]),
                "status": "success",
                "version": rec["version"],
                "slug": rec["slug"],
                "folderUid": rec["folder_uid"],
            }
        )

    def _perms(self, ident: _Identity) -> dict[str, bool]:
        editor = ident.at_least("Editor")
        admin = ident.at_least("Admin")
        return {"canSave": editor, "canEdit": editor, "canAdmin": admin, "canDelete": editor}

    def _get_dashboard(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/dashboard.go GetDashboard / getDashboardHelper
        rec = self._dashboards.get(uid)
        if rec is None:
            return _error(404, "Dashboard not found", trace=True)
        perms = self._perms(ident)
        folder = self._folders.get(rec["folder_uid"]) if rec["folder_uid"] else None
        data = copy.deepcopy(rec["data"])
        data["id"] = rec["id"]
        data["version"] = rec["version"]  # "make sure db version is in sync with json model version"
        # src: pkg/api/dtos/dashboard.go DashboardMeta (12.x field set)
        meta = {
            "type": "db",
            **perms,
            "canStar": True,
            "slug": rec["slug"],
            "url": self._dash_url(rec["uid"], rec["slug"]),
            "expires": "0001-01-01T00:00:00Z",
            "created": rec["created"],
            "updated": rec["updated"],
            "updatedBy": rec["updated_by"],
            "createdBy": rec["created_by"],
            "version": rec["version"],
            "hasAcl": False,
            "isFolder": False,
            "folderId": folder["id"] if folder else 0,
            "folderUid": rec["folder_uid"],
            "folderTitle": folder["title"] if folder else "General",
            "folderUrl": self._folder_url(folder["uid"], slugify(folder["title"])) if folder else "",
            "provisioned": rec["provisioned"] and not rec["allow_ui_updates"],
            "provisionedExternalId": f"{rec['uid']}.json" if rec["provisioned"] else "",
            "annotationsPermissions": {
                "dashboard": {"canAdd": perms["canEdit"], "canEdit": perms["canEdit"], "canDelete": perms["canEdit"]},
                "organization": {
                    "canAdd": perms["canAdmin"],
                    "canEdit": perms["canAdmin"],
                    "canDelete": perms["canAdmin"],
                },
            },
        }
        return _ok({"meta": meta, "dashboard": data})

    def _delete_dashboard(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/api.go: DELETE /api/dashboards/uid/:uid needs dashboards:delete
        if not ident.at_least("Editor"):
            return _forbidden("dashboards:delete")
        # src: pkg/api/dashboard.go deleteDashboard
        rec = self._dashboards.get(uid)
        if rec is None:
            return _error(404, "Dashboard not found", trace=True)
        if rec["provisioned"]:
            # src: pkg/services/dashboards/errors.go ErrDashboardCannotDeleteProvisionedDashboard
            return _error(400, "provisioned dashboard cannot be deleted", trace=True)
        del self._dashboards[uid]
        # 11.x+: {title, message, uid}; Grafana <= 10 answered {title, message, id}
        return _ok({"title": rec["title"], "message": f"Dashboard {rec['title']} deleted", "uid": uid})

    def _version_meta(self, rec: dict[str, Any], v: dict[str, Any], *, with_data: bool) -> dict[str, Any]:
        # src: pkg/services/dashboardversion/model.go DashboardVersionMeta;
        # pkg/api/dashboard.go GetDashboardVersions message rules
        msg = v["message"]
        if v["restoredFrom"] > 0:
            msg = f"Restored from version {v['restoredFrom']}"
        if v["parentVersion"] == 0:
            msg = "Initial save"
        return {
            "id": v["id"],
            "dashboardId": rec["id"],
            "uid": rec["uid"],
            "parentVersion": v["parentVersion"],
            "restoredFrom": v["restoredFrom"],
            "version": v["version"],
            "created": v["created"],
            "message": msg if not with_data else v["message"],
            "data": copy.deepcopy(v["data"]) if with_data else None,
            "createdBy": v["createdBy"],
        }

    def _get_versions(self, ident: _Identity, query: dict[str, list[str]], body: Any, uid: str) -> _Reply:
        # src: pkg/api/dashboard.go GetDashboardVersions
        rec = self._dashboards.get(uid)
        if rec is None:
            return _error(404, "Dashboard not found", trace=True)
        limit = _as_int((query.get("limit") or ["0"])[0]) or 1000  # dashverimpl: default 1000
        start = max(_as_int((query.get("start") or ["0"])[0]), 0)
        ordered = sorted(rec["versions"], key=lambda v: v["version"], reverse=True)
        items = [self._version_meta(rec, v, with_data=False) for v in ordered[start : start + limit]]
        if self.versions_as_list:  # Grafana <= 11.4: a bare array
            return _ok(items)
        # 11.6+/12.x: dashver.DashboardVersionResponseMeta
        return _ok({"continueToken": "", "versions": items})

    def _get_version(self, ident: _Identity, query: Any, body: Any, uid: str, version: str) -> _Reply:
        # src: pkg/api/dashboard.go GetDashboardVersion
        rec = self._dashboards.get(uid)
        if rec is None:
            return _error(404, "Dashboard not found", trace=True)
        for v in rec["versions"]:
            if v["version"] == int(version):
                return _ok(self._version_meta(rec, v, with_data=True))
        return _error(500, f"Dashboard version {int(version)} not found for dashboardId {rec['id']}", trace=True)

    # ------------------------------------------------------------------ search

    def _search(self, ident: _Identity, query: dict[str, list[str]], body: Any) -> _Reply:
        # src: pkg/api/search.go Search
        def one(name: str) -> str:
            return (query.get(name) or [""])[0]

        limit = _as_int(one("limit"))
        page = _as_int(one("page"))
        if limit > 5000:
            return _error(422, "Limit is above maximum allowed (5000), use page parameter to access hits beyond limit")
        dash_ids = [int(x) for x in query.get("dashboardIds", []) if x.lstrip("-").isdigit()]
        dash_uids = query.get("dashboardUIDs") or query.get("dashboardUID") or []
        folder_ids = [int(x) for x in query.get("folderIds", []) if x.lstrip("-").isdigit()]
        folder_uids = query.get("folderUIDs") or []
        if (dash_ids and dash_uids) or (folder_ids and folder_uids):
            return _error(400, "search supports UIDs or IDs, not both")
        if one("starred") == "true":
            return _ok([])  # the emulator has no stars
        text = one("query").lower()
        tags = query.get("tag") or []
        hit_type = one("type")
        # src: pkg/services/search/service.go: limit < 1 -> 1000, page < 1 -> 1
        limit = limit if limit >= 1 else 1000
        page = page if page >= 1 else 1

        def in_folders(parent_uid: str, parent_id: int) -> bool:
            if folder_uids:
                wanted = {"" if f == "general" else f for f in folder_uids}
                if parent_uid not in wanted:
                    return False
            return not (folder_ids and parent_id not in folder_ids)

        hits: list[dict[str, Any]] = []
        if hit_type in ("", "dash-folder") and not tags:
            for f in self._folders.values():
                parent = self._folders.get(f["parent_uid"]) if f["parent_uid"] else None
                if text and text not in f["title"].lower():
                    continue
                if dash_uids and f["uid"] not in dash_uids or dash_ids and f["id"] not in dash_ids:
                    continue
                if not in_folders(f["parent_uid"], parent["id"] if parent else 0):
                    continue
                hits.append(self._hit(f["id"], f["uid"], f["title"], "dash-folder", [], parent))
        if hit_type in ("", "dash-db"):
            for d in self._dashboards.values():
                folder = self._folders.get(d["folder_uid"]) if d["folder_uid"] else None
                dtags = [str(t) for t in (d["data"].get("tags") or [])]
                if text and text not in d["title"].lower():
                    continue
                if tags and not all(t in dtags for t in tags):  # every tag must match
                    continue
                if dash_uids and d["uid"] not in dash_uids or dash_ids and d["id"] not in dash_ids:
                    continue
                if not in_folders(d["folder_uid"], folder["id"] if folder else 0):
                    continue
                hits.append(self._hit(d["id"], d["uid"], d["title"], "dash-db", dtags, folder))
        # SQL orders by title and pages; pkg/services/search/service.go sortedHits then puts
        # folders first (then title) within the page and sorts each hit's tags.
        hits.sort(key=lambda h: h["title"].lower())
        page_hits = hits[(page - 1) * limit : page * limit]
        page_hits.sort(key=lambda h: (h["type"] != "dash-folder", h["title"].lower()))
        return _ok(page_hits)

    def _hit(
        self, hid: int, uid: str, title: str, kind: str, tags: list[str], folder: dict[str, Any] | None
    ) -> dict[str, Any]:
        # src: pkg/services/search/model/model.go Hit (json tags, omitempty on folder*/description);
        # pkg/services/dashboards/database/database.go makeQueryResult: uri "db/<slug>", Slug
        # left unset (so "slug" is ""), folderUrl only when the hit is in a folder.
        slug = slugify(title)
        url = self._folder_url(uid, slug) if kind == "dash-folder" else self._dash_url(uid, slug)
        hit: dict[str, Any] = {
            "id": hid,
            "uid": uid,
            "orgId": 1,
            "title": title,
            "uri": f"db/{slug}",
            "url": url,
            "slug": "",
            "type": kind,
            "tags": sorted(tags),
            "isStarred": False,
        }
        if folder:
            hit["folderId"] = folder["id"]
            hit["folderUid"] = folder["uid"]
            hit["folderTitle"] = folder["title"]
            hit["folderUrl"] = self._folder_url(folder["uid"], slugify(folder["title"]))
        hit["sortMeta"] = 0
        hit["isDeleted"] = False
        return hit

    # ------------------------------------------------------------------ folders

    def _folder_dto(self, ident: _Identity, f: dict[str, Any]) -> dict[str, Any]:
        # src: pkg/api/dtos/folder.go Folder; pkg/api/folder.go newToFolderDto
        perms = self._perms(ident)
        dto: dict[str, Any] = {
            "id": f["id"],
            "uid": f["uid"],
            "orgId": 1,
            "title": f["title"],
            "url": self._folder_url(f["uid"], slugify(f["title"])),
            "hasAcl": False,
            **perms,
            "createdBy": f["created_by"],
            "created": f["created"],
            "updatedBy": f["updated_by"],
            "updated": f["updated"],
            "version": f["version"],
        }
        if f["parent_uid"]:
            dto["parentUid"] = f["parent_uid"]
        return dto

    def _folder_not_found(self) -> _Reply:
        # src: pkg/api/apierrors/folder.go ToFolderErrorResponse (ErrFolderNotFound)
        return _status_body(404, "folder not found", "not-found")

    def _list_folders(self, ident: _Identity, query: dict[str, list[str]], body: Any) -> _Reply:
        # src: pkg/api/folder.go GetFolders: immediate children of parentUid (root by default),
        # dtos.FolderSearchHit {id, uid, title, parentUid?}
        parent = (query.get("parentUid") or [""])[0]
        limit = _as_int((query.get("limit") or ["0"])[0]) or 1000
        page = max(_as_int((query.get("page") or ["1"])[0]), 1)
        children = sorted(
            (f for f in self._folders.values() if f["parent_uid"] == parent), key=lambda f: f["title"].lower()
        )
        out = []
        for f in children[(page - 1) * limit : page * limit]:
            hit = {"id": f["id"], "uid": f["uid"], "title": f["title"]}
            if f["parent_uid"]:
                hit["parentUid"] = f["parent_uid"]
            out.append(hit)
        return _ok(out)

    def _post_folder(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/folder.go registerFolderAPI: POST needs folders:create
        if not ident.at_least("Editor"):
            return _forbidden("folders:create")
        body = body if isinstance(body, dict) else {}
        title = str(body.get("title") or "").strip()
        uid = str(body.get("uid") or "").strip()
        parent = str(body.get("parentUid") or "").strip()
        # src: pkg/api/apierrors/folder.go ToFolderErrorResponse 400 cases
        if not title:
            return _error(400, "folder title cannot be empty")
        if not _UID_RE.match(uid):
            return _error(400, "uid contains illegal characters")
        if len(uid) > _MAX_UID_LEN:
            return _error(400, "uid too long, max 40 characters")
        if uid and uid in self._folders:
            if self.folder_conflict_status == 409:
                # 10.x-11.x legacy folder service: dashboards.ErrFolderWithSameUIDExists -> 409
                return _error(409, "a folder/dashboard with the same uid already exists")
            # 12.x/13.x k8s folder API: AlreadyExists -> 412 (src: pkg/api/apierrors/folder.go
            # ToFolderErrorResponse, k8sErrors.IsAlreadyExists -> folder.ErrVersionMismatch).
            # Body as measured on Grafana 13: only "message".
            return _error(412, "the folder has been changed by someone else")
        if parent and parent not in self._folders:
            return self._folder_not_found()
        if uid in self._dashboards:
            # src: pkg/services/dashboards/errors.go ErrDashboardTypeMismatch (shared uid space)
            return _error(400, "Dashboard cannot be changed to a folder")
        f = self._create_folder(uid or _short_uid(), title, parent, ident.login)
        f["description"] = str(body.get("description") or "")
        return _ok(self._folder_dto(ident, f))

    def _get_folder(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/folder.go GetFolderByUID
        f = self._folders.get(uid)
        if f is None:
            return self._folder_not_found()
        return _ok(self._folder_dto(ident, f))

    def _put_folder(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/folder.go UpdateFolder (folders:write); version check as in
        # pkg/services/folder/folderimpl (ErrVersionMismatch -> 412 version-mismatch)
        if not ident.at_least("Editor"):
            return _forbidden("folders:write")
        f = self._folders.get(uid)
        if f is None:
            return self._folder_not_found()
        body = body if isinstance(body, dict) else {}
        if not body.get("overwrite") and _as_int(body.get("version")) != f["version"]:
            return _status_body(412, "the folder has been changed by someone else", "version-mismatch")
        if "title" in body:
            title = str(body.get("title") or "").strip()
            if not title:
                return _error(400, "folder title cannot be empty")
            f["title"] = title
        if "description" in body:
            f["description"] = str(body.get("description") or "")
        f["version"] += 1
        f["updated"] = _now()
        f["updated_by"] = ident.login
        return _ok(self._folder_dto(ident, f))

    def _delete_folder(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/folder.go DeleteFolder (folders:delete): removes the folder, its
        # subfolders and the dashboards in them; body {"message": "Folder deleted"}
        # (Grafana <= 9: {title, message: "Folder <title> deleted", id})
        if not ident.at_least("Editor"):
            return _forbidden("folders:delete")
        if uid not in self._folders:
            return self._folder_not_found()
        doomed = {uid}
        changed = True
        while changed:
            changed = False
            for f in self._folders.values():
                if f["parent_uid"] in doomed and f["uid"] not in doomed:
                    doomed.add(f["uid"])
                    changed = True
        for d_uid in [d for d, rec in self._dashboards.items() if rec["folder_uid"] in doomed]:
            del self._dashboards[d_uid]
        for f_uid in doomed:
            del self._folders[f_uid]
        return _ok({"message": "Folder deleted"})

    # ------------------------------------------------------------------ datasources

    def _ds_dto(self, rec: dict[str, Any]) -> dict[str, Any]:
        # src: pkg/api/datasources.go convertModelToDtos (dtos.DataSource)
        _, logo = _DS_PLUGINS.get(rec["type"], (rec["type"], "public/img/icn-datasource.svg"))
        return {
            "id": rec["id"],
            "uid": rec["uid"],
            "orgId": 1,
            "name": rec["name"],
            "type": rec["type"],
            "typeLogoUrl": logo,
            "access": rec["access"],
            "url": rec["url"],
            "user": rec["user"],
            "database": rec["database"],
            "basicAuth": rec["basicAuth"],
            "basicAuthUser": rec["basicAuthUser"],
            "withCredentials": rec["withCredentials"],
            "isDefault": rec["isDefault"],
            "jsonData": copy.deepcopy(rec["jsonData"]),
            "secureJsonFields": {k: True for k, v in rec["secureJsonData"].items() if v},
            "version": rec["version"],
            "readOnly": rec["readOnly"],
        }

    def _list_datasources(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/datasources.go GetDataSources (dtos.DataSourceListItemDTO), sorted by
        # lower-cased name (dtos.DataSourceList.Less)
        out = []
        for rec in sorted(self._datasources.values(), key=lambda r: r["name"].lower()):
            type_name, logo = _DS_PLUGINS.get(rec["type"], (rec["type"], "public/img/icn-datasource.svg"))
            out.append(
                {
                    "id": rec["id"],
                    "uid": rec["uid"],
                    "orgId": 1,
                    "name": rec["name"],
                    "type": rec["type"],
                    "typeName": type_name,
                    "typeLogoUrl": logo,
                    "access": rec["access"],
                    "url": rec["url"],
                    "user": rec["user"],
                    "database": rec["database"],
                    "basicAuth": rec["basicAuth"],
                    "isDefault": rec["isDefault"],
                    "jsonData": copy.deepcopy(rec["jsonData"]),
                    "readOnly": rec["readOnly"],
                }
            )
        return _ok(out)

    def _ds_not_found(self) -> _Reply:
        # src: pkg/api/datasources.go: response.Error(404, "Data source not found", nil)
        return _error(404, "Data source not found")

    def _post_datasource(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/api.go: POST /api/datasources needs datasources:create (Admin role)
        if not ident.at_least("Admin"):
            return _forbidden("datasources:create")
        body = body if isinstance(body, dict) else {}
        # src: pkg/api/datasources.go AddDataSource -> 409 with err.Error() (+traceID);
        # pkg/services/datasources/errors.go; the name is checked before the uid
        name = body.get("name") or ""
        if any(r["name"] == name for r in self._datasources.values()):
            return _error(409, "data source with the same name already exists", trace=True)
        uid = (body.get("uid") or "").strip()
        if uid and uid in self._datasources:
            return _error(409, "data source with the same uid already exists", trace=True)
        rec = self._new_datasource(body)
        self._datasources[rec["uid"]] = rec
        return _ok(
            {"message": "Datasource added", "id": rec["id"], "name": rec["name"], "datasource": self._ds_dto(rec)}
        )

    def _get_datasource(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/datasources.go GetDataSourceByUID
        rec = self._datasources.get(uid)
        return self._ds_not_found() if rec is None else _ok(self._ds_dto(rec))

    def _get_datasource_by_name(self, ident: _Identity, query: Any, body: Any, name: str) -> _Reply:
        # src: pkg/api/datasources.go GetDataSourceByName
        for rec in self._datasources.values():
            if rec["name"] == name:
                return _ok(self._ds_dto(rec))
        return self._ds_not_found()

    def _put_datasource(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/api.go: PUT needs datasources:write; pkg/api/datasources.go
        # UpdateDataSourceByUID / updateDataSourceByID
        if not ident.at_least("Admin"):
            return _forbidden("datasources:write")
        rec = self._datasources.get(uid)
        if rec is None:
            return self._ds_not_found()
        if rec["readOnly"]:
            return _error(403, "Cannot update read-only data source")
        body = body if isinstance(body, dict) else {}
        name = body.get("name") or ""
        if any(r["name"] == name and r["uid"] != uid for r in self._datasources.values()):
            return _error(409, "Failed to update datasource: data source with the same name already exists", trace=True)
        # src: pkg/services/datasources/service/store.go UpdateDataSource: a non-zero version
        # older than the stored one is rejected (newer or equal is accepted)
        posted_version = _as_int(body.get("version"))
        if posted_version and posted_version < rec["version"]:
            return _error(
                409, "Datasource has already been updated by someone else. Please reload and try again", trace=True
            )
        # Full replace of the plain fields; secureJsonData is merged into the stored secrets
        # (src: pkg/services/datasources/service/datasource.go UpdateDataSource)
        fresh = self._new_datasource({**body, "uid": uid})
        self._next_ds_id -= 1  # _new_datasource allocated an id we do not use
        secrets = dict(rec["secureJsonData"])
        secrets.update({k: v for k, v in (body.get("secureJsonData") or {}).items()})
        fresh.update(id=rec["id"], uid=uid, version=rec["version"] + 1, readOnly=False, secureJsonData=secrets)
        self._datasources[uid] = fresh
        return _ok(
            {
                "message": "Datasource updated",
                "id": fresh["id"],
                "name": fresh["name"],
                "datasource": self._ds_dto(fresh),
            }
        )

    def _delete_datasource(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/datasources.go DeleteDataSourceByUID (datasources:delete)
        if not ident.at_least("Admin"):
            return _forbidden("datasources:delete")
        rec = self._datasources.get(uid)
        if rec is None:
            return self._ds_not_found()
        if rec["readOnly"]:
            return _error(403, "Cannot delete read-only data source")
        del self._datasources[uid]
        return _ok({"message": "Data source deleted", "id": rec["id"]})


# --------------------------------------------------------------------------- HTTP handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or drop mid-request are expected in fault tests: stay quiet.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Grafana's Go server
    server_version = "Grafana-Emulator"
    timeout = 30  # idle keep-alive connections
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid the 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _serve(self) -> None:
        emu: GrafanaEmulator = self.server.emulator  # type: ignore[attr-defined]
        started = time.monotonic()
        method = self.command
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        body_error = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body_error = True

        path = parts.path
        inside = (path == emu.sub_path or path.startswith(emu.sub_path + "/")) if emu.sub_path else True
        rel = (path[len(emu.sub_path) :] or "/") if inside else path

        fault = emu._take_fault(method, rel)
        if emu.latency:
            time.sleep(emu.latency)
        record = RequestRecord(method, rel, None, query, body, None, started)

        if fault is not None and fault.kind == "drop":
            record.fault = "drop"
            emu._log(record)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None:
            reply = _Reply(fault.status, raw=fault.body, content_type=fault.content_type, headers=fault.headers)
            record.fault = "status"
        elif not inside:
            # Outside root_url's sub-path: Go's default mux answer.
            reply = _Reply(404, raw=b"404 page not found\n", content_type="text/plain; charset=utf-8")
        else:
            try:
                reply = emu._dispatch(method, rel, query, self.headers, body, body_error)
            except Exception as exc:  # noqa: BLE001 - surface emulator bugs as Grafana-style 500s
                reply = _error(500, f"emulator error: {exc!r}")
        record.status = reply.status
        emu._log(record)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except OSError:  # the client gave up (e.g. its timeout fired during injected latency)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve  # noqa: N815


def make_fixture(name: str = "grafana", scope: str = "function", **kwargs: Any) -> Any:
    """Build a pytest fixture yielding a started GrafanaEmulator (``grafana = make_fixture(tokens="t")``)."""
    import pytest

    def _fixture() -> Iterator[GrafanaEmulator]:
        with GrafanaEmulator(**kwargs) as emu:
            yield emu

    _fixture.__name__ = name
    return pytest.fixture(scope=scope, name=name)(_fixture)
