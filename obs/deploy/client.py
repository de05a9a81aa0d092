"""A small, careful layer over grafana-client for `obs push` and `obs diff --grafana-url`.

What it adds to grafana-client 5.1.4 (which has no retries and hides response headers):

* URL handling: `https://host/grafana` and `https://host/grafana/` both work (grafana-client needs the
  trailing slash for a sub-path); credentials embedded in the URL are moved out of it.
* Retries with exponential backoff and jitter on connection errors, timeouts, 429 (honouring
  Retry-After) and 5xx. Every request `obs push` makes is safe to repeat; see `obs/push.py` for why.
* One client per thread (a thread pool runs independent requests), with a request/write count.
* Errors as one line of text, classified (`GrafanaError.kind`) so the caller can tell "bad token" from
  "not a Grafana" from "unreachable". Every message goes through `redact`, so the token or password
  never reaches the terminal, even inside an exception's text.
"""

from __future__ import annotations

import contextlib
import random
import re
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import niquests
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException, GrafanaTimeoutError

from obs.core.redact import redact
from obs.deploy.target import Target, redact_url


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 4  # attempts after the first one
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_backoff: float = 8.0
    max_retry_after: float = 30.0  # never wait longer than this for a 429's Retry-After

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # "equal jitter": spread, never zero


# Tests shrink this (monkeypatch) so a burst of 503s costs milliseconds, not seconds.
DEFAULT_BACKOFF = 0.5


class GrafanaError(Exception):
    """A request failed for good (after any retries). `kind` says what the caller should make of it:

    unauthorized (401), forbidden (403), not_found (404), conflict (409/412), client (other 4xx),
    server (5xx), unreachable (connection refused, DNS, dropped connection), tls, timeout, not_grafana.
    """

    FATAL = {"unauthorized", "forbidden", "unreachable", "tls", "timeout", "not_grafana"}

    def __init__(self, kind: str, message: str, *, status: int | None = None, method: str = "", path: str = "",
                 response: Any = None) -> None:
        self.kind = kind
        self.status = status
        self.method = method
        self.path = path
        self.response = response
        super().__init__(message)

    @property
    def fatal(self) -> bool:
        """Nothing else will work either: stop the whole push."""
        return self.kind in self.FATAL

    @property
    def grafana_message(self) -> str:
        if isinstance(self.response, dict):
            return str(self.response.get("message") or "")
        return ""


RETRYABLE_STATUS = {429} | set(range(500, 600))


class Grafana:
    """Thread-safe request runner over grafana-client, one session per thread."""

    def __init__(self, target: Target, *, policy: RetryPolicy | None = None, pool_size: int = 10) -> None:
        self.target = target
        self.policy = policy or RetryPolicy(retries=target.retries, backoff=DEFAULT_BACKOFF)
        self.pool_size = pool_size
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[GrafanaApi] = []
        self.requests = 0
        self.writes = 0
        self.retried = 0
        parts = urlsplit(target.url)
        self._parts = parts
        if target.insecure:
            warnings.filterwarnings("ignore", message=".*[Uu]nverified HTTPS request.*")

    # ------------------------------------------------------------------ plumbing

    def _client(self) -> GrafanaApi:
        api = getattr(self._local, "api", None)
        if api is None:
            prefix = self._parts.path.strip("/")
            api = GrafanaApi(
                auth=self.target.credential,
                host=self._parts.hostname,
                port=self._parts.port,
                # grafana-client builds "{protocol}://{host}/{prefix}api": a sub-path needs its slash
                url_path_prefix=f"{prefix}/" if prefix else "",
                protocol=self._parts.scheme,
                verify=not self.target.insecure,
                timeout=self.target.timeout,
                session_pool_size=self.pool_size,
            )
            api.client.s.hooks["response"].append(self._remember_response)
            self._local.api = api
            with self._lock:
                self._clients.append(api)
        return api

    def _remember_response(self, response: Any, **_: Any) -> Any:
        # grafana-client raises from the parsed body only; keep the headers for Retry-After.
        self._local.headers = getattr(response, "headers", None) or {}
        # Called once per hop, before niquests follows a redirect (the final response's .history is set later)
        if getattr(response, "is_redirect", False):
            self._local.redirected = True
        self._local.final_url = str(getattr(response, "url", "") or "")
        return response

    def close(self) -> None:
        with self._lock:
            for api in self._clients:
                with contextlib.suppress(Exception):  # closing is best effort
                    api.client.s.close()
            self._clients.clear()

    def __enter__(self) -> Grafana:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _retry_after(self) -> float | None:
        headers = getattr(self._local, "headers", None) or {}
        value = headers.get("Retry-After") if hasattr(headers, "get") else None
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError):
                return None

    # ------------------------------------------------------------------ requests

    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                retry: bool = True) -> Any:
        """`path` is below /api (e.g. "/dashboards/uid/x"). Returns the parsed body; raises GrafanaError."""
        attempts = 1 + (self.policy.retries if retry else 0)
        last: GrafanaError | None = None
        for attempt in range(1, attempts + 1):
            self._local.headers = {}
            self._local.redirected = False
            with self._lock:
                self.requests += 1
                if method != "GET":
                    self.writes += 1
                if attempt > 1:
                    self.retried += 1
            try:
                runner = getattr(self._client().client, method)
                return runner(path, json=json, params=params)
            except GrafanaException as error:
                last = self._classify_grafana(error, method, path)
            except niquests.exceptions.RequestException as error:
                last = self._classify_transport(error, method, path)
            retryable = last.kind in ("unreachable", "timeout") or (last.status in RETRYABLE_STATUS)
            if not retryable or attempt == attempts:
                raise last
            time.sleep(self.policy.delay(attempt, self._retry_after() if last.status == 429 else None))
        assert last is not None
        raise last

    def get_or_none(self, path: str, **kwargs: Any) -> Any:
        """GET, with 404 as None."""
        try:
            return self.request("GET", path, **kwargs)
        except GrafanaError as error:
            if error.kind == "not_found":
                return None
            raise

    def _where(self, method: str, path: str) -> str:
        return f"{method} {self._parts.path}/api{path}"

    def _classify_grafana(self, error: GrafanaException, method: str, path: str) -> GrafanaError:
        where = self._where(method, path)
        if isinstance(error, GrafanaTimeoutError) or error.status_code == 0:
            cause = error.__cause__
            if isinstance(cause, niquests.exceptions.RequestException) and not isinstance(
                    cause, niquests.exceptions.Timeout):
                return self._classify_transport(cause, method, path)
            return GrafanaError("timeout", self._say(f"no answer from Grafana within {self.target.timeout:g} s "
                                                     f"({where})"), method=method, path=path)
        status = int(error.status_code)
        body = error.response
        detail = _body_message(body)
        kind = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 412: "conflict"}.get(
            status, "server" if status >= 500 else "client")
        hint = ""
        if status == 403 and "read-only" not in detail.lower():
            hint = (" - the credentials lack this permission (obs push needs the Admin role for datasources, "
                    "Editor for folders and dashboards)")
        return GrafanaError(kind, self._say(f"{where} answered {status}{': ' + detail if detail else ''}{hint}"),
                            status=status, method=method, path=path, response=body)

    def _classify_transport(self, error: Exception, method: str, path: str) -> GrafanaError:
        text = str(error)
        host = f"{self._parts.hostname}:{self._parts.port or (443 if self._parts.scheme == 'https' else 80)}"
        if isinstance(error, niquests.exceptions.SSLError):
            reason = _first(r"\[SSL: [A-Z_]+\] ([^('\"]+)", text) or _first(r"(certificate verify failed[^'\")]*)",
                                                                              text) or "handshake failed"
            hint = "" if self.target.insecure else "; --insecure skips certificate checks, only for a host you trust"
            return GrafanaError("tls", self._say(f"TLS failure talking to {self.target.url}: {reason.strip()}{hint}"),
                                method=method, path=path)
        if isinstance(error, niquests.exceptions.Timeout):
            return GrafanaError("timeout", self._say(f"no answer from Grafana within {self.target.timeout:g} s "
                                                     f"({self._where(method, path)})"), method=method, path=path)
        reason = _first(r"\[Errno -?\d+\] ([^'\")]+)", text)
        if not reason and re.search(r"RemoteDisconnected|aborted|closed|reset|EOF", text, re.I):
            reason = "connection dropped without a response"
        return GrafanaError("unreachable", self._say(f"cannot reach Grafana at {host}: {(reason or text).strip()}"),
                            method=method, path=path)

    def _say(self, text: str) -> str:
        return redact(" ".join(text.split()), self.target.secrets)

    # ------------------------------------------------------------------ preflight

    def check(self) -> dict[str, Any]:
        """Is this a Grafana, and do the credentials work? Returns {version, ...}; raises GrafanaError."""
        try:
            health = self.request("GET", "/health")
        except GrafanaError as error:
            if error.kind in ("not_found", "client", "unauthorized", "forbidden"):
                raise GrafanaError("not_grafana", self._say(
                    f"{self.target.url} is not a Grafana URL: GET {self._parts.path}/api/health answered "
                    f"{error.status} (is the sub-path right?)"), status=error.status) from None
            raise
        moved = getattr(self._local, "final_url", "") if getattr(self._local, "redirected", False) else ""
        if moved:
            # niquests follows redirects, turning a POST into a GET on 301/302: never write through one.
            target = redact_url(moved).split("/api/health")[0]
            raise GrafanaError("not_grafana", self._say(
                f"{self.target.url} redirects to {target}: use that URL"))
        if not isinstance(health, dict) or "database" not in health:
            raise GrafanaError("not_grafana", self._say(
                f"{self.target.url} is not a Grafana URL: GET {self._parts.path}/api/health did not answer "
                "Grafana's health JSON (is the sub-path right?)"))
        try:
            settings = self.request("GET", "/frontend/settings")
        except GrafanaError as error:
            if error.kind == "unauthorized":
                what = "token" if isinstance(self.target.credential, str) else "user name or password"
                detail = error.grafana_message or "Unauthorized"
                raise GrafanaError("unauthorized", self._say(
                    f"Grafana at {self.target.url} rejected the {what} (401 {detail})"), status=401) from None
            if error.kind == "not_found":
                raise GrafanaError("not_grafana", self._say(
                    f"{self.target.url} is not a Grafana URL: GET {self._parts.path}/api/frontend/settings "
                    "answered 404"), status=404) from None
            raise
        build = settings.get("buildInfo", {}) if isinstance(settings, dict) else {}
        return {"version": build.get("version") or health.get("version") or "unknown",
                "database": health.get("database")}


def _first(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    return match.group(1) if match else ""


def _body_message(body: Any) -> str:
    if isinstance(body, dict):
        message = str(body.get("message") or "")
        status = body.get("status")
        return f"{message} ({status})" if status and message else message
    if isinstance(body, str):
        text = re.sub(r"<[^>]+>", " ", body)
        return " ".join(text.split())[:120]
    return ""
