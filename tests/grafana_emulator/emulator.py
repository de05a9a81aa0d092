"""In-process HTTP emulator of Grafana's HTTP API: Grafana 13.2.3 by default, 12.x and older on request.

Every behaviour carries a comment naming the grafana/grafana source file it follows
("src: <path>"). Where older releases differ, the comment says so; a few constructor
flags switch to the older or newest behaviour.

The emulator is split along its route table: transport (server.py), auth.py, faults.py, the inspection API
tests use (inspection.py), and one module per resource: dashboards.py, folders.py, datasources.py,
search.py, health.py (health, settings, user, org); Grafana 13's /apis in apis.py, the storage dashboards live
in (shared by /api and /apis) in dashboard_store.py, Kubernetes Status errors in k8s.py, and Grafana's own
v1 <-> v2 dashboard conversion in conversion.py. This module wires them: state, lifecycle, dispatch.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from typing import Any

from . import k8s
from .apis import ApisMixin
from .auth import ROLES, AuthMixin
from .dashboard_store import DashboardStoreMixin
from .dashboards import DashboardsMixin
from .datasources import DatasourcesMixin
from .faults import FaultsMixin, _Fault
from .folders import FoldersMixin
from .health import HealthMixin
from .inspection import InspectionMixin, RequestRecord
from .k8s import ResourceVersions
from .replies import _error, _Reply
from .search import SearchMixin
from .server import _Handler, _Server

# /apis/<group>/<version>/namespaces/<namespace>/<resource>[/<name>] (the k8s apiserver's resource paths)
APIS_PATH = r"/apis/(dashboard\.grafana\.app|folder\.grafana\.app)/([^/]+)/namespaces/([^/]+)/([^/]+)(?:/([^/]+))?/?"

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


class GrafanaEmulator(InspectionMixin, FaultsMixin, AuthMixin, HealthMixin, DashboardStoreMixin, DashboardsMixin,
                      FoldersMixin, DatasourcesMixin, SearchMixin, ApisMixin):
    """A threaded HTTP server on 127.0.0.1 that answers like Grafana's HTTP API: Grafana 13.2.3 by default
    (/apis served, dashboards stored as Kubernetes-style objects, the legacy /api a client of them), or a
    12.x legacy /api with ``version="12.3.0"``.

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
        Reported build version (``/api/health``, ``/api/frontend/settings``). 13.x and later behave as
        Grafana 13 (k8s storage, /apis); 12.x and older as the legacy SQL service (every save a new
        version, 412 on a stale one, titles trimmed), whose /apis lacks dashboard.grafana.app/v1.
    new_layouts:
        13.x: the dashboardNewLayouts feature (dynamic dashboards, on by default in 13): /apis prefers
        dashboard.grafana.app/v2 and a save from the UI stores v2.
    apis:
        False: no /apis at all (Grafana 11.x and older answer 404).
    namespace:
        The namespace of org 1 ("default"; Grafana Cloud stacks use "stacks-<id>").
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
    """

    def __init__(
        self,
        *,
        tokens: str | list[str] | dict[str, str] | None = None,
        basic_auth: tuple[str, ...] | None = ("admin", "admin"),
        sub_path: str = "",
        version: str = "13.2.3",
        latency: float = 0.0,
        folder_conflict_status: int = 412,
        versions_as_list: bool = False,
        unique_titles: bool = False,
        new_layouts: bool = True,
        apis: bool = True,
        namespace: str = "default",
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
        self.k8s = int(version.split(".")[0]) >= 13
        self.new_layouts = new_layouts
        self.apis_served = apis
        self.namespace = namespace
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
            self._rv = ResourceVersions()

    def reset(self) -> None:
        """Forget all state, faults and the request log (keeps credentials and flags)."""
        with self._lock:
            self._reset_state()
            self._faults.clear()
            self.requests.clear()

    # ------------------------------------------------------------------ dispatch

    def _dispatch(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: Any, body_error: bool
    ) -> _Reply:
        if method == "HEAD":
            method = "GET"
        # src: pkg/api/http_server.go apiHealthHandler: before any auth, GET/HEAD only
        if path == "/api/health" and method == "GET":
            return self._health()
        # src: pkg/services/contexthandler/model ReqContext.IsApiRequest: strings.HasPrefix(path, "/api"), which
        # covers /apis: an unauthenticated /apis request gets the JSON 401, not the login redirect
        is_api = path.startswith("/api")
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
            if path.startswith("/apis/"):
                return k8s.bad_request("the body of the request was in an unknown format")
            # src: pkg/web/binding.go via web.Bind -> response.Error(400, "bad request data", err)
            return _error(400, "bad request data", trace=True)
        if self.apis_served and path.startswith("/apis"):
            with self._lock:
                if path.rstrip("/") == "/apis" and method == "GET":
                    return self._apis_discovery(ident, query, body)
                m = re.fullmatch(APIS_PATH, path)
                if m:
                    return self._apis(ident, method, query, body, *m.groups())
            return k8s.status(404, "NotFound", "the server could not find the requested resource")

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



def make_fixture(name: str = "grafana", scope: str = "function", **kwargs: Any) -> Any:
    """Build a pytest fixture yielding a started GrafanaEmulator (``grafana = make_fixture(tokens="t")``)."""
    import pytest

    def _fixture() -> Iterator[GrafanaEmulator]:
        with GrafanaEmulator(**kwargs) as emu:
            yield emu

    _fixture.__name__ = name
    return pytest.fixture(scope=scope, name=name)(_fixture)
