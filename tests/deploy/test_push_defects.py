"""The defects issue 10 reproduced through a fault proxy, each pinned by a test that failed before its fix:
redirects and HTML answers counted as writes, crashes on non-JSON answers, datasource updates without their
version, credentials leaking in an encoded form, a push that hammers a Grafana answering 503, undecoded URL
credentials, prune on an unreadable listing, backups without folder, apiVersion or a stable name, and messages
that did not say what happened. Most run on both paths: the 13.2 /apis and the 12.x legacy /api."""

from __future__ import annotations

import base64
import http.server
import json
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner

from catalog.grafana import FOLDER, SYSTEM_OVERVIEW
from obs.cli import main
from obs.deploy import client as grafana_api
from obs.deploy.target import make_target

from grafana_emulator import GrafanaEmulator

ADMIN = "glsa_obs_defects_admin_TOKEN_42"
EDITOR = "glsa_obs_defects_editor_TOKEN_42"
TOKENS = {ADMIN: "Admin", EDITOR: "Editor"}
CLEAN_ENV = {"GRAFANA_URL": None, "GRAFANA_TOKEN": None, "GRAFANA_USER": None, "GRAFANA_PASSWORD": None}
APIS_DASHBOARDS = "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards"
VERSIONS = {"apis": "13.2.3", "legacy": "12.3.0"}
SAVE_PATH = {"apis": APIS_DASHBOARDS, "legacy": "/api/dashboards/db"}


@pytest.fixture(params=["apis", "legacy"])
def path(request) -> str:
    return request.param


@pytest.fixture
def grafana(path):
    with GrafanaEmulator(tokens=TOKENS, version=VERSIONS[path]) as emu:
        yield emu


@pytest.fixture(autouse=True)
def always_cached(cached_build):
    """Every test here pushes the repository's content."""


def obs_push(root: Path, url: str, *args: str, token: str | None = ADMIN, user: str | None = None,
             password: str | None = None):
    argv = ["push", "--root", str(root), "--grafana-url", url, *args]
    argv += ["--token", token] if token is not None else []
    argv += ["--user", user, "--password", password] if user is not None else []
    return CliRunner().invoke(main, argv, env=CLEAN_ENV, catch_exceptions=False)


def errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


# --------------------------------------------------------------------------- redirects and HTML answers


def test_a_write_answered_with_a_redirect_is_a_failure(grafana, path, tmp_path):
    grafana.redirect_next(1, f"{grafana.url}/login", 302, method="POST", path_prefix=SAVE_PATH[path])
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 1
    assert f"answered 302, a redirect to {grafana.url}/login: obs never follows a redirect" in result.stdout
    assert "dashboards: 2 created, 1 failed" in result.stderr
    assert len(grafana.dashboard_uids) == 2
    assert not [r for r in grafana.requests if r.path == "/login"]  # not followed


def test_a_307_to_another_server_sends_it_nothing(grafana, path, tmp_path):
    with GrafanaEmulator(tokens=TOKENS, version=VERSIONS[path]) as other:
        grafana.redirect_next(3, other.url + SAVE_PATH[path], 307, method="POST", path_prefix=SAVE_PATH[path])
        result = obs_push(tmp_path, grafana.url)
        assert result.exit_code == 1
        assert other.requests == []  # the dashboard body went nowhere else
        assert "dashboards: 3 failed" in result.stderr and grafana.dashboard_uids == []


def test_a_write_answered_200_html_is_a_failure(grafana, path, tmp_path):
    grafana.html_next(1, method="POST", path_prefix=SAVE_PATH[path])
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 1
    assert f"POST {SAVE_PATH[path]} answered 200 with text/html, not JSON" in result.stdout
    assert "dashboards: 2 created, 1 failed" in result.stderr and len(grafana.dashboard_uids) == 2


@pytest.mark.parametrize("kind", ["dashboard", "datasource"])
def test_a_write_answered_200_with_json_of_another_shape_is_a_failure(grafana, path, tmp_path, kind):
    """A proxy (or anything not Grafana) answering `200 {"message": "ok"}`: JSON, but not the saved object, so
    nothing proves the write; counted as failed, never as created."""
    prefix = SAVE_PATH[path] if kind == "dashboard" else "/api/datasources"
    grafana.fail_next(1, 200, method="POST", path_prefix=prefix, body={"message": "ok"})
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 1
    failed = [line for line in result.stdout.splitlines() if line.lstrip().startswith("FAILED")]
    assert len(failed) == 1 and f" {kind} " in failed[0]
    counts = {"dashboard": ("dashboards: 2 created, 1 failed", 2), "datasource": ("datasources: 2 created, 1 failed",
                                                                                   3)}[kind]
    assert counts[0] in result.stderr and len(grafana.dashboard_uids) == counts[1]
    reason = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("POST " + prefix)]
    assert len(reason) == 1 and "answered JSON that " in reason[0] and "not" in reason[0].split("answered JSON")[1]


def test_a_redirect_after_the_first_request_is_an_error_naming_the_location(grafana, path, tmp_path):
    grafana.redirect_next(1, "https://sso.example/authorize?next=x", 302, method="GET",
                          path_prefix="/api/datasources")
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 1
    assert "GET /api/datasources answered 302, a redirect to https://sso.example/authorize?next=x" in result.stdout
    assert "datasources: 3 failed" in result.stderr and len(grafana.dashboard_uids) == 3


def test_a_non_json_get_is_one_error_line_and_the_push_goes_on(tmp_path):
    with GrafanaEmulator(tokens=TOKENS, version="12.3.0") as emu:
        emu.html_next(1, method="GET", path_prefix=f"/api/dashboards/uid/{SYSTEM_OVERVIEW.uid}")
        result = obs_push(tmp_path, emu.url)
        assert result.exit_code == 1
        lines = [line for line in result.stdout.splitlines() if "not JSON" in line]
        assert lines == [f"      GET /api/dashboards/uid/{SYSTEM_OVERVIEW.uid} answered 200 with text/html, not JSON "
                         "(a proxy or a login page in front of Grafana?)"]
        assert "Traceback" not in result.output and "dashboards: 2 created, 1 failed" in result.stderr
        assert sorted(emu.dashboard_uids) == sorted(set(emu.dashboard_uids) - {SYSTEM_OVERVIEW.uid})


def test_a_non_json_datasource_read_fails_the_datasources_only(tmp_path):
    with GrafanaEmulator(tokens=TOKENS) as emu:
        emu.html_next(1, method="GET", path_prefix="/api/datasources")
        result = obs_push(tmp_path, emu.url)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "datasources: 3 failed" in result.stderr and "dashboards: 3 created" in result.stderr


# --------------------------------------------------------------------------- datasources


def test_a_datasource_changed_between_read_and_write_is_not_overwritten(grafana, compiled, tmp_path, monkeypatch):
    body = next(d for d in compiled.datasources if d["uid"] == "obs-prometheus")
    grafana.add_datasource({**body, "url": "http://old:9090"})
    original = grafana_api.Grafana.request

    def request(self, method, where, **kwargs):
        if method == "PUT" and where == "/api/datasources/uid/obs-prometheus":
            grafana.edit_datasource("obs-prometheus", basicAuthUser="set-in-the-ui")  # meanwhile, in the UI
        return original(self, method, where, **kwargs)

    monkeypatch.setattr(grafana_api.Grafana, "request", request)
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 1
    assert ("answered 409: Datasource has already been updated by someone else. Please reload and try again: "
            "changed in Grafana during the push; nothing overwritten") in result.stdout
    live = grafana.datasource("obs-prometheus")
    assert live["basicAuthUser"] == "set-in-the-ui" and live["url"] == "http://old:9090"


def test_a_datasource_changed_in_grafana_is_reported_and_backed_up(grafana, compiled, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    version = grafana.edit_datasource("obs-prometheus", url="http://changed-in-the-ui:9090")
    edited = grafana._ds_dto(grafana._datasources["obs-prometheus"])
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert "differs from the code: changed in Grafana or pushed by an older code" in result.stdout
    backup = tmp_path / ".obs-backups" / f"datasource-obs-prometheus-v{version}.json"
    assert json.loads(backup.read_text()) == edited
    assert f".obs-backups/datasource-obs-prometheus-v{version}.json" in result.stdout
    [put] = [r for r in grafana.writes if r.method == "PUT"]
    assert put.body["version"] == version  # an update of an older version would be refused
    assert grafana.datasource("obs-prometheus")["url"] == "http://prometheus:9090"


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize("password", ["p@ss w:rd/+&=", "hunter2-ONLY"])
def test_no_encoding_of_a_credential_is_ever_printed(path, tmp_path, password):
    basic = base64.b64encode(f"ops:{password}".encode()).decode()
    with GrafanaEmulator(tokens=TOKENS, basic_auth=("ops", password), version=VERSIONS[path]) as emu:
        echo = (f"echoing your request: Authorization: Basic {basic}; pw={quote(password, safe='')} "
                f"{quote_plus(password)}")
        emu.fail_next(100, 500, method="POST", body={"message": f"{echo} raw {password}"})
        results = [obs_push(tmp_path, emu.url, "--retries", "0", token=None, user="ops", password=password),
                   obs_push(tmp_path, emu.url.replace("://", f"://ops:{quote(password, safe='')}@"), "--retries",
                            "0", token=None)]
    for result in results:
        assert result.exit_code == 1 and "echoing your request" in result.output  # the answer was shown...
        for form in (basic, password, quote(password, safe=""), quote_plus(password)):
            assert form not in result.output  # ...without any form of the credential


def test_a_text_answer_is_redacted_before_it_is_shortened(path, tmp_path):
    """The message keeps a text answer's first 120 characters: cut before redaction, a Basic header that spans
    the cut would print its first base64 characters, which decode to the start of the password."""
    password = "s3cretPassword"
    basic = base64.b64encode(f"ops:{password}".encode()).decode()
    with GrafanaEmulator(tokens=TOKENS, basic_auth=("ops", password), version=VERSIONS[path]) as emu:
        emu.fail_next(100, 500, method="POST", body="x" * 90 + f" Authorization: Basic {basic} and more")
        result = obs_push(tmp_path, emu.url, "--retries", "0", token=None, user="ops", password=password)
    assert result.exit_code == 1 and "Authorization: Basic ***" in result.output
    assert not any(basic[:n] in result.output for n in range(4, len(basic) + 1))


def test_url_credentials_are_percent_decoded(path, tmp_path):
    with GrafanaEmulator(tokens=TOKENS, basic_auth=("admin", "p@ss"), version=VERSIONS[path]) as emu:
        url = emu.url.replace("://", "://admin:p%40ss@")
        result = obs_push(tmp_path, url, token=None)
        assert result.exit_code == 0, result.output
        assert "(basic auth)" in result.stdout and "p%40ss" not in result.output and "p@ss" not in result.output
    assert make_target(url, None, None, None).credential == ("admin", "p@ss")


# --------------------------------------------------------------------------- a Grafana that is down


def test_consecutive_5xx_writes_stop_the_push(grafana, tmp_path):
    grafana.fail_next(10_000, 503, method="POST")
    started = time.monotonic()
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 1
    posts = grafana.count("POST")
    assert 10 <= posts <= 10 + 8  # the limit, plus what was in flight; not 5 attempts for every object
    assert errors(result)[0].startswith("error: Grafana answered 10 writes in a row with 5xx (the last: POST ")
    assert "the push stopped, the rest is not attempted" in errors(result)[0]
    assert "not attempted" in result.stdout and time.monotonic() - started < 10


def test_a_403_on_the_first_write_stops_the_push(grafana, tmp_path):
    result = obs_push(tmp_path, grafana.url, token=EDITOR)
    assert result.exit_code == 1
    assert len(grafana.writes) == 1  # one datasource POST, alone: the others were never tried
    assert errors(result)[0].startswith("error: POST /api/datasources answered 403")
    assert result.stdout.count("not attempted") == 2 + 1 + 3


# --------------------------------------------------------------------------- prune and backups


def test_prune_refuses_a_listing_that_is_not_a_list(tmp_path):
    with GrafanaEmulator(tokens=TOKENS, version="12.3.0") as emu:
        assert obs_push(tmp_path, emu.url).exit_code == 0
        emu.add_dashboard({"uid": "obs-retired", "title": "Retired", "tags": ["obs-managed"]}, FOLDER.uid)
        emu.fail_next(1, 200, method="GET", path_prefix="/api/search", body={"message": "search is down"})
        result = obs_push(tmp_path, emu.url, "--prune")
        assert result.exit_code == 1
        assert ("GET /api/search did not answer a list of dashboards: the obs folder's content cannot be listed, "
                "nothing is pruned: --prune deletes nothing") in result.stdout
        assert "obs-retired" in emu.dashboard_uids and not [r for r in emu.writes if r.method == "DELETE"]


def test_prune_refuses_an_apis_listing_that_is_not_a_list(tmp_path):
    with GrafanaEmulator(tokens=TOKENS) as emu:
        assert obs_push(tmp_path, emu.url).exit_code == 0
        emu.fail_next(1, 200, method="GET", path_prefix=APIS_DASHBOARDS, body={"kind": "DashboardList"})
        result = obs_push(tmp_path, emu.url, "--prune")
        assert result.exit_code == 1
        assert "did not answer a list of dashboards: --prune deletes nothing" in result.stdout
        assert not [r for r in emu.writes if r.method == "DELETE"]


def test_backups_are_kept_once_per_uid_and_version_with_folder_and_api_version(grafana, path, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    version = grafana.ui_edit(SYSTEM_OVERVIEW.uid, {"refresh": "1m"}, user="alice")
    grafana.fail_next(10, 500, method="POST" if path == "legacy" else "PUT", path_prefix=SAVE_PATH[path])
    first = obs_push(tmp_path, grafana.url, "--retries", "0")
    assert first.exit_code == 1  # the overwrite failed; the backup was written before it
    backups = tmp_path / ".obs-backups"
    [backup] = list(backups.iterdir())
    assert backup.name == f"{SYSTEM_OVERVIEW.uid}-v{version}.json"
    saved = json.loads(backup.read_text())
    if path == "apis":
        assert saved["apiVersion"] == "dashboard.grafana.app/v2"
        assert saved["metadata"]["annotations"]["grafana.app/folder"] == FOLDER.uid
    else:
        assert saved["meta"]["folderUid"] == FOLDER.uid and saved["dashboard"]["version"] == version
    stamp = backup.stat().st_mtime_ns
    grafana.clear_faults()
    second = obs_push(tmp_path, grafana.url)
    assert second.exit_code == 0, second.output
    assert list(backups.iterdir()) == [backup] and backup.stat().st_mtime_ns == stamp  # kept, not written again
    assert f".obs-backups/{backup.name}" in second.stdout


def test_another_object_at_a_backed_up_uid_and_version_is_backed_up_beside_it(tmp_path):
    """Deleted and created again, a dashboard's generation starts at 1 again: the new object at `<uid>-v1` must
    not be lost to, nor overwrite, the backup of the old one."""
    from obs.deploy.backup import write_backup

    backups = tmp_path / "backups"
    old, new = {"spec": {"title": "before"}}, {"spec": {"title": "recreated"}}
    first, written = write_backup(backups, "dashboard", "d1", 1, old)
    assert written and write_backup(backups, "dashboard", "d1", 1, old) == (first, False)  # the same: kept once
    second, written = write_backup(backups, "dashboard", "d1", 1, new)
    assert first.name == "d1-v1.json" and second.name.startswith("d1-v1-sha256-") and second != first
    assert json.loads(first.read_text()) == old and json.loads(second.read_text()) == new
    assert written and write_backup(backups, "dashboard", "d1", 1, new) == (second, False)
    assert len(list(backups.iterdir())) == 2


def test_a_backup_of_an_answer_without_a_version_is_named_by_its_content():
    from obs.deploy.backup import backup_name

    name = backup_name("dashboard", "d1", None, {"title": "x"})
    assert name.startswith("d1-sha256-") and name.endswith(".json") and "None" not in name
    assert name == backup_name("dashboard", "d1", None, {"title": "x"})
    assert backup_name("datasource", "p", 3, {}) == "datasource-p-v3.json"


# --------------------------------------------------------------------------- messages


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_dns_failure_is_one_plain_line(tmp_path):
    result = obs_push(tmp_path, "http://obs-no-such-host.invalid:3000", "--retries", "3")
    assert result.exit_code == 4
    [line] = errors(result)
    assert line.startswith("error: cannot resolve the host name 'obs-no-such-host.invalid' of "
                           "http://obs-no-such-host.invalid:3000 (DNS: ")
    assert "object at 0x" not in line and "HTTPConnectionPool" not in line


def test_connection_refused_stops_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(grafana_api, "DEFAULT_BACKOFF", 2.0)  # a retry would cost seconds
    port = free_port()
    started = time.monotonic()
    result = obs_push(tmp_path, f"http://127.0.0.1:{port}", "--retries", "4")
    assert result.exit_code == 4 and time.monotonic() - started < 1.5
    assert errors(result) == [f"error: cannot reach Grafana at 127.0.0.1:{port}: Connection refused"]


class _Broken(http.server.BaseHTTPRequestHandler):
    """Answers 200 with Content-Type application/json and a body that is not JSON."""

    def do_GET(self):  # noqa: N802 - stdlib name
        body = b"<not json>"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_reachable_server_with_non_json_health_is_not_unreachable(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = obs_push(tmp_path, url)
    finally:
        server.shutdown()
    assert result.exit_code == 4
    assert errors(result) == [f"error: {url} is not a Grafana URL: GET /api/health did not answer Grafana's health "
                              "JSON (is the sub-path right?)"]
    assert "cannot reach" not in result.output
