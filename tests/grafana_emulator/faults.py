"""Fault injection: answer the next requests with a status (a proxy's 5xx, a 429) or drop the connection."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


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



_NGINX_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class FaultsMixin:
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
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``n`` matching requests with ``status`` (a proxy-style 5xx by default); what a proxy
        or a login page in front of Grafana answers: any status, body, content type and headers."""
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
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = str(retry_after)
        with self._lock:
            self._faults.append(_Fault("status", n, path_prefix, method, status, raw, content_type or ctype, extra))

    def redirect_next(self, n: int, location: str, status: int = 302, *, path_prefix: str | None = None,
                      method: str | None = None) -> None:
        """Answer the next ``n`` matching requests with a redirect to ``location`` (a proxy, an SSO gateway)."""
        self.fail_next(n, status, path_prefix=path_prefix, method=method, body=b"", content_type="text/html",
                       headers={"Location": location})

    def html_next(self, n: int, *, path_prefix: str | None = None, method: str | None = None) -> None:
        """Answer the next ``n`` matching requests with 200 and an HTML page (a login page, a captive portal)."""
        self.fail_next(n, 200, path_prefix=path_prefix, method=method,
                       body=b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Sign in</body></html>",
                       content_type="text/html; charset=utf-8")

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

