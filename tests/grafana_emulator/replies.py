"""What a handler answers: a status, a body and headers, in the shapes Grafana's response package writes."""

from __future__ import annotations

import json
from typing import Any


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


