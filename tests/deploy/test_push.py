"""`obs push` against the Grafana emulator in its 12.x mode (tests/grafana_emulator): the legacy /api path that
Grafanas without dashboard.grafana.app/v1 get. What it writes, what it refuses to write, and how it fails. The
emulator's request log is the witness: "writes nothing" means no request other than GET reached it. The 13.2
/apis path is tested in test_push_apis.py, the defects of issue 10 in test_push_defects.py."""

from __future__ import annotations

import copy
import json
import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from catalog.grafana import FOLDER, MANAGED_TAG, SYSTEM_OVERVIEW
from obs.cli import main
from obs.deploy import client as grafana_api
from obs.deploy import compare, sync
from obs.deploy.client import Grafana, GrafanaError
from obs.deploy.connect import connect
from obs.deploy.target import make_target, normalise_url

from grafana_emulator import GrafanaEmulator
from helpers import REPO

ADMIN = "glsa_obs_admin_TOKEN_must_never_leak_0123456789"
EDITOR = "glsa_obs_editor_token_abcdef"
VIEWER = "glsa_obs_viewer_token_abcdef"
TOKENS = {ADMIN: "Admin", EDITOR: "Editor", VIEWER: "Viewer"}
CLEAN_ENV = {"GRAFANA_URL": None, "GRAFANA_TOKEN": None, "GRAFANA_USER": None, "GRAFANA_PASSWORD": None}


LEGACY = "12.3.0"  # a Grafana whose /apis does not serve dashboard.grafana.app/v1


@pytest.fixture
def grafana():
    with GrafanaEmulator(tokens=TOKENS, version=LEGACY) as emu:
        yield emu


def obs_push(root: Path, url: str, *args: str, token: str | None = ADMIN, env: dict | None = None):
    """`obs push` from `root` (with cached_build, the content is the repository's build; backups go to
    root/.obs-backups)."""
    argv = ["push", "--root", str(root), "--grafana-url", url, *args]
    if token is not None:
        argv += ["--token", token]
    return CliRunner().invoke(main, argv, env={**CLEAN_ENV, **(env or {})}, catch_exceptions=False)


def errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def writes(emu: GrafanaEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emu.writes]


def posted_dashboards(emu: GrafanaEmulator) -> list[str]:
    return [r.body["dashboard"]["uid"] for r in emu.writes if r.path == "/api/dashboards/db" and r.status == 200]


# --------------------------------------------------------------------------- the happy path


def test_first_push_creates_everything_in_order(grafana, cached_build, compiled, tmp_path):
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert sorted(u for u in grafana.dashboard_uids) == sorted(compiled.dashboards)
    assert grafana.folder(FOLDER.uid)["title"] == FOLDER.title
    for body in compiled.datasources:
        live = grafana.datasource(body["uid"])
        assert (live["name"], live["type"], live["url"], live["jsonData"]) == (
            body["name"], body["type"], body["url"], body["jsonData"])
    # jsonData goes over the API unescaped: provisioning files double `$`, the API does not
    tempo = grafana.datasource("obs-tempo")["jsonData"]
    assert "$__tags" in json.dumps(tempo) and "$$" not in json.dumps(tempo)
    for uid, document in compiled.dashboards.items():
        record = grafana.dashboard_record(uid)
        assert record["folder_uid"] == FOLDER.uid and record["version"] == 1
        assert compare.normalise(record["data"]) == compare.normalise(document)
        assert MANAGED_TAG in record["data"]["tags"]
        message = record["versions"][-1]["message"]
        assert re.fullmatch(r"obs push content=sha256:[0-9a-f]{16}", message)
        assert message.endswith(compare.content_hash(document))
    # datasources, then the folder, then the dashboards
    order = [path for _, path in writes(grafana)]
    assert order[:3] == ["/api/datasources"] * 3
    assert order[3] == "/api/folders" and order[4:] == ["/api/dashboards/db"] * len(compiled.dashboards)
    assert "dashboards: 3 created" in result.stdout and "datasources: 3 created" in result.stdout


def test_second_push_writes_nothing(grafana, cached_build, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    grafana.clear_log()
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert grafana.writes == [] and grafana.requests  # it read, and wrote nothing
    assert "dashboards: 3 unchanged" in result.stdout and "0 writes" in result.stdout
    assert all(grafana.dashboard_record(uid)["version"] == 1 for uid in grafana.dashboard_uids)


def test_a_changed_panel_is_pushed_alone(grafana, project):
    assert obs_push(project, grafana.url).exit_code == 0
    module = project / "dashboards" / "system_overview.py"
    source = module.read_text()
    changed = re.sub(r'description="([^"]+)"', r'description="\1 (changed)"', source, count=1)
    assert changed != source
    module.write_text(changed)
    grafana.clear_log()
    result = obs_push(project, grafana.url, "-v")
    assert result.exit_code == 0, result.output
    assert writes(grafana) == [("POST", "/api/dashboards/db")]
    assert posted_dashboards(grafana) == [SYSTEM_OVERVIEW.uid]
    assert grafana.dashboard_record(SYSTEM_OVERVIEW.uid)["version"] == 2
    assert "dashboards: 1 updated, 2 unchanged" in result.stdout
    assert "(changed)" in result.stdout  # -v says what changed in the panel
    # obs's own last push is not drift: no backup
    assert not (project / ".obs-backups").exists()


def test_invalid_content_sends_nothing(grafana, project):
    module = project / "dashboards" / "container_overview.py"
    module.write_text(module.read_text() + "\nraise RuntimeError('broken on purpose')\n")
    result = obs_push(project, grafana.url)
    assert result.exit_code == 3
    assert "nothing pushed" in result.stderr
    assert grafana.requests == []  # not even a health check: validation comes first


def test_dashboard_outside_the_folder_is_moved_in(grafana, cached_build, compiled, tmp_path):
    document = copy.deepcopy(compiled.dashboards[SYSTEM_OVERVIEW.uid])
    grafana.add_dashboard(document, message=compare.MESSAGE_PREFIX + " content=sha256:"
                          + compare.content_hash(document))
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert grafana.dashboard_record(SYSTEM_OVERVIEW.uid)["folder_uid"] == FOLDER.uid


# --------------------------------------------------------------------------- drift


def test_ui_edit_is_backed_up_before_it_is_overwritten(grafana, cached_build, compiled, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    version = grafana.ui_edit(SYSTEM_OVERVIEW.uid, lambda d: d["panels"][1].update(title="Renamed in the UI"),
                              message="tweak", user="alice")
    edited = grafana.dashboard(SYSTEM_OVERVIEW.uid)
    grafana.clear_log()
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert "edited in Grafana since the last obs push" in result.stdout and "alice" in result.stdout
    backups = list((tmp_path / ".obs-backups").glob("*.json"))
    assert [b.name for b in backups] == [f"{SYSTEM_OVERVIEW.uid}-v{version}.json"]  # once per uid and version
    saved = json.loads(backups[0].read_text())  # the answer as Grafana gave it: the dashboard and its meta
    assert saved["dashboard"] == edited and saved["meta"]["folderUid"] == FOLDER.uid
    assert str(backups[0].relative_to(tmp_path)) in result.stdout
    live = grafana.dashboard(SYSTEM_OVERVIEW.uid)
    assert compare.normalise(live) == compare.normalise(compiled.dashboards[SYSTEM_OVERVIEW.uid])
    # saved with the version it compared against (optimistic), not a blind overwrite
    post = [r for r in grafana.writes if r.path == "/api/dashboards/db"][0]
    assert post.body["overwrite"] is False and post.body["dashboard"]["version"] == version
    # the next push sees obs's own save: nothing to do, no further backup
    grafana.clear_log()
    assert obs_push(tmp_path, grafana.url).exit_code == 0 and grafana.writes == []


def test_no_overwrite_when_the_backup_cannot_be_written(grafana, cached_build, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    grafana.ui_edit(SYSTEM_OVERVIEW.uid, {"description": "edited in the UI"})
    (tmp_path / ".obs-backups").write_text("a file where the folder should be")
    grafana.clear_log()
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 1
    assert "cannot write the backup, nothing overwritten" in result.stdout
    assert grafana.writes == []
    assert grafana.dashboard(SYSTEM_OVERVIEW.uid)["description"] == "edited in the UI"


def test_edit_that_keeps_an_obs_message_is_still_drift(grafana, cached_build, tmp_path):
    """The hash in the message must match the live JSON, not just the words "obs push"."""
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    message = grafana.dashboard_record(SYSTEM_OVERVIEW.uid)["versions"][-1]["message"]
    grafana.ui_edit(SYSTEM_OVERVIEW.uid, {"refresh": "5s"}, message=message)
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0
    assert "differs from what obs pushed" in result.stdout
    assert len(list((tmp_path / ".obs-backups").glob("*.json"))) == 1


def test_dashboard_obs_never_pushed_is_backed_up(grafana, cached_build, tmp_path):
    grafana.add_folder(FOLDER.uid, FOLDER.title)
    grafana.add_dashboard({"uid": SYSTEM_OVERVIEW.uid, "title": "Hand made", "panels": []}, FOLDER.uid)
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    # version 1: the version list would say "Initial save"; obs reads the entry itself
    assert "version 1 was saved by admin" in result.stdout
    backup = tmp_path / ".obs-backups" / f"{SYSTEM_OVERVIEW.uid}-v1.json"
    assert json.loads(backup.read_text())["dashboard"]["title"] == "Hand made"


def test_lost_answer_of_a_save_that_took_effect_counts_as_done(grafana, cached_build, tmp_path, monkeypatch):
    """First attempt applied but its answer lost: the retry gets 412, obs re-reads and finds its content."""
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    grafana.ui_edit(SYSTEM_OVERVIEW.uid, {"refresh": "1m"})
    original = Grafana.request
    state = {"lost": False}

    def request(self, method, path, **kwargs):
        if method == "POST" and path == "/api/dashboards/db" and not state["lost"]:
            state["lost"] = True
            original(self, method, path, **kwargs)  # takes effect...
            return original(self, method, path, **kwargs)  # ...and the "retry" meets 412
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(Grafana, "request", request)
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert [r.status for r in grafana.requests if r.path == "/api/dashboards/db"][-2:] == [200, 412]
    assert "dashboards: 1 updated, 2 unchanged" in result.stdout


# --------------------------------------------------------------------------- dry run and prune


def test_dry_run_writes_nothing(grafana, cached_build, tmp_path):
    result = obs_push(tmp_path, grafana.url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert grafana.writes == []
    assert "would create  datasource obs-prometheus" in result.stdout
    assert "would create  dashboard  obs-system-overview" in result.stdout
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    grafana.ui_edit(SYSTEM_OVERVIEW.uid, {"refresh": "1m"})
    grafana.clear_log()
    result = obs_push(tmp_path, grafana.url, "--dry-run", "--prune")
    assert result.exit_code == 0
    assert grafana.writes == [] and not (tmp_path / ".obs-backups").exists()
    assert "would update  dashboard  obs-system-overview" in result.stdout
    assert "refresh" in result.stdout and "edited in Grafana since the last obs push" in result.stdout
    assert "dashboards: 1 would update, 2 unchanged" in result.stdout


def test_prune_deletes_only_owned_orphans(grafana, cached_build, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    grafana.add_folder("elsewhere", "Someone else's folder")
    grafana.add_dashboard({"uid": "obs-retired", "title": "Retired", "tags": [MANAGED_TAG]}, FOLDER.uid)
    grafana.add_dashboard({"uid": "hand-made", "title": "Hand made in our folder", "tags": ["team"]}, FOLDER.uid)
    grafana.add_dashboard({"uid": "tagged-elsewhere", "title": "Tagged elsewhere", "tags": [MANAGED_TAG]},
                          "elsewhere")
    grafana.add_dashboard({"uid": "general-tagged", "title": "In General", "tags": [MANAGED_TAG]})

    grafana.clear_log()
    without = obs_push(tmp_path, grafana.url)
    assert without.exit_code == 0 and grafana.writes == []
    assert "orphan" in without.stdout and "obs-retired" in without.stdout

    result = obs_push(tmp_path, grafana.url, "--prune")
    assert result.exit_code == 0, result.output
    assert writes(grafana) == [("DELETE", "/api/dashboards/uid/obs-retired")]
    assert "obs-retired" not in grafana.dashboard_uids
    assert {"hand-made", "tagged-elsewhere", "general-tagged"} <= set(grafana.dashboard_uids)
    backup = tmp_path / ".obs-backups" / "obs-retired-v1.json"
    assert json.loads(backup.read_text())["dashboard"]["title"] == "Retired"
    assert "dashboards: 1 deleted, 3 unchanged" in result.stdout


def test_prune_leaves_a_provisioned_orphan(grafana, cached_build, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    grafana.add_dashboard({"uid": "obs-file", "title": "From a file", "tags": [MANAGED_TAG]}, FOLDER.uid,
                          provisioned=True)
    grafana.clear_log()
    result = obs_push(tmp_path, grafana.url, "--prune")
    assert result.exit_code == 0 and grafana.writes == []
    assert "obs-file" in grafana.dashboard_uids and "provisioned in Grafana from a file" in result.stdout


# --------------------------------------------------------------------------- provisioned objects, folders


def test_read_only_datasource_is_skipped_not_failed(grafana, cached_build, compiled, tmp_path):
    body = next(d for d in compiled.datasources if d["uid"] == "obs-prometheus")
    grafana.add_datasource({**body, "url": "http://elsewhere:9090"}, read_only=True)
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert ("PUT", "/api/datasources/uid/obs-prometheus") not in writes(grafana)
    assert "provisioned in Grafana (read-only) and differs from the code: skipped" in result.stdout
    assert "url" in result.stdout and "datasources: 2 created, 1 skipped" in result.stdout


def test_read_only_datasource_that_matches_is_unchanged(grafana, cached_build, compiled, tmp_path):
    for body in compiled.datasources:
        grafana.add_datasource(body, read_only=True)
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0 and "datasources: 3 unchanged" in result.stdout


def test_changed_datasource_is_updated_keeping_unmanaged_settings(grafana, cached_build, compiled, tmp_path):
    body = next(d for d in compiled.datasources if d["uid"] == "obs-prometheus")
    grafana.add_datasource({**body, "url": "http://old:9090", "basicAuth": True, "basicAuthUser": "scraper"})
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    live = grafana.datasource("obs-prometheus")
    assert live["url"] == body["url"] and live["basicAuth"] is True and live["basicAuthUser"] == "scraper"
    assert "datasources: 2 created, 1 updated" in result.stdout


def test_datasource_name_taken_by_another_uid_fails_that_datasource(grafana, cached_build, tmp_path):
    grafana.add_datasource({"uid": "someone-elses", "name": "Prometheus", "type": "prometheus", "url": "http://x"})
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 1
    assert "another datasource already has the name 'Prometheus'" in result.stdout
    assert "dashboards: 3 created" in result.stderr  # the rest went on: not a fatal error


def test_provisioned_dashboard_is_skipped(grafana, cached_build, tmp_path):
    grafana.add_folder(FOLDER.uid, FOLDER.title)
    grafana.add_dashboard({"uid": SYSTEM_OVERVIEW.uid, "title": "Old", "tags": [MANAGED_TAG]}, FOLDER.uid,
                          provisioned=True)
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert "provisioned in Grafana from a file (read-only)" in result.stdout
    assert grafana.dashboard(SYSTEM_OVERVIEW.uid)["title"] == "Old"


@pytest.mark.parametrize("status", [409, 412])
def test_folder_that_appears_meanwhile_counts_as_existing(status, cached_build, tmp_path):
    with GrafanaEmulator(tokens=TOKENS, version=LEGACY, folder_conflict_status=status) as emu:
        emu.add_folder(FOLDER.uid, FOLDER.title)
        emu.fail_next(1, 404, path_prefix=f"/api/folders/{FOLDER.uid}", method="GET",
                      body={"message": "folder not found", "status": "not-found"})
        result = obs_push(tmp_path, emu.url)
        assert result.exit_code == 0, result.output
        assert [r.status for r in emu.requests if r.path == "/api/folders"] == [status]
        assert "folders: 1 unchanged" in result.stdout


def test_folder_title_is_updated(grafana, cached_build, tmp_path):
    grafana.add_folder(FOLDER.uid, "Old title")
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert grafana.folder(FOLDER.uid)["title"] == FOLDER.title and "folders: 1 updated" in result.stdout


# --------------------------------------------------------------------------- errors: one line, non-zero


def test_bad_token_is_one_line_and_exit_4(grafana, cached_build, tmp_path):
    result = obs_push(tmp_path, grafana.url, token="glsa_wrong_token_SECRET_1234")
    assert result.exit_code == 4
    assert errors(result) == [f"error: Grafana at {grafana.url} rejected the token (401 Invalid API key)"]
    assert "glsa_wrong_token_SECRET_1234" not in result.output
    assert grafana.writes == []


def test_bad_password_is_one_line(grafana, cached_build, tmp_path):
    result = obs_push(tmp_path, grafana.url, "--user", "admin", "--password", "hunter2-WRONG", token=None)
    assert result.exit_code == 4
    assert errors(result) == [f"error: Grafana at {grafana.url} rejected the user name or password "
                              "(401 Invalid username or password)"]
    assert "hunter2-WRONG" not in result.output


def test_basic_auth_from_the_environment_works(grafana, cached_build, tmp_path):
    result = CliRunner().invoke(main, ["push", "--root", str(tmp_path)], catch_exceptions=False, env={
        **CLEAN_ENV, "GRAFANA_URL": grafana.url, "GRAFANA_USER": "admin", "GRAFANA_PASSWORD": "admin"})
    assert result.exit_code == 0, result.output
    assert "(basic auth)" in result.stdout and len(grafana.dashboard_uids) == 3


def test_token_from_the_environment_works(grafana, cached_build, tmp_path):
    result = CliRunner().invoke(main, ["push", "--root", str(tmp_path)], catch_exceptions=False,
                                env={**CLEAN_ENV, "GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": ADMIN})
    assert result.exit_code == 0, result.output
    assert ADMIN not in result.output


@pytest.mark.parametrize("token", [VIEWER, EDITOR])
def test_weak_token_stops_at_the_first_refused_write(grafana, cached_build, tmp_path, token):
    result = obs_push(tmp_path, grafana.url, token=token)
    assert result.exit_code == 1
    lines = errors(result)
    assert len(lines) == 1
    assert lines[0].startswith("error: POST /api/datasources answered 403: You'll need additional permissions")
    assert "datasources:create" in lines[0]
    assert grafana.dashboard_uids == [] and grafana.folder(FOLDER.uid) is None  # stopped: nothing else tried
    assert token not in result.output


def test_not_a_grafana_url(cached_build, tmp_path):
    with GrafanaEmulator(tokens=TOKENS, version=LEGACY, sub_path="/grafana") as emu:
        result = obs_push(tmp_path, emu.root_url)  # the sub-path is missing
        assert result.exit_code == 4
        assert errors(result) == [f"error: {emu.root_url} is not a Grafana URL: GET /api/health answered 404 "
                                  "(is the sub-path right?)"]


def test_not_a_grafana_url_that_answers_html(cached_build, tmp_path):
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - stdlib name
            body = b"<html>hello</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = obs_push(tmp_path, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
    assert result.exit_code == 4
    assert len(errors(result)) == 1 and "did not answer Grafana's health JSON" in errors(result)[0]


def test_redirecting_url_is_refused(grafana, cached_build, tmp_path):
    import http.server
    import threading

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - stdlib name
            self.send_response(301)
            self.send_header("Location", grafana.url + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = obs_push(tmp_path, url)
    finally:
        server.shutdown()
    assert result.exit_code == 4
    assert errors(result) == [f"error: {url} redirects to {grafana.url}: use that URL"]
    assert grafana.writes == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_host(cached_build, tmp_path):
    port = free_port()
    started = time.monotonic()
    result = obs_push(tmp_path, f"http://127.0.0.1:{port}", "--retries", "2")
    assert result.exit_code == 4
    assert errors(result) == [f"error: cannot reach Grafana at 127.0.0.1:{port}: Connection refused"]
    assert time.monotonic() - started < 5


def test_tls_failure(grafana, cached_build, tmp_path):
    https = grafana.url.replace("http://", "https://")
    result = obs_push(tmp_path, https)
    assert result.exit_code == 4
    [line] = errors(result)
    assert line.startswith(f"error: TLS failure talking to {https}: wrong version number")
    assert "--insecure skips certificate checks" in line
    assert grafana.requests == []  # no plain-text request got through


def test_timeout(grafana, cached_build, tmp_path):
    grafana.latency = 0.5
    result = obs_push(tmp_path, grafana.url, "--timeout", "0.1", "--retries", "1")
    assert result.exit_code == 4
    assert errors(result) == ["error: no answer from Grafana within 0.1 s (GET /api/frontend/settings)"]


def test_version_mismatch_412(grafana, cached_build, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    grafana.ui_edit(SYSTEM_OVERVIEW.uid, {"refresh": "1m"})
    grafana.fail_next(1, 412, path_prefix="/api/dashboards/db", method="POST",
                      body={"message": "The dashboard has been changed by someone else", "status": "version-mismatch"})
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 1
    failed = [line for line in result.stdout.splitlines() if "answered 412" in line]
    assert failed == ["      POST /api/dashboards/db answered 412: The dashboard has been changed by someone else "
                      "(version-mismatch) - the dashboard changed in Grafana during the push; nothing overwritten, "
                      "run obs push again"]
    assert "FAILED        dashboard  obs-system-overview" in result.stdout
    assert "push FAILED" in result.stderr
    assert grafana.dashboard(SYSTEM_OVERVIEW.uid)["refresh"] == "1m"  # not overwritten


def test_usage_errors(tmp_path):
    runner = CliRunner()
    no_url = runner.invoke(main, ["push", "--root", str(tmp_path), "--token", "t"], env=CLEAN_ENV)
    assert no_url.exit_code == 2 and "no Grafana URL" in no_url.stderr
    no_credentials = runner.invoke(main, ["push", "--root", str(tmp_path), "--grafana-url", "http://h"], env=CLEAN_ENV)
    assert no_credentials.exit_code == 2 and "no credentials" in no_credentials.stderr
    bad_url = runner.invoke(main, ["push", "--grafana-url", "grafana:3000", "--token", "t"], env=CLEAN_ENV)
    assert bad_url.exit_code == 2 and "must look like http(s)://host" in bad_url.stderr


# --------------------------------------------------------------------------- retries


def test_burst_of_503s_is_retried(grafana, cached_build, tmp_path):
    grafana.fail_next(3, 503, path_prefix="/api/dashboards/db")
    grafana.fail_next(2, 502, path_prefix="/api/datasources", method="GET")
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert len(grafana.dashboard_uids) == 3
    assert [r.status for r in grafana.requests if r.path == "/api/dashboards/db"].count(503) == 3
    assert "5 retried" in result.stdout
    assert all(grafana.dashboard_record(uid)["version"] == 1 for uid in grafana.dashboard_uids)


def test_dropped_connection_is_retried(grafana, cached_build, tmp_path):
    grafana.drop_next(1, path_prefix="/api/dashboards/db")
    grafana.drop_next(1, path_prefix="/api/folders", method="POST")
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert sum(1 for r in grafana.requests if r.fault == "drop") == 2
    assert len(grafana.dashboard_uids) == 3 and grafana.folder(FOLDER.uid) is not None


def test_429_waits_for_retry_after(grafana, cached_build, tmp_path):
    grafana.rate_limit_next(1, retry_after=0.3, path_prefix="/api/dashboards/db")
    started = time.monotonic()
    result = obs_push(tmp_path, grafana.url, "--concurrency", "1")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 0.3
    assert [r.status for r in grafana.requests if r.path == "/api/dashboards/db"][:2] == [429, 200]


def test_retries_give_up(grafana, cached_build, tmp_path):
    grafana.fail_next(100, 503, path_prefix="/api/dashboards/db")
    result = obs_push(tmp_path, grafana.url, "--retries", "2")
    assert result.exit_code == 1
    assert "POST /api/dashboards/db answered 503: 503 Service Temporarily Unavailable" in result.stdout
    assert grafana.count("POST", "/api/dashboards/db") == 9  # 3 dashboards x (1 + 2 retries)


def test_backoff_grows_and_honours_retry_after():
    policy = grafana_api.RetryPolicy(retries=5, backoff=0.5, max_backoff=8)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 8.0)]:
        assert ceiling / 2 <= policy.delay(attempt) <= ceiling
    assert policy.delay(1, retry_after=7) == 7 and policy.delay(1, retry_after=999) == 30


# --------------------------------------------------------------------------- URLs and secrets


@pytest.mark.parametrize("suffix", ["", "/"])
def test_sub_path_url(cached_build, tmp_path, suffix):
    with GrafanaEmulator(tokens=TOKENS, version=LEGACY, sub_path="/grafana") as emu:
        result = obs_push(tmp_path, emu.url + suffix)
        assert result.exit_code == 0, result.output
        assert len(emu.dashboard_uids) == 3
        assert all(not r.path.startswith("/grafana") for r in emu.requests)  # all inside the sub-path
        emu.clear_log()
        assert obs_push(tmp_path, emu.url + suffix).exit_code == 0 and emu.writes == []


def test_url_normalisation():
    assert normalise_url("https://h.example:3000//grafana//") == ("https://h.example:3000/grafana", None)
    assert normalise_url("http://u:p%40ss@h/") == ("http://h", ("u", "p@ss"))  # percent-decoded
    target = make_target("http://admin:secret@h:3000/g?x=1#y", None, None, None)
    assert target.url == "http://h:3000/g" and target.credential == ("admin", "secret")
    assert "secret" not in repr(target)


def test_token_never_appears_in_any_output(grafana, cached_build, tmp_path):
    secret = "glsa_SUPER_SECRET_should_never_be_printed_42"
    failing = [
        obs_push(tmp_path, grafana.url, "-v", token=secret),  # 401
        obs_push(tmp_path, grafana.url.replace("http", "https"), token=secret),  # TLS
        obs_push(tmp_path, f"http://127.0.0.1:{free_port()}", "--retries", "0", token=secret),  # refused
        obs_push(tmp_path, f"http://user:{secret}@127.0.0.1:{free_port()}/", "--retries", "0", token=None),
    ]
    with GrafanaEmulator(tokens={secret: "Viewer"}, version=LEGACY) as viewer:
        failing.append(obs_push(tmp_path, viewer.url, "-v", token=secret))  # 403
    with GrafanaEmulator(tokens={secret: "Admin"}, version=LEGACY) as admin:
        admin.fail_next(100, 500, body={"message": f"echoing your header: Bearer {secret}"})
        failing.append(obs_push(tmp_path, admin.url, "-v", "--retries", "0", token=secret))
    for result in failing:
        assert result.exit_code != 0
        assert secret not in result.stdout and secret not in result.stderr, result.output
    # ...and not in the exception text either
    target = make_target(f"http://127.0.0.1:{free_port()}", secret, None, None, retries=0)
    with Grafana(target) as client, pytest.raises(GrafanaError) as info:
        connect(client)
    assert secret not in str(info.value) and secret not in repr(info.value.args)


def test_message_carries_the_git_revision():
    revision = sync.git_revision(REPO)
    assert re.fullmatch(r"[0-9a-f]{7,}(-dirty)?", revision)
    assert sync.git_revision(Path("/")) == ""


def test_library_api_counts_requests(grafana, compiled, tmp_path):
    target = make_target(grafana.url, ADMIN, None, None)
    report = sync.run_sync(target, compiled, sync.Options(backup_dir=tmp_path))
    assert report.writes == len(grafana.writes) == 7 and report.requests == len(grafana.requests)
    again = sync.run_sync(target, compiled, sync.Options(backup_dir=tmp_path))
    assert again.writes == 0 and {i.outcome for i in again.items} == {"unchanged"}


def dashboards_of(emu: GrafanaEmulator) -> dict[str, Any]:
    return {uid: emu.dashboard(uid) for uid in emu.dashboard_uids}


@pytest.fixture
def https_grafana(tmp_path):
    """The emulator behind TLS with a self-signed certificate (made with the openssl command)."""
    import shutil
    import ssl
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with GrafanaEmulator(tokens=TOKENS, version=LEGACY) as emu:
        server = emu._server  # test-only: put TLS in front of the running server's listening socket
        server.socket = context.wrap_socket(server.socket, server_side=True)
        yield emu, emu.url.replace("http://", "https://")


def test_tls_is_verified_unless_insecure_is_given(https_grafana, cached_build, tmp_path):
    emu, url = https_grafana
    refused = obs_push(tmp_path, url)
    assert refused.exit_code == 4
    [line] = errors(refused)
    assert line.startswith(f"error: TLS failure talking to {url}: certificate verify failed")
    assert emu.requests == []
    accepted = obs_push(tmp_path, url, "--insecure")
    assert accepted.exit_code == 0, accepted.output
    assert len(emu.dashboard_uids) == 3


@pytest.mark.parametrize(("flags", "api"), [({"version": "13.2.3", "new_layouts": False}, "legacy"),
                                           ({"version": "11.4.0", "versions_as_list": True,
                                             "folder_conflict_status": 409, "apis": False}, "auto"),
                                           ({"unique_titles": True, "version": "11.2.0", "apis": False}, "auto")],
                         ids=["grafana-13-forced-legacy", "grafana-11.4", "grafana-11.2"])
def test_other_grafana_versions(flags, api, compiled, tmp_path):
    with GrafanaEmulator(tokens=TOKENS, **flags) as emu:
        target = make_target(emu.url, ADMIN, None, None, api=api)
        first = sync.run_sync(target, compiled, sync.Options(backup_dir=tmp_path))
        assert first.writes == 7 and not first.failed
        emu.ui_edit(SYSTEM_OVERVIEW.uid, {"refresh": "1m"})
        second = sync.run_sync(target, compiled, sync.Options(backup_dir=tmp_path))
        [changed] = [i for i in second.items if i.outcome != "unchanged"]
        assert (changed.uid, changed.outcome) == (SYSTEM_OVERVIEW.uid, "updated") and changed.drift
        assert sync.run_sync(target, compiled, sync.Options(backup_dir=tmp_path)).writes == 0
