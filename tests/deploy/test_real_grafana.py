"""The push and diff scenarios against a real Grafana: opt-in.

    GRAFANA_URL=https://grafana.example/ GRAFANA_TOKEN=glsa_... \
        pytest -m real_grafana -rs tests/deploy/test_real_grafana.py

The token must belong to a service account with the Admin role (datasources need it). Set
GRAFANA_INSECURE=1 for a test instance with a self-signed certificate. Nothing of the real project is
touched: every object gets a throwaway name (folder `obs-test-<random>`, dashboards `t<random>-<uid>`,
datasources `t<random>-<uid>`, never the default one), and all of them are deleted at the end.
Skipped, with the reason, when GRAFANA_URL or GRAFANA_TOKEN is not set.

The scenarios run on the path obs chooses (`--api auto`); those of Grafana 13's /apis
(dashboard.grafana.app/v1: resourceVersion conflicts, delete preconditions, dryRun=All, history attribution)
run when the Grafana serves it and are skipped, with the reason, when it does not; the legacy scenarios also run
with `--api legacy` forced.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog.grafana import MANAGED_TAG, Folder
from obs.cli import main
from obs.compile.dashboard_v2 import to_v2_spec
from obs.core.paths import BACKUP_DIR
from obs.deploy import apis as apis_module
from obs.deploy import desired as desired_module
from obs.deploy.client import Grafana, GrafanaError
from obs.deploy.connect import connect
from obs.deploy.desired import Desired
from obs.deploy.report import Report
from obs.deploy.sync import Options, run_sync
from obs.deploy.target import make_target

from helpers import REPO

URL = os.environ.get("GRAFANA_URL", "")
TOKEN = os.environ.get("GRAFANA_TOKEN", "")
INSECURE = os.environ.get("GRAFANA_INSECURE", "") not in ("", "0", "false")
RUN = secrets.token_hex(3)

pytestmark = [
    pytest.mark.real_grafana,
    pytest.mark.skipif(not (URL and TOKEN), reason="a real Grafana is opt-in: set GRAFANA_URL and GRAFANA_TOKEN "
                       "(Admin service-account token) to run these tests"),
]


@dataclass
class Output:
    text: str


def obs(root: Path, wanted: Desired, *args: str, token: str = TOKEN) -> tuple[int, Output]:
    """An obs command (push or diff) against the real Grafana, with `wanted` as the content."""
    if not (root / "pyproject.toml").is_file():
        (root / "pyproject.toml").write_text("[tool.obs]\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(desired_module, "desired_state", lambda _root: copy.deepcopy(wanted))
        argv = [*args, "--root", str(root), "--grafana-url", URL, "--token", token]
        argv += ["--insecure"] if INSECURE else []
        result = CliRunner().invoke(main, argv, env={"GRAFANA_URL": None, "GRAFANA_TOKEN": None},
                                    catch_exceptions=False)
    return result.exit_code, Output(result.stdout + result.stderr)


@pytest.fixture(scope="module")
def desired() -> Desired:
    """The project's compiled content under throwaway names."""
    real = desired_module.desired_state(REPO)
    folder = Folder(uid=f"obs-test-{RUN}", title=f"obs push test {RUN}")
    dashboards = {}
    for uid, document in real.dashboards.items():
        new_uid = f"t{RUN}-{uid}"[:40]
        dashboards[new_uid] = {**copy.deepcopy(document), "uid": new_uid, "title": f"{document['title']} [{RUN}]"}
    datasources = [{**body, "uid": f"t{RUN}-{body['uid']}"[:40], "name": f"{body['name']} [obs test {RUN}]",
                    "isDefault": False} for body in real.datasources]
    return Desired(folder, datasources, dashboards)


@pytest.fixture(scope="module")
def target():
    return make_target(URL, TOKEN, None, None, insecure=INSECURE, timeout=20)


@pytest.fixture(scope="module")
def served(target):
    """Does this Grafana serve dashboard.grafana.app/v1 and folder.grafana.app/v1 (what `--api auto` picks)?"""
    with Grafana(target) as grafana:
        return connect(grafana)


@pytest.fixture
def apis_only(served):
    if served.api != "apis":
        pytest.skip(f"Grafana {served.version} does not serve the /apis obs uses ({served.why})")
    return served


@pytest.fixture
def v2_served(apis_only):
    if "v2" not in apis_only.served.get(apis_module.DASHBOARD_GROUP, []):
        pytest.skip(f"Grafana {apis_only.version} does not serve {apis_module.DASHBOARD_GROUP}/v2")
    return apis_only


@pytest.fixture(scope="module", autouse=True)
def cleanup(target, desired):
    yield
    with Grafana(target) as grafana:
        for uid in [*desired.dashboards, f"t{RUN}-orphan", f"t{RUN}-untagged", f"t{RUN}-retired"]:
            _quiet(grafana.request, "DELETE", f"/api/dashboards/uid/{uid}")
        _quiet(grafana.request, "DELETE", f"/api/folders/{desired.folder.uid}", params={"forceDeleteRules": "true"})
        for body in desired.datasources:
            _quiet(grafana.request, "DELETE", f"/api/datasources/uid/{body['uid']}")


def _quiet(function, *args, **kwargs) -> None:
    with contextlib.suppress(GrafanaError):
        function(*args, **kwargs)


def sync(target, desired, root: Path, **kwargs) -> Report:
    options = Options(backup_dir=root / BACKUP_DIR, **kwargs)
    return run_sync(target, copy.deepcopy(desired), options)


@pytest.fixture(params=["auto", "legacy"])
def api_target(request, target):
    return make_target(URL, TOKEN, None, None, insecure=INSECURE, timeout=20, api=request.param)


# --------------------------------------------------------------------------- both paths


def test_first_push_creates_then_second_writes_nothing(api_target, desired, tmp_path):
    first = sync(api_target, desired, tmp_path)
    assert not first.failed and not first.fatal, [(i.uid, i.detail) for i in first.failed]
    dashboards = [i for i in first.items if i.kind == "dashboard"]
    assert {i.outcome for i in dashboards} <= {"created", "updated", "unchanged"}
    second = sync(api_target, desired, tmp_path)
    assert second.writes == 0, [(i.uid, i.outcome, i.detail) for i in second.items if i.outcome != "unchanged"]
    assert {i.outcome for i in second.items} == {"unchanged"}  # Grafana keeps the JSON as pushed


def test_dry_run_and_diff_after_an_edit(target, desired, tmp_path):
    assert not sync(target, desired, tmp_path).failed
    uid = next(iter(desired.dashboards))
    with Grafana(target) as grafana:
        live = grafana.request("GET", f"/api/dashboards/uid/{uid}")
        edited = dict(live["dashboard"], refresh="5m")
        grafana.request("POST", "/api/dashboards/db", json={"dashboard": edited, "folderUid": desired.folder.uid,
                                                            "overwrite": False, "message": "edited by hand"})
    dry = sync(target, desired, tmp_path, dry_run=True)
    assert not dry.failed, [(i.uid, i.detail) for i in dry.failed]
    [item] = [i for i in dry.items if i.uid == uid]
    assert item.outcome == "update" and "edited by hand" in item.drift

    code, output = obs(tmp_path, desired, "diff")
    assert code == 1, output.text
    assert "refresh" in output.text and "edited in Grafana since the last obs push" in output.text

    code, pushed = obs(tmp_path, desired, "push")
    assert code == 0, pushed.text
    assert list((tmp_path / ".obs-backups").glob(f"{uid}-v*.json"))
    code, output = obs(tmp_path, desired, "diff")
    assert code == 0, output.text


def test_prune_removes_only_owned_orphans(target, desired, tmp_path):
    assert not sync(target, desired, tmp_path).failed
    orphan, foreign = f"t{RUN}-orphan", f"t{RUN}-untagged"
    with Grafana(target) as grafana:
        for uid, tags in ((orphan, [MANAGED_TAG]), (foreign, ["someone-else"])):
            grafana.request("POST", "/api/dashboards/db", json={"dashboard": {"uid": uid, "title": uid, "tags": tags},
                                                                "folderUid": desired.folder.uid})
    try:
        report = sync(target, desired, tmp_path, prune=True)
        deleted = [i.uid for i in report.items if i.outcome == "deleted"]
        # Grafana's search index may lag a just-created dashboard: never more than the orphan
        assert set(deleted) <= {orphan}
        with Grafana(target) as grafana:
            assert grafana.get_or_none(f"/api/dashboards/uid/{foreign}") is not None
    finally:
        with Grafana(target) as grafana:
            for uid in (orphan, foreign):
                _quiet(grafana.request, "DELETE", f"/api/dashboards/uid/{uid}")


def test_bad_token_is_refused(desired, tmp_path):
    code, output = obs(tmp_path, desired, "push", token="glsa_definitely_not_a_valid_token_0000")
    assert code == 4
    assert "rejected the token (401" in output.text
    assert "glsa_definitely_not_a_valid_token_0000" not in output.text


# --------------------------------------------------------------------------- Grafana 13's /apis


def test_apis_writes_carry_obs_as_the_manager(apis_only, target, desired, tmp_path):
    assert not sync(target, desired, tmp_path).failed
    uid = next(iter(desired.dashboards))
    with Grafana(target) as grafana:
        store = apis_module.ApisStore(grafana, apis_only.namespace)
        live = store.get_dashboard(uid)
    assert live is not None and live.manager is not None
    assert (live.manager.kind, live.manager.identity) == ("obs", desired.folder.uid)
    assert live.folder_uid == desired.folder.uid and live.annotations["grafana.app/sourceChecksum"]


def test_apis_a_save_during_the_push_is_not_overwritten(apis_only, target, desired, tmp_path, monkeypatch):
    assert not sync(target, desired, tmp_path).failed
    uid = next(iter(desired.dashboards))
    with Grafana(target) as grafana:  # an edit obs will want to undo
        store = apis_module.ApisStore(grafana, apis_only.namespace)
        live = store.get_dashboard(uid)
        store.save_dashboard(uid, dict(live.spec, refresh="1m"), live.annotations, {}, live, dry_run=False)
    original = apis_module.ApisStore.save_dashboard

    def meanwhile(self, name, *args, **kwargs):
        if name == uid:  # someone saves between obs's read and its write
            current = self.get_dashboard(uid)
            original(self, uid, dict(current.spec, refresh="2m"), current.annotations, {}, current, dry_run=False)
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(apis_module.ApisStore, "save_dashboard", meanwhile)
    report = sync(target, desired, tmp_path)
    [item] = [i for i in report.items if i.uid == uid]
    assert item.outcome == "failed" and "changed in Grafana during the push; nothing overwritten" in item.detail
    monkeypatch.undo()
    with Grafana(target) as grafana:
        assert apis_module.ApisStore(grafana, apis_only.namespace).get_dashboard(uid).spec["refresh"] == "2m"
    assert not sync(target, desired, tmp_path).failed  # the next push restores the code


def test_apis_dry_run_writes_nothing(apis_only, target, desired, tmp_path):
    extra = copy.deepcopy(desired)
    new_uid = f"t{RUN}-retired"
    extra.dashboards[new_uid] = {**copy.deepcopy(next(iter(desired.dashboards.values()))), "uid": new_uid,
                                 "title": f"dry run {RUN}"}
    report = sync(target, extra, tmp_path, dry_run=True)
    assert not report.failed, [(i.uid, i.detail) for i in report.failed]
    assert "dryRun=All" in report.dry_run_note
    with Grafana(target) as grafana:
        assert apis_module.ApisStore(grafana, apis_only.namespace).get_dashboard(new_uid) is None


def test_apis_prune_with_a_concurrent_change_deletes_nothing(apis_only, target, desired, tmp_path, monkeypatch):
    retired = f"t{RUN}-retired"
    extra = copy.deepcopy(desired)
    extra.dashboards[retired] = {**copy.deepcopy(next(iter(desired.dashboards.values()))), "uid": retired,
                                 "title": f"retired {RUN}"}
    assert not sync(target, extra, tmp_path).failed
    original = apis_module.ApisStore.delete_dashboard

    def meanwhile(self, live, **kwargs):
        current = self.get_dashboard(live.uid)
        self.save_dashboard(live.uid, dict(current.spec, refresh="3m"), current.annotations, {}, current,
                            dry_run=False)
        return original(self, live, **kwargs)

    monkeypatch.setattr(apis_module.ApisStore, "delete_dashboard", meanwhile)
    report = sync(target, desired, tmp_path, prune=True)
    [item] = [i for i in report.items if i.uid == retired]
    assert item.outcome == "failed" and "not deleted" in item.detail
    with Grafana(target) as grafana:
        assert apis_module.ApisStore(grafana, apis_only.namespace).get_dashboard(retired) is not None


# --------------------------------------------------------------------------- schema v2, and saves stored as v2


def save_as_v2(served, target, uid: str, document: dict) -> None:
    """What a save in Grafana 13's UI does: the dashboard written back through dashboard.grafana.app/v2."""
    with Grafana(target) as grafana:
        store = apis_module.ApisStore(grafana, served.namespace, dashboard_version="v2")
        live = store.get_dashboard(uid)
        store.save_dashboard(uid, to_v2_spec(document), apis_module.client_annotations(live.annotations),
                             live.labels, live, dry_run=False)


def test_apis_schema_v2_deploys_and_a_second_push_writes_nothing(v2_served, target, desired, tmp_path):
    try:
        first = sync(target, desired, tmp_path, schema="v2")
        assert not first.failed, [(i.uid, i.detail) for i in first.failed]
        second = sync(target, desired, tmp_path, schema="v2")
        assert second.writes == 0, [(i.uid, i.outcome, i.detail) for i in second.items if i.outcome != "unchanged"]
        with Grafana(target) as grafana:
            store = apis_module.ApisStore(grafana, v2_served.namespace)
            assert {store.get_dashboard(uid).stored_version for uid in desired.dashboards} == {"v2"}
    finally:
        assert not sync(target, desired, tmp_path).failed  # back to v1 for the other scenarios


def test_apis_a_save_stored_as_v2_is_an_edit_backed_up_and_overwritten(v2_served, target, desired, tmp_path):
    assert not sync(target, desired, tmp_path).failed
    uid = next(iter(desired.dashboards))
    save_as_v2(v2_served, target, uid, dict(copy.deepcopy(desired.dashboards[uid]), refresh="5m"))
    report = sync(target, desired, tmp_path)
    [item] = [i for i in report.items if i.uid == uid]
    assert item.outcome == "updated" and "stored as v2" in item.drift, item.drift  # drift, with who saved it
    saved = json.loads(Path(item.backup).read_text())
    assert saved["apiVersion"] == f"{apis_module.DASHBOARD_GROUP}/v2"
    assert saved["metadata"]["annotations"]["grafana.app/folder"] == desired.folder.uid
    with Grafana(target) as grafana:
        assert apis_module.ApisStore(grafana, v2_served.namespace).get_dashboard(uid).stored_version == "v1"
    assert sync(target, desired, tmp_path).writes == 0


def test_apis_a_v2_save_without_a_change_is_not_an_edit(v2_served, target, desired, tmp_path):
    """Grafana's own v2 -> v1 conversion of what obs pushed must compare equal to it: only converted, no edit."""
    assert not sync(target, desired, tmp_path).failed
    uid = next(iter(desired.dashboards))
    save_as_v2(v2_served, target, uid, desired.dashboards[uid])
    report = sync(target, desired, tmp_path)
    [item] = [i for i in report.items if i.uid == uid]
    assert item.drift == "" and not item.backup, (item.drift, item.changes)
    assert item.outcome == "updated" and "written again as v1" in item.detail
