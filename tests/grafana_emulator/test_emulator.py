"""Tests of the Grafana HTTP API emulator's 12.x mode (the legacy SQL-backed /api), driven through the real
grafana-client library. The 13.2 behaviour (/apis, k8s storage, the 13.x legacy path) is in test_emulator_13.py.

Each test pins a Grafana behaviour (source paths are in tests/grafana_emulator/emulator.py) or
a grafana-client 5.1.4 behaviour that `obs push` has to live with.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import niquests
import pytest
from grafana_client import GrafanaApi
from grafana_client.client import (
    GrafanaBadInputError,
    GrafanaClientError,
    GrafanaException,
    GrafanaServerError,
    GrafanaTimeoutError,
    GrafanaUnauthorizedError,
)

from grafana_emulator import GrafanaEmulator, make_fixture, slugify

ADMIN = "glsa_admin_token"
EDITOR = "glsa_editor_token"
VIEWER = "glsa_viewer_token"
TOKENS = {ADMIN: "Admin", EDITOR: "Editor", VIEWER: "Viewer"}

LEGACY = "12.3.0"
grafana = make_fixture(tokens=TOKENS, version=LEGACY)


def api(emu: GrafanaEmulator, credential: Any = ADMIN, timeout: float = 5.0) -> GrafanaApi:
    return GrafanaApi.from_url(emu.client_url, credential=credential, timeout=timeout)


def raises(exc_type: type[GrafanaException], fn, *args: Any, **kwargs: Any) -> GrafanaException:
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    return info.value


def push(client: GrafanaApi, dashboard: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return client.dashboard.update_dashboard({"dashboard": dashboard, **kwargs})


# --------------------------------------------------------------------------- slug


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        # grafana/grafana pkg/infra/slugify/slugify_test.go (newest stored revision)
        ("Hello, playground", "hello-playground"),
        ("😢 😣 😤 😥 😦 😧 😨 😩 😪 😫 😬 Hello, it's paradise", "37e4fb9"),
        ("😢 😣 😤 😥 😦 😧 😨 😩 😪 😫 😬", "f6bcbac"),
        ("😢 -", "f09f98a2"),
        ("?,a . \n ", "a"),
        ("", "da39a3e"),
        ("方向盤後面 hi this is a test خلف المقو", "f96f70a"),
        ("Cộng hòa xã hội chủ nghĩa Việt Nam", "cong-hoa-xa-hoi-chu-nghia-viet-nam"),
        ("Hello / playground", "hello-playground"),
        ("Hello % playground", "hello-playground"),
        ("Hello & //% playground", "hello-and-playground"),
        ("Hello *# playground", "hello-2a-23-playground"),
        ("Evaluation Platform — Overview", "evaluation-platform-e28094-overview"),
    ],
)
def test_slugify_matches_grafana_test_vectors(title: str, slug: str) -> None:
    assert slugify(title) == slug


# --------------------------------------------------------------------------- dashboards


def test_create_dashboard_response_and_stored_json(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    resp = push(c, {"uid": "svc-overview", "title": "Service Overview", "id": None, "panels": []})
    assert resp == {
        "id": 1,
        "uid": "svc-overview",
        "url": "/d/svc-overview/service-overview",
        "status": "success",
        "version": 1,
        "slug": "service-overview",
        "folderUid": "",
    }
    stored = grafana.dashboard("svc-overview")
    assert (stored["id"], stored["uid"], stored["version"]) == (1, "svc-overview", 1)

    got = c.dashboard.get_dashboard("svc-overview")
    assert got["dashboard"]["version"] == 1 and got["dashboard"]["id"] == 1
    meta = got["meta"]
    assert meta["version"] == 1
    assert meta["folderUid"] == "" and meta["folderTitle"] == "General" and meta["folderId"] == 0
    assert meta["url"] == "/d/svc-overview/service-overview" and meta["slug"] == "service-overview"
    assert meta["provisioned"] is False and meta["canSave"] is True and meta["type"] == "db"
    assert meta["created"].endswith("Z") and meta["updated"] == meta["created"]


def test_update_needs_current_version_or_overwrite(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    push(c, {"uid": "d1", "title": "D1"})
    # no version in the body counts as version 0 -> 412
    err = raises(GrafanaClientError, push, c, {"uid": "d1", "title": "D1"})
    assert err.status_code == 412
    assert err.response == {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
    assert push(c, {"uid": "d1", "title": "D1", "version": 1})["version"] == 2
    stale = raises(GrafanaClientError, push, c, {"uid": "d1", "title": "D1", "version": 1})
    assert stale.status_code == 412
    assert push(c, {"uid": "d1", "title": "D1", "version": 1}, overwrite=True)["version"] == 3
    assert push(c, {"uid": "d1", "title": "D1"}, overwrite=True)["version"] == 4
    assert grafana.dashboard("d1")["version"] == 4
    assert grafana.dashboard_record("d1")["id"] == 1  # same dashboard throughout


@pytest.mark.parametrize("title", ["", "   ", None])
def test_empty_title_is_400(grafana: GrafanaEmulator, title: str | None) -> None:
    err = raises(GrafanaBadInputError, push, api(grafana), {"uid": "x", "title": title})
    assert err.status_code == 400
    assert err.response == {"message": "Dashboard title cannot be empty", "status": "empty-name"}
    assert grafana.dashboard_uids == []


@pytest.mark.parametrize(
    ("uid", "message"),
    [
        ("has space", "uid contains illegal characters"),
        ("a/b", "uid contains illegal characters"),
        ("é", "uid contains illegal characters"),
        ("x" * 41, "uid too long, max 40 characters"),
    ],
)
def test_bad_uid_is_400(grafana: GrafanaEmulator, uid: str, message: str) -> None:
    err = raises(GrafanaBadInputError, push, api(grafana), {"uid": uid, "title": "T"})
    assert err.response == {"message": message}


def test_forty_char_uid_and_trimmed_title_are_accepted(grafana: GrafanaEmulator) -> None:
    resp = push(api(grafana), {"uid": "x" * 40, "title": "  Padded  "})
    assert resp["uid"] == "x" * 40 and resp["slug"] == "padded"
    assert grafana.dashboard("x" * 40)["title"] == "Padded"


def test_unknown_folder_is_400(grafana: GrafanaEmulator) -> None:
    err = raises(GrafanaBadInputError, push, api(grafana), {"uid": "d", "title": "T"}, folderUid="nope")
    assert err.response == {"message": "folder not found"}


def test_titles_need_not_be_unique_from_11_3(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    push(c, {"uid": "a", "title": "Same"})
    push(c, {"uid": "b", "title": "Same"})
    no_uid = push(c, {"title": "Same"})  # a POST without uid creates yet another dashboard
    assert len(no_uid["uid"]) == 14 and no_uid["uid"] not in ("a", "b")
    assert len(grafana.dashboard_uids) == 3


def test_title_uniqueness_of_grafana_11_2_and_older() -> None:
    with GrafanaEmulator(tokens=ADMIN, unique_titles=True, version=LEGACY) as emu:
        c = api(emu)
        push(c, {"uid": "a", "title": "Same"})
        err = raises(GrafanaClientError, push, c, {"uid": "b", "title": "same"})
        assert err.status_code == 412 and err.response["status"] == "name-exists"


def test_get_and_delete_missing_dashboard_are_404(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    err = raises(GrafanaClientError, c.dashboard.get_dashboard, "missing")
    assert err.status_code == 404 and err.response["message"] == "Dashboard not found"
    err = raises(GrafanaClientError, c.dashboard.delete_dashboard, "missing")
    assert err.status_code == 404


def test_delete_dashboard_body(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    push(c, {"uid": "d1", "title": "To Go"})
    assert c.dashboard.delete_dashboard("d1") == {"title": "To Go", "message": "Dashboard To Go deleted", "uid": "d1"}
    assert grafana.dashboard("d1") is None
    assert raises(GrafanaClientError, c.dashboard.get_dashboard, "d1").status_code == 404


def test_provisioned_dashboard_cannot_be_saved_or_deleted(grafana: GrafanaEmulator) -> None:
    grafana.add_dashboard({"uid": "prov", "title": "From File"}, provisioned=True)
    c = api(grafana)
    assert c.dashboard.get_dashboard("prov")["meta"]["provisioned"] is True
    err = raises(GrafanaBadInputError, push, c, {"uid": "prov", "title": "From File"}, overwrite=True)
    assert err.response == {"message": "Cannot save provisioned dashboard"}
    err = raises(GrafanaBadInputError, c.dashboard.delete_dashboard, "prov")
    assert err.response["message"] == "provisioned dashboard cannot be deleted"
    assert grafana.dashboard("prov")["version"] == 1


def test_dashboard_in_folder_meta_and_subpath_free_urls(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    c.folder.create_folder("Platform", uid="platform")
    resp = push(c, {"uid": "d1", "title": "In Folder"}, folderUid="platform")
    assert resp["folderUid"] == "platform"
    meta = c.dashboard.get_dashboard("d1")["meta"]
    assert meta["folderUid"] == "platform" and meta["folderTitle"] == "Platform"
    assert meta["folderUrl"] == "/dashboards/f/platform/platform"
    assert meta["folderId"] == grafana.folder("platform")["id"]


def test_versions_history_shape(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    push(c, {"uid": "d1", "title": "V"}, message="first")
    push(c, {"uid": "d1", "title": "V", "version": 1}, message="second")
    push(c, {"uid": "d1", "title": "V", "version": 2}, message="third")
    resp = c.dashboard_versions.get_dashboard_versions_by_uid("d1")
    assert resp["continueToken"] == ""
    versions = resp["versions"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert [v["message"] for v in versions] == ["third", "second", "Initial save"]
    assert [v["parentVersion"] for v in versions] == [2, 1, 0]
    assert all(v["uid"] == "d1" and v["dashboardId"] == 1 and v["data"] is None for v in versions)
    one = c.dashboard_versions.get_dashboard_version_by_uid("d1", 2)
    assert one["data"]["version"] == 2 and one["message"] == "second"


def test_versions_limit_is_a_query_parameter_but_grafana_client_sends_it_as_a_body(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    push(c, {"uid": "d1", "title": "V"})
    push(c, {"uid": "d1", "title": "V", "version": 1})
    # grafana-client 5.1.4 passes limit/start as a form body (data=) on a GET: Grafana ignores it
    assert len(c.dashboard_versions.get_dashboard_versions_by_uid("d1", limit=1)["versions"]) == 2
    assert len(c.client.GET("/dashboards/uid/d1/versions", params={"limit": 1})["versions"]) == 1


def test_versions_as_bare_list_before_11_6() -> None:
    with GrafanaEmulator(tokens=ADMIN, versions_as_list=True, version=LEGACY) as emu:
        c = api(emu)
        push(c, {"uid": "d1", "title": "V"})
        versions = c.dashboard_versions.get_dashboard_versions_by_uid("d1")
        assert isinstance(versions, list) and versions[0]["version"] == 1


def test_ui_edit_bumps_version_so_a_stale_push_gets_412(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    push(c, {"uid": "d1", "title": "Drift", "panels": []})
    assert grafana.ui_edit("d1", {"description": "edited by hand"}, message="tweak", user="alice") == 2
    assert grafana.ui_edit("d1", lambda d: d["panels"].append({"id": 7})) == 3
    got = c.dashboard.get_dashboard("d1")
    assert got["dashboard"]["description"] == "edited by hand" and got["dashboard"]["panels"] == [{"id": 7}]
    assert got["meta"]["version"] == 3 and got["meta"]["updatedBy"] == "admin"
    assert raises(GrafanaClientError, push, c, {"uid": "d1", "title": "Drift", "version": 1}).status_code == 412
    history = grafana.dashboard_record("d1")["versions"]
    assert [(v["version"], v["createdBy"], v["message"]) for v in history][1] == (2, "alice", "tweak")


# --------------------------------------------------------------------------- search


@pytest.fixture
def populated(grafana: GrafanaEmulator) -> GrafanaEmulator:
    grafana.add_folder("platform", "Platform")
    grafana.add_folder("ml", "ML")
    grafana.add_dashboard({"uid": "api", "title": "API Latency", "tags": ["prod", "api"]}, "platform")
    grafana.add_dashboard({"uid": "gpu", "title": "GPU Usage", "tags": ["prod", "gpu"]}, "ml")
    grafana.add_dashboard({"uid": "home", "title": "Home", "tags": []})
    return grafana


def test_search_item_shape(populated: GrafanaEmulator) -> None:
    hits = api(populated).search.search_dashboards(dashboard_uids="api")
    assert hits == [
        {
            "id": 3,
            "uid": "api",
            "orgId": 1,
            "title": "API Latency",
            "uri": "db/api-latency",
            "url": "/d/api/api-latency",
            "slug": "",
            "type": "dash-db",
            "tags": ["api", "prod"],
            "isStarred": False,
            "folderId": 1,
            "folderUid": "platform",
            "folderTitle": "Platform",
            "folderUrl": "/dashboards/f/platform/platform",
            "sortMeta": 0,
            "isDeleted": False,
        }
    ]
    home = api(populated).search.search_dashboards(query="home")[0]
    assert "folderUid" not in home and "folderUrl" not in home


def test_search_filters(populated: GrafanaEmulator) -> None:
    s = api(populated).search

    def uids(**kw: Any) -> list[str]:
        return [h["uid"] for h in s.search_dashboards(**kw)]

    assert uids() == ["ml", "platform", "api", "gpu", "home"]  # folders first, then by title
    assert uids(query="LATENCY") == ["api"]
    assert uids(tag="prod") == ["api", "gpu"]
    assert uids(tag=["prod", "gpu"]) == ["gpu"]  # every tag must match
    assert uids(type_="dash-folder") == ["ml", "platform"]
    assert uids(type_="dash-db") == ["api", "gpu", "home"]
    assert uids(dashboard_uids=["gpu", "home"]) == ["gpu", "home"]
    assert uids(folder_uids=["ml"]) == ["gpu"]
    assert uids(folder_uids=["general"], type_="dash-db") == ["home"]
    assert uids(type_="dash-db", limit=2, page=1) == ["api", "gpu"]
    assert uids(type_="dash-db", limit=2, page=2) == ["home"]
    # the store pages by title (sort alpha-asc); folders-first is applied within the page only
    assert uids(limit=2) == ["api", "gpu"]
    assert uids(limit=2, page=3) == ["platform"]


def test_search_limit_above_5000_is_422(populated: GrafanaEmulator) -> None:
    err = raises(GrafanaClientError, api(populated).search.search_dashboards, limit=5001)
    assert err.status_code == 422
    assert err.response == {
        "message": "Limit is above maximum allowed (5000), use page parameter to access hits beyond limit"
    }
    assert len(api(populated).search.search_dashboards(limit=5000)) == 5


# --------------------------------------------------------------------------- folders


def test_folder_create_get_list(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    created = c.folder.create_folder("Platform", uid="platform")
    assert created["uid"] == "platform" and created["title"] == "Platform" and created["version"] == 1
    assert created["url"] == "/dashboards/f/platform/platform" and created["canSave"] is True
    assert c.folder.get_folder("platform")["id"] == created["id"]
    child = c.folder.create_folder("Child", uid="child", parent_uid="platform")
    assert child["parentUid"] == "platform"
    assert c.folder.get_all_folders() == [{"id": created["id"], "uid": "platform", "title": "Platform"}]
    assert [f["uid"] for f in c.folder.get_all_folders(parent_uid="platform")] == ["child"]


def test_folder_not_found_body(grafana: GrafanaEmulator) -> None:
    err = raises(GrafanaClientError, api(grafana).folder.get_folder, "nope")
    assert err.status_code == 404
    assert err.response == {"message": "folder not found", "status": "not-found"}


def test_duplicate_folder_uid_is_412_on_12_and_13(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    c.folder.create_folder("Platform", uid="platform")
    err = raises(GrafanaClientError, c.folder.create_folder, "Platform", uid="platform")
    assert err.status_code == 412
    assert err.response["message"] == "the folder has been changed by someone else"


def test_duplicate_folder_uid_is_409_on_legacy_folder_service() -> None:
    with GrafanaEmulator(tokens=ADMIN, folder_conflict_status=409, version=LEGACY) as emu:
        c = api(emu)
        c.folder.create_folder("Platform", uid="platform")
        err = raises(GrafanaClientError, c.folder.create_folder, "Platform", uid="platform")
        assert err.status_code == 409
        assert err.response == {"message": "a folder/dashboard with the same uid already exists"}


def test_folder_update_needs_version_or_overwrite(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    c.folder.create_folder("Platform", uid="platform")
    err = raises(GrafanaClientError, c.folder.update_folder, "platform", title="Renamed")
    assert err.status_code == 412 and err.response["status"] == "version-mismatch"
    assert c.folder.update_folder("platform", title="Renamed", version=1)["version"] == 2
    assert c.folder.update_folder("platform", title="Again", overwrite=True)["title"] == "Again"
    assert raises(GrafanaClientError, c.folder.update_folder, "nope", overwrite=True).status_code == 404


def test_folder_delete_removes_contents(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    c.folder.create_folder("Platform", uid="platform")
    c.folder.create_folder("Child", uid="child", parent_uid="platform")
    push(c, {"uid": "inner", "title": "Inner"}, folderUid="child")
    push(c, {"uid": "outer", "title": "Outer"})
    assert c.folder.delete_folder("platform") == {"message": "Folder deleted"}
    assert grafana.folder("child") is None and grafana.dashboard_uids == ["outer"]


# --------------------------------------------------------------------------- datasources

PROM = {"name": "Prometheus", "uid": "prom", "type": "prometheus", "access": "proxy", "url": "http://prom:9090"}


def test_datasource_create_and_conflicts(grafana: GrafanaEmulator) -> None:
    ds = api(grafana).datasource
    resp = ds.create_datasource({**PROM, "secureJsonData": {"httpHeaderValue1": "s3cret"}})
    assert resp["message"] == "Datasource added" and resp["name"] == "Prometheus" and resp["id"] == 1
    assert resp["datasource"]["uid"] == "prom" and resp["datasource"]["version"] == 1
    assert resp["datasource"]["secureJsonFields"] == {"httpHeaderValue1": True}
    assert "secureJsonData" not in resp["datasource"]
    err = raises(GrafanaClientError, ds.create_datasource, {**PROM, "uid": "other"})
    assert err.status_code == 409 and err.response["message"] == "data source with the same name already exists"
    err = raises(GrafanaClientError, ds.create_datasource, {**PROM, "name": "Other"})
    assert err.status_code == 409 and err.response["message"] == "data source with the same uid already exists"


def test_datasource_put_is_full_replace_with_merged_secrets(grafana: GrafanaEmulator) -> None:
    ds = api(grafana).datasource
    ds.create_datasource({**PROM, "jsonData": {"timeInterval": "15s"}, "secureJsonData": {"basicAuthPassword": "pw"}})
    resp = ds.update_datasource_by_uid("prom", {"name": "Prometheus", "type": "prometheus", "url": "http://new:9090"})
    assert resp["message"] == "Datasource updated" and resp["id"] == 1
    got = ds.get_datasource_by_uid("prom")
    assert got["url"] == "http://new:9090"
    assert got["access"] == "" and got["jsonData"] == {}  # omitted fields are reset
    assert got["secureJsonFields"] == {"basicAuthPassword": True}  # secrets kept
    # store.go UpdateDataSource writes Version = cmd.Version + 1: a PUT without a version leaves version 1
    assert got["version"] == 1


def test_datasource_version_is_the_one_sent_plus_one(grafana: GrafanaEmulator) -> None:
    ds = api(grafana).datasource
    ds.create_datasource(PROM)
    assert ds.update_datasource_by_uid("prom", {**PROM, "version": 1})["datasource"]["version"] == 2
    # a higher version than stored is accepted ("to force updates"), and the stored one jumps
    assert ds.update_datasource_by_uid("prom", {**PROM, "version": 7})["datasource"]["version"] == 8


def test_datasource_put_with_stale_version_is_409(grafana: GrafanaEmulator) -> None:
    ds = api(grafana).datasource
    ds.create_datasource(PROM)
    ds.update_datasource_by_uid("prom", {**PROM, "version": 1})
    err = raises(GrafanaClientError, ds.update_datasource_by_uid, "prom", {**PROM, "version": 1})
    assert err.status_code == 409
    assert err.response["message"] == "Datasource has already been updated by someone else. Please reload and try again"


def test_read_only_datasource_is_403(grafana: GrafanaEmulator) -> None:
    grafana.add_datasource(PROM, read_only=True)
    ds = api(grafana).datasource
    assert ds.get_datasource_by_uid("prom")["readOnly"] is True
    err = raises(GrafanaClientError, ds.update_datasource_by_uid, "prom", PROM)
    assert err.status_code == 403 and err.response == {"message": "Cannot update read-only data source"}
    err = raises(GrafanaClientError, ds.delete_datasource_by_uid, "prom")
    assert err.status_code == 403 and err.response == {"message": "Cannot delete read-only data source"}


def test_datasource_get_list_delete(grafana: GrafanaEmulator) -> None:
    ds = api(grafana).datasource
    ds.create_datasource({**PROM, "name": "zeta", "uid": "z"})
    ds.create_datasource({**PROM, "name": "Alpha", "uid": "a"})
    listed = ds.list_datasources()
    assert [d["name"] for d in listed] == ["Alpha", "zeta"]
    assert listed[0]["typeName"] == "Prometheus" and listed[0]["readOnly"] is False
    assert ds.get_datasource_by_name("zeta")["uid"] == "z"
    err = raises(GrafanaClientError, ds.get_datasource_by_uid, "missing")
    assert err.status_code == 404 and err.response == {"message": "Data source not found"}
    assert ds.delete_datasource_by_uid("z") == {"message": "Data source deleted", "id": 1}
    assert [d["uid"] for d in ds.list_datasources()] == ["a"]


# --------------------------------------------------------------------------- auth


def test_missing_and_wrong_credentials_are_401(grafana: GrafanaEmulator) -> None:
    err = raises(GrafanaUnauthorizedError, api(grafana, credential=None).search.search_dashboards)
    assert err.response == {
        "message": "Unauthorized",
        "messageId": "auth.unauthorized",
        "statusCode": 401,
        "traceID": "",
    }
    err = raises(GrafanaUnauthorizedError, api(grafana, credential="wrong").search.search_dashboards)
    assert err.response["messageId"] == "api-key.invalid" and err.response["message"] == "Invalid API key"
    err = raises(GrafanaUnauthorizedError, api(grafana, credential=("admin", "nope")).search.search_dashboards)
    assert err.response["messageId"] == "password-auth.failed"
    assert grafana.count(path="/api/search") == 3 and all(r.status == 401 for r in grafana.requests)


def test_basic_auth_and_api_key_basic_auth(grafana: GrafanaEmulator) -> None:
    assert api(grafana, credential=("admin", "admin")).search.search_dashboards() == []
    assert api(grafana, credential=("api_key", ADMIN)).search.search_dashboards() == []


def test_viewer_can_read_but_not_write(grafana: GrafanaEmulator) -> None:
    push(api(grafana), {"uid": "d1", "title": "Seen"})
    viewer = api(grafana, credential=VIEWER)
    assert viewer.dashboard.get_dashboard("d1")["meta"]["canSave"] is False
    err = raises(GrafanaClientError, push, viewer, {"uid": "d2", "title": "Nope"})
    assert err.status_code == 403
    assert err.response["title"] == "Access denied" and err.response["accessErrorId"].startswith("ACE")
    assert err.response["message"] == (
        "You'll need additional permissions to perform this action. "
        "Permissions needed: any of dashboards:create, dashboards:write"
    )
    assert raises(GrafanaClientError, viewer.folder.create_folder, "F").status_code == 403
    assert raises(GrafanaClientError, viewer.dashboard.delete_dashboard, "d1").status_code == 403
    assert viewer.datasource.list_datasources() == []
    assert grafana.dashboard_uids == ["d1"]


def test_editor_writes_dashboards_but_not_datasources(grafana: GrafanaEmulator) -> None:
    editor = api(grafana, credential=EDITOR)
    assert push(editor, {"uid": "d1", "title": "Ed"})["version"] == 1
    err = raises(GrafanaClientError, editor.datasource.create_datasource, PROM)
    assert err.status_code == 403 and err.response["message"].endswith("Permissions needed: datasources:create")


# --------------------------------------------------------------------------- misc endpoints / URLs


def test_health_needs_no_auth_but_frontend_settings_does(grafana: GrafanaEmulator) -> None:
    r = niquests.get(grafana.url + "/api/health", timeout=5)
    assert r.status_code == 200 and r.json() == {"database": "ok", "version": "12.3.0", "commit": "emulator"}
    assert b'\n  "database"' in r.content  # Grafana pretty-prints this one
    assert raises(GrafanaUnauthorizedError, api(grafana, credential=None).health.check).status_code == 401
    c = api(grafana)
    assert c.health.check()["version"] == "12.3.0"  # grafana-client's health.check() = /api/frontend/settings
    assert c.version == "12.3.0"
    assert c.organization.get_current_organization()["name"] == "Main Org."


def test_unknown_api_path_and_non_api_paths(grafana: GrafanaEmulator) -> None:
    err = raises(GrafanaClientError, api(grafana).client.GET, "/no/such/thing")
    assert err.status_code == 404 and err.response == {"message": "Not found"}
    r = niquests.get(grafana.url + "/", timeout=5, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    r = niquests.get(grafana.url + "/", timeout=5)  # follows to the login page
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html") and "Grafana" in r.text
    r = niquests.get(grafana.url + "/d/x/y", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=5)
    assert r.status_code == 200 and "<title>Grafana</title>" in r.text  # signed in: the app's HTML


def test_bad_json_body_is_400(grafana: GrafanaEmulator) -> None:
    r = niquests.post(
        grafana.url + "/api/dashboards/db",
        data=b"{not json",
        headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"},
        timeout=5,
    )
    assert r.status_code == 400 and r.json()["message"] == "bad request data"


def test_sub_path_needs_trailing_slash_in_grafana_client() -> None:
    with GrafanaEmulator(tokens=ADMIN, sub_path="/grafana/", version=LEGACY) as emu:
        assert emu.url.endswith("/grafana") and emu.client_url.endswith("/grafana/")
        without_slash = GrafanaApi.from_url(emu.url, credential=ADMIN)
        assert without_slash.client.url.endswith("/grafanaapi")
        err = raises(GrafanaClientError, without_slash.search.search_dashboards)
        assert err.status_code == 404 and err.response == "404 page not found\n"
        with_slash = GrafanaApi.from_url(emu.url + "/", credential=ADMIN)
        resp = push(with_slash, {"uid": "d1", "title": "Sub Path"})
        assert resp["url"] == "/grafana/d/d1/sub-path"  # URLs carry the sub-path, like Grafana's AppSubUrl
        assert with_slash.search.search_dashboards()[0]["url"] == "/grafana/d/d1/sub-path"
        assert [r.path for r in emu.requests] == ["/grafanaapi/search", "/api/dashboards/db", "/api/search"]
        assert niquests.get(emu.url + "/api/health", timeout=5).status_code == 200
        assert niquests.get(emu.root_url + "/api/health", timeout=5).status_code == 404


# --------------------------------------------------------------------------- faults


def test_burst_of_503_then_success(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    grafana.fail_next(3, 503)
    statuses = []
    for _ in range(5):
        try:
            push(c, {"uid": "d1", "title": "Retry"})
            statuses.append(200)
            break
        except GrafanaServerError as exc:
            statuses.append(exc.status_code)
            assert "503 Service Temporarily Unavailable" in exc.response  # proxy HTML, not JSON
    assert statuses == [503, 503, 503, 200]
    assert grafana.count("POST", "/api/dashboards/db") == 4 and len(grafana.writes) == 4
    assert [r.fault for r in grafana.requests] == ["status", "status", "status", None]
    assert grafana.dashboard("d1")["version"] == 1  # the failed attempts stored nothing


def test_429_with_retry_after(grafana: GrafanaEmulator) -> None:
    grafana.rate_limit_next(1, retry_after=7)
    r = niquests.get(grafana.url + "/api/search", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    grafana.rate_limit_next(1, retry_after=7)
    err = raises(GrafanaClientError, api(grafana).search.search_dashboards)
    # grafana-client keeps only the parsed body: the Retry-After header is not reachable from the exception
    assert err.status_code == 429 and err.response == {"message": "Too Many Requests"}
    assert api(grafana).search.search_dashboards() == []


def test_dropped_connection_raises_raw_niquests_error(grafana: GrafanaEmulator) -> None:
    c = api(grafana)
    c.search.search_dashboards()  # warm a keep-alive connection
    grafana.drop_next(1, path_prefix="/api/dashboards/db")
    assert c.search.search_dashboards() == []  # other paths unaffected
    with pytest.raises(niquests.exceptions.ConnectionError) as info:
        push(c, {"uid": "d1", "title": "Dropped"})
    # grafana-client only wraps Timeout/HTTPError: a connection error is not a GrafanaException
    assert not isinstance(info.value, GrafanaException)
    assert grafana.requests[-1].status is None and grafana.requests[-1].fault == "drop"
    assert grafana.count("POST") == 1  # no hidden retry by niquests/urllib3
    assert push(c, {"uid": "d1", "title": "Dropped"})["version"] == 1  # the client recovers


def test_latency_and_client_timeout(grafana: GrafanaEmulator) -> None:
    grafana.latency = 0.05
    started = time.monotonic()
    api(grafana).search.search_dashboards()
    assert time.monotonic() - started >= 0.05
    grafana.latency = 0.6
    err = raises(GrafanaTimeoutError, api(grafana, timeout=0.2).search.search_dashboards)
    assert err.status_code == 0 and err.response is None
    grafana.latency = 0.0


def test_concurrent_pushes_get_unique_ids(grafana: GrafanaEmulator) -> None:
    grafana.latency = 0.01
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            results.append(push(api(grafana), {"uid": f"d{i}", "title": f"Dash {i}"}))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert sorted(r["id"] for r in results) == list(range(1, 13))
    assert len(grafana.writes) == 12


def test_reset_clears_state_log_and_faults(grafana: GrafanaEmulator) -> None:
    push(api(grafana), {"uid": "d1", "title": "Gone"})
    grafana.fail_next(5)
    grafana.reset()
    assert grafana.dashboard_uids == [] and grafana.requests == []
    assert api(grafana).search.search_dashboards() == []
