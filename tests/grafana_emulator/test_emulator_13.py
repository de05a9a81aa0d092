"""Tests of the emulator's Grafana 13.2.3 behaviour: the /apis endpoints with Kubernetes Status errors, storage
that keeps each dashboard in the API version it was written at, UI saves that store v2, the generation rule,
the 13.x legacy /api path (saveDashboardViaK8s) and the v1 <-> v2 conversion. Sources are named in
apis.py, dashboard_store.py, dashboards.py and conversion.py."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import niquests
import pytest

from grafana_emulator import GrafanaEmulator
from grafana_emulator.conversion import v1_to_v2, v2_to_v1
from helpers import REPO

TOKEN = "glsa_emulator_13_admin"
VIEWER = "glsa_emulator_13_viewer"
DASH = "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards"
DASH_V2 = "/apis/dashboard.grafana.app/v2/namespaces/default/dashboards"
FOLDERS = "/apis/folder.grafana.app/v1/namespaces/default/folders"
COMPILED = {p.stem: json.loads(p.read_text()) for p in (REPO / "monitoring/grafana/dashboards").glob("*.json")}


@pytest.fixture
def grafana():
    with GrafanaEmulator(tokens={TOKEN: "Admin", VIEWER: "Viewer"}) as emu:
        yield emu


def call(emu: GrafanaEmulator, method: str, path: str, body: Any = None, token: str | None = TOKEN,
         **params: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = niquests.request(method, emu.url + path, json=body, params=params or None, headers=headers,
                                timeout=5, allow_redirects=False)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text


def dashboard(name: str, title: str = "T", folder: str = "", **spec: Any) -> dict[str, Any]:
    annotations = {"grafana.app/folder": folder} if folder else {}
    return {"apiVersion": "dashboard.grafana.app/v1", "kind": "Dashboard",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"title": title, "schemaVersion": 42, "panels": [], **spec}}


def created(emu: GrafanaEmulator, name: str, **spec: Any) -> dict[str, Any]:
    code, obj = call(emu, "POST", DASH, dashboard(name, **spec))
    assert code == 201, obj
    return obj


# --------------------------------------------------------------------------- discovery and auth


def test_discovery_lists_dashboard_v2_first_and_needs_sign_in(grafana):
    code, body = call(grafana, "GET", "/apis", token=None)
    assert code == 401 and body["messageId"] == "auth.unauthorized"  # Grafana's JSON 401, not a Status
    code, body = call(grafana, "GET", "/apis")
    assert code == 200 and body["kind"] == "APIGroupList"
    groups = {g["name"]: g for g in body["groups"]}
    dashboards = groups["dashboard.grafana.app"]
    assert [v["version"] for v in dashboards["versions"]] == ["v2", "v2beta1", "v2alpha1", "v0alpha1", "v1", "v1beta1"]
    assert dashboards["preferredVersion"] == {"groupVersion": "dashboard.grafana.app/v2", "version": "v2"}
    assert groups["folder.grafana.app"]["preferredVersion"]["version"] == "v1"


def test_grafana_12_and_11_lack_the_v1_apis():
    with GrafanaEmulator(tokens=TOKEN, version="12.3.0") as emu:
        code, body = call(emu, "GET", "/apis")
        versions = {g["name"]: [v["version"] for v in g["versions"]] for g in body["groups"]}
        assert code == 200 and "v1" not in versions["dashboard.grafana.app"]
        assert call(emu, "GET", DASH)[0] == 404
    with GrafanaEmulator(tokens=TOKEN, version="11.6.0", apis=False) as emu:
        assert call(emu, "GET", "/apis") == (404, {"message": "Not found"})


def test_frontend_settings_carry_the_namespace(grafana):
    code, settings = call(grafana, "GET", "/api/frontend/settings")
    assert code == 200 and settings["namespace"] == "default" and settings["buildInfo"]["version"] == "13.2.3"


def test_other_namespace_and_viewer_writes_are_forbidden(grafana):
    code, body = call(grafana, "GET", "/apis/dashboard.grafana.app/v1/namespaces/org-2/dashboards")
    assert code == 403 and body["kind"] == "Status" and body["reason"] == "Forbidden"
    code, body = call(grafana, "POST", DASH, dashboard("d1"), token=VIEWER)
    assert code == 403 and body["reason"] == "Forbidden" and 'cannot create resource "dashboards"' in body["message"]
    assert call(grafana, "GET", DASH, token=VIEWER)[0] == 200


# --------------------------------------------------------------------------- writes, generation, conflicts


def test_create_sets_server_metadata_and_strips_what_the_spec_may_not_hold(grafana):
    grafana.add_folder("f1", "Folder")
    body = dashboard("d1", title="\ufeffBOM title", folder="f1", id=77, uid="ignored", version=9)
    body["metadata"]["annotations"]["grafana.app/updatedBy"] = "user:someone-else"
    code, obj = call(grafana, "POST", DASH, body)
    assert code == 201
    meta = obj["metadata"]
    assert meta["generation"] == 1 and meta["resourceVersion"].isdigit() and meta["uid"] != "d1"
    assert meta["annotations"] == {"grafana.app/createdBy": "service-account:sa-1-emulator",
                                   "grafana.app/folder": "f1"}  # the client's updatedBy is not kept
    assert meta["labels"] == {"grafana.app/deprecatedInternalID": "77"}  # spec.id moved to the label
    assert obj["spec"] == {"title": "BOM title", "schemaVersion": 42, "panels": []}
    assert call(grafana, "POST", DASH, dashboard("d1"))[1]["reason"] == "AlreadyExists"


def test_generation_moves_only_on_a_spec_or_folder_change(grafana):
    grafana.add_folder("f2", "Other")
    first = created(grafana, "d1")
    rv, meta = first["metadata"]["resourceVersion"], first["metadata"]
    same = dashboard("d1")
    same["metadata"]["resourceVersion"] = rv
    code, again = call(grafana, "PUT", f"{DASH}/d1", same)
    assert code == 200 and again["metadata"]["resourceVersion"] == rv  # identical bytes: nothing written
    same["metadata"]["annotations"]["grafana.app/message"] = "only a message"
    code, annotated = call(grafana, "PUT", f"{DASH}/d1", same)
    assert annotated["metadata"]["generation"] == 1 and annotated["metadata"]["resourceVersion"] != rv
    assert "grafana.app/updatedBy" not in annotated["metadata"]["annotations"]
    moved = dashboard("d1", folder="f2")
    code, moved = call(grafana, "PUT", f"{DASH}/d1", moved)  # no resourceVersion: an unconditional update
    assert code == 200 and moved["metadata"]["generation"] == 2
    assert moved["metadata"]["annotations"]["grafana.app/updatedBy"] == "service-account:sa-1-emulator"
    changed = dashboard("d1", folder="f2", refresh="1m")
    assert call(grafana, "PUT", f"{DASH}/d1", changed)[1]["metadata"]["generation"] == 3
    assert meta["creationTimestamp"] == moved["metadata"]["creationTimestamp"]


def test_a_stale_resource_version_is_a_conflict_status(grafana):
    stale = created(grafana, "d1")["metadata"]["resourceVersion"]
    assert call(grafana, "PUT", f"{DASH}/d1", dashboard("d1", refresh="5s"))[0] == 200
    body = dashboard("d1", refresh="1h")
    body["metadata"]["resourceVersion"] = stale
    code, status = call(grafana, "PUT", f"{DASH}/d1", body)
    assert code == 409
    assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": 'Operation cannot be fulfilled on dashboards.dashboard.grafana.app "d1": the object '
                                 "has been modified; please apply your changes to the latest version and try again",
                      "reason": "Conflict", "details": {"name": "d1", "group": "dashboard.grafana.app",
                                                        "kind": "dashboards"}, "code": 409}
    assert grafana.dashboard("d1")["refresh"] == "5s"


def test_put_creates_a_missing_name_and_validation_errors_are_400(grafana):
    code, obj = call(grafana, "PUT", f"{DASH}/new-one", dashboard("new-one"))
    assert code == 200 and obj["metadata"]["generation"] == 1  # AllowCreateOnUpdate
    code, status = call(grafana, "POST", DASH, dashboard("d2", title=""))
    assert (code, status["reason"], status["message"]) == (400, "BadRequest", "Dashboard title cannot be empty")
    code, status = call(grafana, "POST", DASH, dashboard("bad uid!"))
    assert status["message"] == "uid contains illegal characters"
    code, status = call(grafana, "POST", DASH, dashboard("d3", folder="missing"))
    assert code == 404 and status["details"] == {"name": "missing", "group": "folder.grafana.app", "kind": "folders"}


def test_dry_run_checks_without_writing(grafana):
    code, obj = call(grafana, "POST", DASH, dashboard("d1", folder="not-yet"), dryRun="All")
    assert code == 201 and obj["metadata"]["resourceVersion"] == ""  # the folder check is skipped in a dry run
    assert grafana.dashboard_uids == []
    assert call(grafana, "POST", DASH, dashboard("d1", title=""), dryRun="All")[0] == 400  # validation still runs
    stale = created(grafana, "d1")["metadata"]["resourceVersion"]
    call(grafana, "PUT", f"{DASH}/d1", dashboard("d1", refresh="5s"))
    body = dashboard("d1", refresh="1h")
    body["metadata"]["resourceVersion"] = stale
    assert call(grafana, "PUT", f"{DASH}/d1", body, dryRun="All")[1]["reason"] == "Conflict"
    assert call(grafana, "PUT", f"{DASH}/d1", dashboard("d1", refresh="2h"), dryRun="All")[0] == 200
    assert grafana.dashboard("d1")["refresh"] == "5s"


def test_delete_checks_its_preconditions(grafana):
    obj = created(grafana, "d1")
    meta = obj["metadata"]
    call(grafana, "PUT", f"{DASH}/d1", dashboard("d1", refresh="5s"))
    stale = {"preconditions": {"resourceVersion": meta["resourceVersion"]}}
    code, status = call(grafana, "DELETE", f"{DASH}/d1", stale)
    assert code == 409 and status["message"].startswith(
        'Operation cannot be fulfilled on dashboards.dashboard.grafana.app "d1": Precondition failed: '
        f"ResourceVersion in precondition: {meta['resourceVersion']}, ResourceVersion in object meta: ")
    code, status = call(grafana, "DELETE", f"{DASH}/d1", {"preconditions": {"uid": "another-uid"}})
    assert code == 409 and "UID in precondition: another-uid" in status["message"]
    current = grafana.dashboard_object("d1")["metadata"]
    code, status = call(grafana, "DELETE", f"{DASH}/d1", {"preconditions": {
        "uid": current["uid"], "resourceVersion": current["resourceVersion"]}}, dryRun="All")
    assert code == 200 and grafana.dashboard_uids == ["d1"]
    code, status = call(grafana, "DELETE", f"{DASH}/d1", {"preconditions": {
        "uid": current["uid"], "resourceVersion": current["resourceVersion"]}})
    assert (code, status["status"], status["details"]["uid"]) == (200, "Success", current["uid"])
    assert grafana.dashboard_uids == []


def test_a_dashboard_provisioned_from_a_file_is_not_deleted(grafana):
    grafana.add_dashboard({"uid": "p1", "title": "From a file"}, provisioned=True)
    code, status = call(grafana, "DELETE", f"{DASH}/p1", {})
    assert (code, status["message"]) == (400, "provisioned dashboard cannot be deleted")


# --------------------------------------------------------------------------- lists and history


def test_list_pages_stop_at_the_limit_and_at_2_mib(grafana):
    big = "x" * 300_000
    for index in range(9):
        created(grafana, f"d{index}", description=big)
    code, page = call(grafana, "GET", DASH, limit=4)
    assert [i["metadata"]["name"] for i in page["items"]] == ["d0", "d1", "d2", "d3"]
    assert page["metadata"]["remainingItemCount"] == 5
    names, token, pages = [], None, 0
    while True:
        code, page = call(grafana, "GET", DASH, **({"continue": token} if token else {}))
        pages += 1
        names += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
    # 9 x ~300 KB = 2.7 MB: the first page stops once it holds 2 MiB (7 items), below the default limit of 500
    assert pages == 2 and names == [f"d{i}" for i in range(9)]
    assert call(grafana, "GET", DASH, **{"continue": "not-a-token"})[1]["message"] == "invalid continue token"


def test_history_is_read_with_the_get_history_label_newest_first(grafana):
    created(grafana, "d1")
    call(grafana, "PUT", f"{DASH}/d1", dashboard("d1", refresh="5s"))
    grafana.ui_edit("d1", {"refresh": "1m"}, message="tweak", user="alice")
    code, history = call(grafana, "GET", DASH, labelSelector="grafana.app/get-history=true",
                         fieldSelector="metadata.name=d1")
    assert code == 200
    items = history["items"]
    assert [i["metadata"]["generation"] for i in items] == [3, 2, 1]
    assert [i["spec"].get("refresh") for i in items] == ["1m", "5s", None]  # each at its version, read at v1
    newest = items[0]["metadata"]["annotations"]
    assert newest["grafana.app/updatedBy"] == "user:alice" and newest["grafana.app/message"] == "tweak"
    assert newest["grafana.app/saved-from-ui"] == "13.2.3"
    code, status = call(grafana, "GET", DASH, labelSelector="grafana.app/get-history=true")
    assert (code, status["message"]) == (400, "metadata.name field selector required for history requests")


# --------------------------------------------------------------------------- v2, conversion, UI saves


def test_ui_save_stores_v2_and_a_v1_read_converts_it_back(grafana):
    document = COMPILED["obs-system-overview"]
    grafana.add_dashboard(document, api_version="v1")
    grafana.ui_edit(document["uid"], lambda d: d["panels"][1].update(title="Renamed"), user="alice")
    assert grafana.stored_version(document["uid"]) == "v2"
    read = grafana.dashboard_object(document["uid"], "v1")
    assert read["status"] == {"conversion": {"failed": False, "storedVersion": "v2"}}
    panels = read["spec"]["panels"]
    assert panels[0]["type"] == "row" and panels[0]["id"] == -1  # rows lose their ids
    assert panels[1]["title"] == "Renamed" and panels[1]["gridPos"]["y"] == document["panels"][1]["gridPos"]["y"] - 1
    assert "datasource" not in panels[1]  # the panel-level datasource is not kept in v2
    assert panels[1]["targets"][0]["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    stored = grafana.dashboard_object(document["uid"], "v2")
    element = stored["spec"]["elements"][f"panel-{document['panels'][1]['id']}"]
    assert stored["status"] == {} and element["spec"]["title"] == "Renamed"
    assert grafana.dashboard(document["uid"])["panels"][1]["title"] == "Renamed"  # /api serves the conversion


def test_v2_writes_are_validated_strictly(grafana):
    body = dashboard("d1")
    body["apiVersion"] = "dashboard.grafana.app/v2"
    code, status = call(grafana, "POST", DASH_V2, body)  # classic JSON at v2
    assert code == 422 and status["reason"] == "Invalid" and status["details"]["causes"]
    body["spec"] = v1_to_v2(COMPILED["obs-container-overview"])
    code, obj = call(grafana, "POST", DASH_V2, body)
    assert code == 201 and grafana.stored_version("d1") == "v2"
    code, body = call(grafana, "POST", DASH, dashboard("d2"), **{"fieldValidation": "Ignore"})
    assert code == 201


@pytest.mark.parametrize("uid", sorted(COMPILED))
def test_the_v2_conversion_of_each_compiled_dashboard_validates(uid):
    schema = json.loads((REPO / "obs/schemas/grafana-13.2.3/dashboard-v2.schema.json").read_text())
    spec = v1_to_v2(COMPILED[uid])
    assert list(jsonschema.Draft7Validator(schema).iter_errors(spec)) == []
    panels = [p for p in COMPILED[uid]["panels"] if p["type"] != "row"]
    assert sorted(spec["elements"]) == sorted(f"panel-{p['id']}" for p in panels)
    back = v2_to_v1(spec)
    assert [p["title"] for p in back["panels"]] == [p["title"] for p in COMPILED[uid]["panels"]]
    assert back["schemaVersion"] == 42 and back["timepicker"]["refresh_intervals"][0] == "5s"


# --------------------------------------------------------------------------- the 13.x legacy /api


def post(emu: GrafanaEmulator, dashboard: dict[str, Any], **body: Any) -> tuple[int, Any]:
    return call(emu, "POST", "/api/dashboards/db", {"dashboard": dashboard, **body})


def test_legacy_save_goes_through_storage(grafana):
    code, answer = post(grafana, {"uid": "d1", "title": "  spaced  "})
    assert code == 200 and answer["version"] == 1 and answer["status"] == "success"
    assert grafana.dashboard("d1")["title"] == "  spaced  "  # not trimmed on the 13.x path
    assert grafana.stored_version("d1") == "v0alpha1"
    assert post(grafana, {"uid": "d1", "title": "  spaced  "}) == (
        409, {"message": "Dashboard already exists. Use overwrite flag to update."})  # no version
    assert post(grafana, {"uid": "d1", "title": "  spaced  ", "version": 5})[0] == 409  # a stale version
    code, answer = post(grafana, {"uid": "d1", "title": "  spaced  ", "version": 1})
    assert code == 200 and answer["version"] == 1  # the same spec: the generation does not move
    code, answer = post(grafana, {"uid": "d1", "title": "\ufeffNew", "version": 1})
    assert answer["version"] == 2 and grafana.dashboard("d1")["title"] == "New"  # BOM stripped
    assert post(grafana, {"uid": "d2", "title": ""})[1] == {"message": "Dashboard spec is missing required title "
                                                                      "property"}


def test_legacy_save_checks_the_manager_before_the_version(grafana):
    grafana.add_dashboard({"uid": "tf", "title": "Terraform's"}, manager=("terraform", "tf-stack"))
    for body in ({"version": 99}, {"version": 1}, {"overwrite": True}):
        version = body.get("version")
        dash = {"uid": "tf", "title": "Mine now", **({"version": version} if version else {})}
        assert post(grafana, dash, overwrite=body.get("overwrite", False)) == (
            400, {"message": "Cannot save provisioned dashboard"})
    code, meta = call(grafana, "GET", "/api/dashboards/uid/tf")
    assert meta["meta"]["provisioned"] is False  # meta.provisioned only reflects classic file provisioning
    grafana.add_dashboard({"uid": "open", "title": "Edits allowed"}, manager=("kubectl", "k", True))
    code, answer = post(grafana, {"uid": "open", "title": "Edited", "version": 1})
    assert code == 200  # "Reset the wrapper": the legacy save drops every annotation, the manager's too
    assert "grafana.app/managerId" not in grafana.dashboard_object("open")["metadata"]["annotations"]


def test_legacy_reads_of_a_v2_dashboard_are_converted(grafana):
    grafana.add_dashboard(COMPILED["obs-container-overview"], api_version="v2")
    code, answer = call(grafana, "GET", "/api/dashboards/uid/obs-container-overview")
    assert code == 200 and answer["meta"]["version"] == 1 and answer["dashboard"]["version"] == 1
    assert answer["dashboard"]["panels"][0]["id"] == -1


def test_datasource_update_with_an_old_version_is_a_conflict(grafana):
    grafana.add_datasource({"uid": "p", "name": "P", "type": "prometheus", "url": "http://a"})
    assert grafana.edit_datasource("p", basicAuthUser="ui") == 2
    code, body = call(grafana, "PUT", "/api/datasources/uid/p", {"name": "P", "type": "prometheus", "version": 1})
    assert code == 409 and body["message"] == ("Datasource has already been updated by someone else. Please reload "
                                               "and try again")


def test_a_failed_conversion_is_a_200_with_an_empty_spec(grafana):
    grafana.add_dashboard({"uid": "old", "title": "No schemaVersion", "tags": ["x"]})  # stored as v0alpha1
    code, obj = call(grafana, "GET", f"{DASH}/old")
    assert code == 200 and obj["spec"] == {}
    assert obj["status"]["conversion"]["failed"] is True and obj["status"]["conversion"]["storedVersion"] == "v0alpha1"
    code, stored = call(grafana, "GET", "/apis/dashboard.grafana.app/v0alpha1/namespaces/default/dashboards/old")
    assert stored["spec"]["tags"] == ["x"] and stored["status"] == {}  # "fetch the stored version instead"
