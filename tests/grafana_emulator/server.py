"""The HTTP transport: a threaded server on loopback that logs each request, applies faults and latency, and
hands the rest to the emulator's dispatch."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .inspection import RequestRecord
from .replies import _error, _Reply

if TYPE_CHECKING:
    from .emulator import GrafanaEmulator

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

