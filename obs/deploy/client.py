"""A small, careful HTTP layer for `obs push` and `obs diff --grafana-url`, over the session and credentials
grafana-client sets up.

Why not grafana-client's own request runner: it follows redirects (a 302 to a login page turns a POST into a
GET that answers 200 HTML), returns a text answer as a string where a JSON object was expected, hides the
response headers (Retry-After, Location) and only knows `/api`. obs sends through the client's session and auth
itself, and adds:

* URL handling: `https://host/grafana` and `https://host/grafana/` both work; credentials embedded in the URL are
  moved out of it (percent-decoded).
* No redirect is ever followed. A redirect is an error naming where it points; at the first request it means
  "use that URL".
* An answer is used only when it is JSON. A 2xx answer that is HTML or empty is an error for that object.
* Retries with exponential backoff and jitter on timeouts, dropped connections, 429 (honouring Retry-After) and
  5xx; a refused connection or a name that does not resolve stops at once. After WRITE_5XX_LIMIT write answers
  in a row that are 5xx the push stops: Grafana is down, retrying every object would only hammer it.
* One session per thread (a thread pool runs independent requests), with request, write and retry counts.
* Errors as one line of text, classified (`GrafanaError.kind`) so the caller can tell "bad token" from "not a
  Grafana" from "unreachable". Every message goes through `redact` with every form of the credential obs sends
  (as given, URL-quoted, base64 in a Basic header), so it never reaches the terminal.
"""

from __future__ import annotations

import contextlib
import functools
import json
import random
import re
import socket
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import niquests
from grafana_client import GrafanaApi

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
# Write answers in a row that were 5xx (retries included) before the push stops: two objects' worth of retries.
WRITE_5XX_LIMIT = 10


class GrafanaError(Exception):
    """A request failed for good (after any retries). `kind` says what the caller should make of it:

    unauthorized (401), forbidden (403), not_found (404), conflict (409/412), client (other 4xx), server (5xx),
    unreachable (connection refused or dropped), dns, tls, timeout, not_grafana, redirect (a 3xx, never followed),
    not_json (a 2xx that is not JSON, or not the JSON expected), down (too many 5xx writes in a row).
    """

    FATAL = {"unauthorized", "forbidden", "unreachable", "dns", "tls", "timeout", "not_grafana", "down"}

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

    @property
    def reason(self) -> str:
        """A Kubernetes Status's reason (Conflict, AlreadyExists, NotFound, Invalid...), "" otherwise."""
        if isinstance(self.response, dict) and self.response.get("kind") == "Status":
            return str(self.response.get("reason") or "")
        return ""


RETRYABLE_STATUS = {429} | set(range(500, 600))


@dataclass
class Answer:
    status: int
    text: str  # the raw body (for messages: HTML pages, plain text)
    content_type: str
    location: str
    headers: Any

    @functools.cached_property
    def body(self) -> Any:
        """The parsed JSON, or None when the body is empty or not JSON."""
        if not self.text.strip():
            return None
        try:
            return json.loads(self.text)
        except ValueError:
            return None


class Grafana:
    """Thread-safe request runner, one session per thread."""

    def __init__(self, target: Target, *, policy: RetryPolicy | None = None, pool_size: int = 10) -> None:
        self.target = target
        self.policy = policy or RetryPolicy(retries=target.retries, backoff=DEFAULT_BACKOFF)
        self.pool_size = pool_size
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[Any] = []
        self.requests = 0
        self.writes = 0
        self.retried = 0
        self._write_5xx = 0
        self._down: GrafanaError | None = None
        self._parts = urlsplit(target.url)
        self.root = target.url  # no trailing slash
        if target.insecure:
            warnings.filterwarnings("ignore", message=".*[Uu]nverified HTTPS request.*")

    # ------------------------------------------------------------------ plumbing

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            prefix = self._parts.path.strip("/")
            client = GrafanaApi(
                auth=self.target.credential,
                host=self._parts.hostname,
                port=self._parts.port,
                url_path_prefix=f"{prefix}/" if prefix else "",
                protocol=self._parts.scheme,
                verify=not self.target.insecure,
                timeout=self.target.timeout,
                session_pool_size=self.pool_size,
            ).client
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                with contextlib.suppress(Exception):  # closing is best effort
                    client.s.close()
            self._clients.clear()

    def __enter__(self) -> Grafana:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, json_body: Any, params: dict[str, Any] | None) -> Answer:
        client = self._client()
        response = client.s.request(method, self.root + path, json=json_body, params=params, auth=client.auth,
                                    verify=client.verify, timeout=client.timeout, allow_redirects=False)
        text = (response.content or b"").decode("utf-8", errors="replace")
        headers = response.headers or {}
        return Answer(int(response.status_code or 0), text, str(headers.get("Content-Type", "") or ""),
                      str(headers.get("Location", "") or ""), headers)

    # ------------------------------------------------------------------ requests

    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                retry: bool = True, raw: bool = False) -> Any:
        """`path` below the Grafana URL ("/api/health", "/apis/..."). Returns the parsed JSON (with `raw`, the
        2xx Answer itself, parsed by the caller when it needs it); raises GrafanaError. A 2xx answer that is not
        JSON is an error (kind not_json)."""
        write = method not in ("GET", "HEAD")
        attempts = 1 + (self.policy.retries if retry else 0)
        last: GrafanaError | None = None
        for attempt in range(1, attempts + 1):
            if write and self._down is not None:
                raise self._down
            with self._lock:
                self.requests += 1
                if write:
                    self.writes += 1
                if attempt > 1:
                    self.retried += 1
            retry_after = None
            try:
                answer = self._send(method, path, json, params)
            except niquests.exceptions.RequestException as error:
                last = self._classify_transport(error, method, path)
            else:
                if write:
                    self._count_write(answer.status, method, path, answer)
                if 200 <= answer.status < 300:
                    if raw:
                        return answer
                    if answer.status == 204 or not answer.text.strip() and method == "DELETE":
                        return None
                    if answer.body is None:
                        raise GrafanaError("not_json", self._say(
                            f"{self._where(method, path)} answered {answer.status} with "
                            f"{_kind_of(answer)}, not JSON (a proxy or a login page in front of Grafana?)"),
                            status=answer.status, method=method, path=path, response=answer.text)
                    return answer.body
                last = self._classify_status(answer, method, path)
                if answer.status == 429:
                    retry_after = self._retry_after(answer.headers)
            if write and self._down is not None:
                raise self._down
            retryable = last.kind == "timeout" or (last.kind == "unreachable" and "dropped" in str(last)) or (
                last.status in RETRYABLE_STATUS)
            if not retryable or attempt == attempts:
                raise last
            time.sleep(self.policy.delay(attempt, retry_after))
        assert last is not None
        raise last

    def _count_write(self, status: int, method: str, path: str, answer: Answer) -> None:
        with self._lock:
            if status >= 500:
                self._write_5xx += 1
                if self._write_5xx >= WRITE_5XX_LIMIT and self._down is None:
                    detail = _body_message(answer.body if answer.body is not None else answer.text,
                                           self.target.secrets)
                    self._down = GrafanaError("down", self._say(
                        f"Grafana answered {self._write_5xx} writes in a row with 5xx (the last: "
                        f"{self._where(method, path)} answered {status}{': ' + detail if detail else ''}): "
                        "the push stopped, the rest is not attempted"), status=status, method=method, path=path)
            else:
                self._write_5xx = 0

    def get_or_none(self, path: str, **kwargs: Any) -> Any:
        """GET, with 404 as None."""
        try:
            return self.request("GET", path, **kwargs)
        except GrafanaError as error:
            if error.kind == "not_found":
                return None
            raise

    def _where(self, method: str, path: str) -> str:
        return f"{method} {self._parts.path}{path}"

    def _retry_after(self, headers: Any) -> float | None:
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

    def _classify_status(self, answer: Answer, method: str, path: str) -> GrafanaError:
        where = self._where(method, path)
        status = answer.status
        if 300 <= status < 400:
            target = redact_url(answer.location) if answer.location else "no Location"
            return GrafanaError("redirect", self._say(
                f"{where} answered {status}, a redirect to {target}: obs never follows a redirect (a proxy or a "
                "login page in front of Grafana?)"), status=status, method=method, path=path,
                response=answer.location)
        body = answer.body if answer.body is not None else answer.text
        detail = _body_message(body, self.target.secrets)
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
        host = self._parts.hostname or ""
        address = f"{host}:{self._parts.port or (443 if self._parts.scheme == 'https' else 80)}"
        causes = _causes(error)
        if isinstance(error, niquests.exceptions.SSLError):
            reason = _first(r"\[SSL: [A-Z_]+\] ([^('\"]+)", text) or _first(r"(certificate verify failed[^'\")]*)",
                                                                              text) or "handshake failed"
            hint = "" if self.target.insecure else "; --insecure skips certificate checks, only for a host you trust"
            return GrafanaError("tls", self._say(f"TLS failure talking to {self.target.url}: {reason.strip()}{hint}"),
                                method=method, path=path)
        if isinstance(error, niquests.exceptions.Timeout):
            return GrafanaError("timeout", self._say(f"no answer from Grafana within {self.target.timeout:g} s "
                                                     f"({self._where(method, path)})"), method=method, path=path)
        gai = next((c for c in causes if isinstance(c, socket.gaierror)), None)
        if gai is not None or any(type(c).__name__ == "NameResolutionError" for c in causes):
            reason = (str(gai).split(":")[0] if gai is not None else "") or "the name does not resolve"
            return GrafanaError("dns", self._say(f"cannot resolve the host name {host!r} of {self.target.url} (DNS: "
                                                 f"{reason.strip()})"), method=method, path=path)
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return GrafanaError("unreachable", self._say(f"cannot reach Grafana at {address}: Connection refused"),
                                method=method, path=path)
        reason = _first(r"\[Errno -?\d+\] ([^'\")]+)", text)
        if not reason and re.search(r"RemoteDisconnected|aborted|closed|reset|EOF|ProtocolError", text, re.I):
            reason = "connection dropped without a response"
        return GrafanaError("unreachable", self._say(f"cannot reach Grafana at {address}: "
                                                     f"{(reason or 'connection failed').strip()}"),
                            method=method, path=path)

    def _say(self, text: str) -> str:
        return redact(" ".join(text.split()), self.target.secrets)


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
        if current is None and seen[-1].args and isinstance(seen[-1].args[-1], BaseException):
            current = seen[-1].args[-1]
    for item in list(seen):  # urllib3 keeps the underlying error in .reason
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException) and reason not in seen:
            seen += _causes(reason)
    return seen


def _first(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    return match.group(1) if match else ""


def _kind_of(answer: Answer) -> str:
    if not answer.text.strip():
        return "an empty body"
    return answer.content_type.split(";")[0] or "a body of unknown type"


def _body_message(body: Any, secrets: list[str]) -> str:
    """What an error answer says, in one line. A text body is redacted whole before it is shortened: cut first,
    a credential that spans the cut would print its first part."""
    if isinstance(body, dict):
        message = str(body.get("message") or "")
        status = body.get("status")
        if body.get("kind") == "Status":  # a Kubernetes Status: status is Success/Failure, the reason says more
            return message
        return f"{message} ({status})" if status and message else message
    if isinstance(body, str):
        text = re.sub(r"<[^>]+>", " ", redact(body, secrets))
        return " ".join(text.split())[:120]
    return ""
