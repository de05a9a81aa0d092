"""`obs verify` says plainly when the URL it is given is not a Prometheus, in one line, before any query."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import run_obs


def serve(status: int, body: bytes, content_type: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def server(request) -> Iterator[str]:
    running = serve(*request.param)
    yield f"http://127.0.0.1:{running.server_address[1]}"
    running.shutdown()
    running.server_close()


@pytest.mark.parametrize("server, reason", [
    ((404, b"404 page not found\n", "text/plain"),
     "is not a Prometheus: GET /api/v1/status/buildinfo answered 404 (give Prometheus's own URL: its HTTP API is "
     "under /api/v1/)"),
    ((200, b"<!doctype html><title>Grafana</title>", "text/html; charset=UTF-8"),
     "is not a Prometheus: GET /api/v1/status/buildinfo answered text/html; charset=UTF-8 without Prometheus's build "
     "info (give Prometheus's own URL: its HTTP API is under /api/v1/)"),
], indirect=["server"], ids=["404", "grafana-html"])
def test_a_url_that_is_not_a_prometheus_is_named_in_one_line(server, reason, repo):
    result = run_obs("verify", "--root", str(repo), "--prometheus-url", server)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {server} {reason}"]


def test_nothing_listening_is_one_line(repo):
    result = run_obs("verify", "--root", str(repo), "--prometheus-url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot reach Prometheus at http://127.0.0.1:9: ")
