"""`obs push` against the emulator of Grafana 13.2.3: dashboards and folders through /apis
(dashboard.grafana.app/v1, folder.grafana.app/v1). The scenarios of issue 10's "Done when": the first push, an
unchanged push that only reads (and how many requests it costs), a UI save stored as v2 reported as an edit,
backed up and overwritten, a save during the push (409, nothing overwritten), a dashboard another tool manages
(skipped), prune with a concurrent change (nothing deleted), `--dry-run` through Grafana's dryRun=All, and
dashboard schema v2 deployed as the project setting asks."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog.grafana import FOLDER, MANAGED_TAG, SYSTEM_OVERVIEW
from obs.cli import main
from obs.compile.dashboard_v2 import to_v2_spec
from obs.core.paths import dashboard_file
from obs.deploy import apis, compare, sync
from obs.deploy import client as grafana_api
from obs.deploy.target import make_target

from grafana_emulator import GrafanaEmulator

ADMIN = "glsa_obs_apis_admin_TOKEN_0123456789"
TOKENS = {ADMIN: "Admin", "glsa_editor": "Editor", "glsa_viewer": "Viewer"}
CLEAN_ENV = {"GRAFANA_URL": None, "GRAFANA_TOKEN": None, "GRAFANA_USER": None, "GRAFANA_PASSWORD": None}
DASHBOARDS = "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards"
FOLDERS = "/apis/folder.grafana.app/v1/namespaces/default/folders"


@pytest.fixture
def grafana():
    with GrafanaEmulator(tokens=TOKENS) as emu:
        yield emu


def obs_push(root: Path, url: str, *args: str, token: str | None = ADMIN):
    argv = ["push", "--root", str(root), "--grafana-url", url, *args]
    if token is not None:
        argv += ["--token", token]
    return CliRunner().invoke(main, argv, env=CLEAN_ENV, catch_exceptions=False)


def writes(emu: GrafanaEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emu.writes]


def annotations(emu: GrafanaEmulator, uid: str) -> dict[str, str]:
    return emu.dashboard_object(uid)["metadata"]["annotations"]


# --------------------------------------------------------------------------- first push, unchanged push


def test_first_push_goes_through_apis_with_obs_as_the_manager(grafana, cached_build, compiled, tmp_path):
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert "dashboard.grafana.app/v1 and folder.grafana.app/v1 (/apis, namespace default)" in result.stdout
    assert writes(grafana) == ([("POST", "/api/datasources")] * 3 + [("POST", FOLDERS)]
                               + [("POST", DASHBOARDS)] * len(compiled.dashboards))
    for uid, document in compiled.dashboards.items():
        assert grafana.stored_version(uid) == "v1"
        assert compare.normalise(grafana.dashboard(uid)) == compare.normalise(document)
        obj = grafana.dashboard_object(uid)
        assert obj["metadata"]["generation"] == 1
        assert annotations(grafana, uid) == {
            "grafana.app/createdBy": "service-account:sa-1-emulator",
            "grafana.app/folder": FOLDER.uid,
            "grafana.app/managedBy": "obs",
            "grafana.app/managerAllowsEdits": "true",
            "grafana.app/managerId": FOLDER.uid,
            "grafana.app/message": f"obs push content=sha256:{compare.content_hash(document)}",
            "grafana.app/sourceChecksum": compare.content_hash(document),
            "grafana.app/sourcePath": dashboard_file(uid),
        }
    folder = grafana.folder(FOLDER.uid)
    assert folder["title"] == FOLDER.title and folder["annotations"]["grafana.app/managedBy"] == "obs"
    # settings, /apis, the datasource list, the folder, one list page; 3 + 1 + 3 writes
    assert len(grafana.requests) == 12 and "12 requests, 7 writes" in result.stdout


def test_an_unchanged_push_only_reads_a_few_pages(grafana, cached_build, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    grafana.clear_log()
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert grafana.writes == []
    assert sorted(r.path for r in grafana.requests) == sorted(
        ["/api/frontend/settings", "/apis", "/api/datasources", f"{FOLDERS}/{FOLDER.uid}", DASHBOARDS])
    assert "dashboards: 3 unchanged" in result.stdout and "5 requests, 0 writes" in result.stdout


def test_an_unchanged_push_of_many_dashboards_costs_a_page_per_2_mib(grafana, compiled, tmp_path):
    many = copy.deepcopy(compiled)
    sources = list(compiled.dashboards.values())
    many.dashboards = {}
    for index in range(120):
        document = copy.deepcopy(sources[index % len(sources)])
        document.update(uid=f"many-{index:03d}", title=f"{document['title']} #{index}")
        many.dashboards[document["uid"]] = document
    target = make_target(grafana.url, ADMIN, None, None)
    first = sync.run_sync(target, many, sync.Options(backup_dir=tmp_path))
    assert not first.failed and first.writes == 3 + 1 + 120
    grafana.clear_log()
    again = sync.run_sync(target, many, sync.Options(backup_dir=tmp_path))
    assert again.writes == 0 and {i.outcome for i in again.items} == {"unchanged"}
    size = sum(len(json.dumps(grafana.dashboard_object(uid), separators=(",", ":"))) for uid in grafana.dashboard_uids)
    pages = -(-size // (2 * 1024 * 1024)) if size > 2 * 1024 * 1024 else 1
    assert pages >= 2 and again.pages == pages and again.requests == 4 + pages  # not one GET per dashboard


# --------------------------------------------------------------------------- drift in Grafana 13's terms


def test_a_ui_save_stored_as_v2_is_an_edit_backed_up_and_overwritten(grafana, cached_build, compiled, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    uid = SYSTEM_OVERVIEW.uid
    generation = grafana.ui_edit(uid, lambda d: d["panels"][1].update(title="Renamed in the UI"), message="tweak",
                                 user="alice")
    assert grafana.stored_version(uid) == "v2" and generation == 2
    stored = grafana.dashboard_object(uid, "v2")
    grafana.clear_log()
    result = obs_push(tmp_path, grafana.url, "-v")
    assert result.exit_code == 0, result.output
    assert ("edited in Grafana since the last obs push: generation 2 was saved by user:alice at "
            f"{stored['metadata']['annotations']['grafana.app/updatedTimestamp']} with message 'tweak' from the UI, "
            "stored as v2, not by obs push; obs last pushed generation 1") in result.stdout
    assert 'title: "Renamed in the UI" -> "API Gateway"' in result.stdout  # the real change, no conversion noise
    backup = tmp_path / ".obs-backups" / f"{uid}-v2.json"
    saved = json.loads(backup.read_text())
    assert saved == stored  # the object as Grafana stores it: apiVersion v2, the folder annotation, the v2 spec
    assert saved["apiVersion"] == "dashboard.grafana.app/v2" and saved["metadata"]["annotations"][
        "grafana.app/folder"] == FOLDER.uid
    assert f".obs-backups/{uid}-v2.json" in result.stdout
    assert grafana.stored_version(uid) == "v1"
    assert compare.normalise(grafana.dashboard(uid)) == compare.normalise(compiled.dashboards[uid])
    put = [r for r in grafana.writes if r.method == "PUT"]
    assert [r.path for r in put] == [f"{DASHBOARDS}/{uid}"]
    assert put[0].body["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    grafana.clear_log()
    assert obs_push(tmp_path, grafana.url).exit_code == 0 and grafana.writes == []


def test_a_save_that_only_converted_it_is_not_an_edit(grafana, cached_build, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    uid = SYSTEM_OVERVIEW.uid
    grafana.ui_edit(uid, None, user="bob")  # opened in the 13.x UI and saved: stored as v2, nothing changed
    assert grafana.stored_version(uid) == "v2"
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert "edited in Grafana" not in result.stdout and not (tmp_path / ".obs-backups").exists()
    assert "Grafana stores it as v2 (saved in Grafana without a change to what obs manages): written again as v1" \
        in result.stdout
    assert grafana.stored_version(uid) == "v1"


def test_server_set_metadata_never_counts(grafana, cached_build, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    uid = SYSTEM_OVERVIEW.uid
    obj = grafana.dashboard_object(uid)
    body = copy.deepcopy(obj)
    body["metadata"]["labels"]["team"] = "sre"  # someone labels it: metadata only, no new generation
    body["metadata"]["annotations"]["example.com/owner"] = "sre"
    grafana._k8s_save(grafana._authenticate(f"Bearer {ADMIN}"), name=uid, version="v1", spec=body["spec"],
                      folder_uid=FOLDER.uid, annotations=body["metadata"]["annotations"],
                      labels=body["metadata"]["labels"], resource_version="", create=False)
    assert grafana.dashboard_object(uid)["metadata"]["generation"] == 1
    grafana.clear_log()
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0 and grafana.writes == [] and "dashboards: 3 unchanged" in result.stdout


def test_a_save_during_the_push_is_a_409_and_nothing_is_overwritten(grafana, cached_build, tmp_path, monkeypatch):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    uid = SYSTEM_OVERVIEW.uid
    grafana.ui_edit(uid, {"refresh": "1m"}, user="alice")
    original = apis.ApisStore.save_dashboard

    def meanwhile(self, name, *args, **kwargs):
        if name == uid:  # between obs's read and its write, alice saves again
            grafana.ui_edit(uid, {"refresh": "2m"}, user="alice")
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(apis.ApisStore, "save_dashboard", meanwhile)
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 1
    assert ('answered 409: Operation cannot be fulfilled on dashboards.dashboard.grafana.app "obs-system-overview": '
            "the object has been modified; please apply your changes to the latest version and try again - the "
            "dashboard changed in Grafana during the push; nothing overwritten, run obs push again") in result.stdout
    assert grafana.dashboard(uid)["refresh"] == "2m"  # alice's save stands
    assert [r.status for r in grafana.writes if r.path == f"{DASHBOARDS}/{uid}"] == [409]


def test_an_object_listed_without_a_resource_version_is_not_overwritten(grafana, cached_build, tmp_path):
    """A PUT or DELETE with an empty resourceVersion is unconditional: the apiserver overwrites whatever is there.
    A listing that lacks it (a proxy that rewrote the answer) must not turn the optimistic write into a blind one."""
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    uid = SYSTEM_OVERVIEW.uid
    grafana.ui_edit(uid, {"refresh": "1m"}, user="alice")
    listing = grafana_api.Grafana(make_target(grafana.url, ADMIN, None, None)).request("GET", DASHBOARDS)
    for item in listing["items"]:
        del item["metadata"]["resourceVersion"]
    grafana.fail_next(1, 200, path_prefix=DASHBOARDS, method="GET", body=listing)
    grafana.clear_log()
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 1
    assert (f"PUT {DASHBOARDS}/{uid} not sent: Grafana listed {uid} without a resourceVersion, and a write without "
            "one would overwrite unconditionally; nothing written") in result.stdout
    assert grafana.writes == [] and grafana.dashboard(uid)["refresh"] == "1m"


def test_our_own_write_whose_answer_was_lost_counts_as_done(grafana, cached_build, tmp_path, monkeypatch):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    grafana.ui_edit(SYSTEM_OVERVIEW.uid, {"refresh": "1m"})
    original = grafana_api.Grafana.request
    state = {"lost": False}

    def request(self, method, path, **kwargs):
        if method == "PUT" and path.startswith(DASHBOARDS) and not state["lost"]:
            state["lost"] = True
            original(self, method, path, **kwargs)  # takes effect...
        return original(self, method, path, **kwargs)  # ...and the "retry" meets 409

    monkeypatch.setattr(grafana_api.Grafana, "request", request)
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert [r.status for r in grafana.writes if r.method == "PUT"] == [200, 409]
    assert "dashboards: 1 updated, 2 unchanged" in result.stdout


def test_a_dashboard_another_tool_manages_is_skipped_never_written(grafana, cached_build, compiled, tmp_path):
    grafana.add_folder(FOLDER.uid, FOLDER.title)
    terraformed = dict(copy.deepcopy(compiled.dashboards[SYSTEM_OVERVIEW.uid]), refresh="5m")
    grafana.add_dashboard(terraformed, FOLDER.uid, manager=("terraform", "stack-prod"), api_version="v1")
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert "skipped (managed by terraform (stack-prod)) and differs from the code: obs never writes it" \
        in result.stdout
    assert not [w for w in grafana.writes if w.path.endswith(SYSTEM_OVERVIEW.uid)]
    assert grafana.dashboard(SYSTEM_OVERVIEW.uid)["refresh"] == "5m"
    assert "dashboards: 2 created, 1 skipped" in result.stdout


def test_on_the_legacy_path_a_dashboard_another_tool_manages_is_skipped_without_a_backup(grafana, cached_build,
                                                                                         compiled, tmp_path):
    """13.x's /api refuses to save it (400 "Cannot save provisioned dashboard") though its meta does not say who
    manages it: skipped, and not reported as an edit obs backed up before overwriting."""
    grafana.add_folder(FOLDER.uid, FOLDER.title)
    synced = dict(copy.deepcopy(compiled.dashboards[SYSTEM_OVERVIEW.uid]), refresh="5m")
    grafana.add_dashboard(synced, FOLDER.uid, manager=("repo", "gitsync-prod"), api_version="v1")
    result = obs_push(tmp_path, grafana.url, "--api", "legacy")
    assert result.exit_code == 0, result.output
    assert ("skipped (managed by another tool): Grafana refused to save it (400 Cannot save provisioned "
            "dashboard)") in result.stdout
    assert "edited in Grafana" not in result.stdout and "saved to .obs-backups" not in result.stdout
    assert not (tmp_path / ".obs-backups").exists() or not list((tmp_path / ".obs-backups").iterdir())
    assert grafana.dashboard(SYSTEM_OVERVIEW.uid)["refresh"] == "5m"
    assert "dashboards: 2 created, 1 skipped" in result.stdout


def test_a_dashboard_provisioned_from_a_file_is_skipped(grafana, cached_build, tmp_path):
    grafana.add_folder(FOLDER.uid, FOLDER.title)
    grafana.add_dashboard({"uid": SYSTEM_OVERVIEW.uid, "title": "Old"}, FOLDER.uid, provisioned=True)
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert "(managed by classic-file-provisioning)" in result.stdout
    assert grafana.dashboard(SYSTEM_OVERVIEW.uid)["title"] == "Old"


def test_dashboards_an_older_obs_pushed_are_adopted_without_a_new_generation(grafana, cached_build, tmp_path):
    assert obs_push(tmp_path, grafana.url, "--api", "legacy").exit_code == 0  # through /api: no annotations
    assert "grafana.app/managerId" not in annotations(grafana, SYSTEM_OVERVIEW.uid)
    grafana.clear_log()
    result = obs_push(tmp_path, grafana.url)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("adds obs's manager annotations") == 4  # the folder and 3 dashboards
    assert annotations(grafana, SYSTEM_OVERVIEW.uid)["grafana.app/managedBy"] == "obs"
    assert grafana.dashboard_object(SYSTEM_OVERVIEW.uid)["metadata"]["generation"] == 1  # metadata only
    grafana.clear_log()
    assert obs_push(tmp_path, grafana.url).exit_code == 0 and grafana.writes == []


# --------------------------------------------------------------------------- prune


def test_prune_deletes_with_preconditions_what_obs_manages(grafana, cached_build, compiled, tmp_path):
    assert obs_push(tmp_path, grafana.url).exit_code == 0
    retired = dict(copy.deepcopy(compiled.dashboards[SYSTEM_OVERVIEW.uid]), uid="obs-retired", title="Retired")
    target = make_target(grafana.url, ADMIN, None, None)
    extra = copy.deepcopy(compiled)
    extra.dashboards["obs-retired"] = retired
    assert not sync.run_sync(target, extra, sync.Options(backup_dir=tmp_path)).failed
    grafana.add_dashboard({"uid": "hand-made", "title": "Hand made", "tags": ["team"]}, FOLDER.uid)
    grafana.add_dashboard({"uid": "tf-owned", "title": "Terraform's", "tags": [MANAGED_TAG]}, FOLDER.uid,
                          manager=("terraform", "x"))
    before = grafana.dashboard_object("obs-retired")
    grafana.clear_log()
    result = obs_push(tmp_path, grafana.url, "--prune")
    assert result.exit_code == 0, result.output
    [delete] = [r for r in grafana.writes if r.method == "DELETE"]
    assert delete.path == f"{DASHBOARDS}/obs-retired"
    assert delete.body["preconditions"] == {"uid": before["metadata"]["uid"],
                                            "resourceVersion": before["metadata"]["resourceVersion"]}
    assert set(grafana.dashboard_uids) == set(compiled.dashboards) | {"hand-made", "tf-owned"}
    assert json.loads((tmp_path / ".obs-backups" / "obs-retired-v1.json").read_text()) == before


def test_prune_with_a_concurrent_change_deletes_nothing(grafana, cached_build, compiled, tmp_path, monkeypatch):
    extra = copy.deepcopy(compiled)
    extra.dashboards["obs-retired"] = dict(copy.deepcopy(compiled.dashboards[SYSTEM_OVERVIEW.uid]),
                                           uid="obs-retired", title="Retired")
    target = make_target(grafana.url, ADMIN, None, None)
    assert not sync.run_sync(target, extra, sync.Options(backup_dir=tmp_path)).failed
    original = apis.ApisStore.delete_dashboard

    def meanwhile(self, live, **kwargs):
        grafana.ui_edit(live.uid, {"description": "still in use!"}, user="carol")
        return original(self, live, **kwargs)

    monkeypatch.setattr(apis.ApisStore, "delete_dashboard", meanwhile)
    result = obs_push(tmp_path, grafana.url, "--prune")
    assert result.exit_code == 1
    assert "Precondition failed: ResourceVersion in precondition" in result.stdout
    assert "the dashboard changed in Grafana since obs read it; not deleted" in result.stdout
    assert "obs-retired" in grafana.dashboard_uids and grafana.dashboard("obs-retired")["description"] == \
        "still in use!"


# --------------------------------------------------------------------------- dry run


def test_dry_run_asks_grafanas_dry_run_and_changes_nothing(grafana, cached_build, tmp_path):
    result = obs_push(tmp_path, grafana.url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert grafana.dashboard_uids == [] and grafana.folder(FOLDER.uid) is None
    sent = [r for r in grafana.writes]
    assert [(r.method, r.path) for r in sent] == [("POST", FOLDERS)] + [("POST", DASHBOARDS)] * 3
    assert all(r.query == {"dryRun": ["All"]} for r in sent)  # datasources: /api has no dry run, not sent
    assert ("dry run: Grafana checked 4 of the writes server-side (dryRun=All: admission (the spec as Grafana "
            "would store it") in result.stdout
    assert "would create  dashboard  obs-system-overview" in result.stdout
    assert not (tmp_path / ".obs-backups").exists()


def test_a_write_grafana_would_refuse_fails_the_dry_run(grafana, cached_build, compiled, tmp_path, monkeypatch):
    monkeypatch.setattr(sync, "git_revision", lambda root: "x" * 600)  # a message over Grafana's 500 characters
    result = obs_push(tmp_path, grafana.url, "--dry-run")
    assert result.exit_code == 1
    assert result.stdout.count("answered 400: message too long, max 500 characters") == 3
    assert grafana.dashboard_uids == []


def test_diff_never_sends_a_dry_run(grafana, compiled):
    from obs.review.live import compare_with_grafana

    comparison = compare_with_grafana(make_target(grafana.url, ADMIN, None, None), copy.deepcopy(compiled))
    assert comparison.differs and grafana.writes == []


# --------------------------------------------------------------------------- choosing the API


def test_api_legacy_forces_the_legacy_path(grafana, cached_build, tmp_path):
    result = obs_push(tmp_path, grafana.url, "--api", "legacy")
    assert result.exit_code == 0, result.output
    assert not [r for r in grafana.requests if r.path.startswith("/apis")]
    assert "through the legacy /api" in result.stdout
    grafana.ui_edit(SYSTEM_OVERVIEW.uid, {"refresh": "1m"}, user="alice")
    assert obs_push(tmp_path, grafana.url, "--api", "legacy").exit_code == 0
    assert grafana.dashboard(SYSTEM_OVERVIEW.uid)["refresh"] == "30s"


def test_api_apis_on_a_grafana_without_it_is_one_line(cached_build, tmp_path):
    with GrafanaEmulator(tokens=TOKENS, version="12.3.0") as emu:
        result = obs_push(tmp_path, emu.url, "--api", "apis")
        assert result.exit_code == 4
        [line] = [x for x in result.stderr.splitlines() if x.startswith("error:")]
        assert line == (f"error: Grafana 12.3.0 at {emu.url} does not serve dashboard.grafana.app/v1 and "
                        "folder.grafana.app/v1 (GET /apis lists dashboard.grafana.app v1beta1, v0alpha1, v2beta1, "
                        "v2alpha1; folder.grafana.app v1beta1); --api legacy uses /api")
        assert emu.writes == []
        auto = obs_push(tmp_path, emu.url)
        assert auto.exit_code == 0 and "through the legacy /api" in auto.stdout


@pytest.mark.parametrize("command", ["push", "diff"])
def test_push_and_diff_share_the_api_option(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert "--api [auto|apis|legacy]" in result.output


# --------------------------------------------------------------------------- dashboard schema v2


@pytest.fixture
def v2_project(tmp_path, cached_build):
    (tmp_path / "pyproject.toml").write_text('[tool.obs]\ndashboard-schema = "v2"\n')
    return tmp_path


def test_dashboard_schema_v2_deploys_v2_resources(grafana, v2_project, compiled):
    result = obs_push(v2_project, grafana.url)
    assert result.exit_code == 0, result.output
    assert "dashboard.grafana.app/v2 and folder.grafana.app/v1" in result.stdout
    for uid, document in compiled.dashboards.items():
        assert grafana.stored_version(uid) == "v2"
        assert grafana.dashboard_object(uid, "v2")["spec"] == to_v2_spec(document)
        assert annotations(grafana, uid)["grafana.app/sourceChecksum"] == compare.content_hash(document)
    grafana.clear_log()
    again = obs_push(v2_project, grafana.url)
    assert again.exit_code == 0 and grafana.writes == [], again.output
    grafana.ui_edit(SYSTEM_OVERVIEW.uid, {"refresh": "1m"}, user="alice")
    edited = obs_push(v2_project, grafana.url)
    assert "generation 2 was saved by user:alice" in edited.stdout and "stored as" not in edited.stdout
    assert re.search(rf"\.obs-backups/{SYSTEM_OVERVIEW.uid}-v2\.json", edited.stdout)
    assert grafana.dashboard(SYSTEM_OVERVIEW.uid)["refresh"] == "30s"


def test_dashboard_schema_v2_rewrites_what_is_stored_as_v1(grafana, v2_project, compiled):
    assert obs_push(v2_project, grafana.url, "--api", "apis").exit_code == 0
    grafana.clear_log()
    legacy = make_target(grafana.url, ADMIN, None, None, api="legacy")
    assert not sync.run_sync(legacy, copy.deepcopy(compiled), sync.Options(backup_dir=v2_project)).failed
    assert grafana.stored_version(SYSTEM_OVERVIEW.uid) == "v0alpha1"  # the legacy save stores the classic JSON
    result = obs_push(v2_project, grafana.url)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("written again as v2") == 3 and "edited in Grafana" not in result.stdout
    assert grafana.stored_version(SYSTEM_OVERVIEW.uid) == "v2"


def test_dashboard_schema_v2_needs_the_apis(v2_project):
    with GrafanaEmulator(tokens=TOKENS, version="12.3.0") as emu:
        result = obs_push(v2_project, emu.url)
        assert result.exit_code == 4
        assert "the project deploys dashboard schema v2 ([tool.obs] dashboard-schema)" in result.stderr
        assert emu.writes == []


def test_the_legacy_path_on_13_compares_the_classic_json_it_reads(grafana, cached_build, compiled, tmp_path):
    assert obs_push(tmp_path, grafana.url, "--api", "legacy").exit_code == 0
    grafana.ui_edit(SYSTEM_OVERVIEW.uid, lambda d: d["panels"][1].update(title="Renamed"), user="alice")
    assert grafana.stored_version(SYSTEM_OVERVIEW.uid) == "v2"
    result = obs_push(tmp_path, grafana.url, "--api", "legacy", "-v")
    assert result.exit_code == 0, result.output
    assert 'title: "Renamed" -> "API Gateway"' in result.stdout  # the classic JSON /api answers, diffed as read
    saved = json.loads((tmp_path / ".obs-backups" / f"{SYSTEM_OVERVIEW.uid}-v2.json").read_text())
    assert saved["meta"]["apiVersion"] == "v2" and saved["dashboard"]["panels"][1]["title"] == "Renamed"
    assert compare.normalise(grafana.dashboard(SYSTEM_OVERVIEW.uid)) == compare.normalise(
        compiled.dashboards[SYSTEM_OVERVIEW.uid])
