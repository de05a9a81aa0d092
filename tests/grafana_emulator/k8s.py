"""Kubernetes-shaped pieces of Grafana 13's /apis: Status errors, the BOM strip of the admission hook, resource
versions and the JSON size Grafana's list pages are cut at."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from .replies import _Reply

DASHBOARD_GROUP = "dashboard.grafana.app"
FOLDER_GROUP = "folder.grafana.app"
# pkg/storage/unified/resource/server.go: "By default, we use 2MB for the page size" (maxPageSizeBytes); List
# stops a page once the bytes of the values it holds reach it, and `limit < 1` means 500 items.
MAX_PAGE_BYTES = 2 * 1024 * 1024
DEFAULT_LIST_LIMIT = 500
# pkg/apimachinery/utils/meta.go (annotation and label keys)
ANNO_FOLDER = "grafana.app/folder"
ANNO_MESSAGE = "grafana.app/message"
ANNO_CREATED_BY = "grafana.app/createdBy"
ANNO_UPDATED_BY = "grafana.app/updatedBy"
ANNO_UPDATED_TS = "grafana.app/updatedTimestamp"
ANNO_MANAGER_KIND = "grafana.app/managedBy"
ANNO_MANAGER_ID = "grafana.app/managerId"
ANNO_MANAGER_ALLOWS_EDITS = "grafana.app/managerAllowsEdits"
ANNO_MANAGER_SUSPENDED = "grafana.app/managerSuspended"
ANNO_GRANT_PERMISSIONS = "grafana.app/grant-permissions"
ANNO_SAVED_FROM_UI = "grafana.app/saved-from-ui"  # public/app/features/apiserver/types.ts AnnoKeySavedFromUI
LABEL_INTERNAL_ID = "grafana.app/deprecatedInternalID"
LABEL_GET_HISTORY = "grafana.app/get-history"
SERVER_ANNOTATIONS = (ANNO_CREATED_BY, ANNO_UPDATED_BY, ANNO_UPDATED_TS)


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> _Reply:
    """k8s.io/apimachinery pkg/api/errors: a metav1.Status (metadata always {}, details omitted when nil)."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return _Reply(code, body)


def _details(group: str, resource: str, name: str) -> dict[str, Any]:
    # NewNotFound / NewConflict / NewAlreadyExists: details.kind is the resource plural
    return {"name": name, "group": group, "kind": resource}


def not_found(group: str, resource: str, name: str) -> _Reply:
    return status(404, "NotFound", f'{resource}.{group} "{name}" not found', _details(group, resource, name))


def conflict(group: str, resource: str, name: str, why: str) -> _Reply:
    # apierrors.NewConflict(qualifiedResource, name, err)
    return status(409, "Conflict", f'Operation cannot be fulfilled on {resource}.{group} "{name}": {why}',
                  _details(group, resource, name))


STALE = "the object has been modified; please apply your changes to the latest version and try again"


def already_exists(group: str, resource: str, name: str) -> _Reply:
    return status(409, "AlreadyExists", f'{resource}.{group} "{name}" already exists', _details(group, resource, name))


def bad_request(message: str) -> _Reply:
    return status(400, "BadRequest", message)


def forbidden(group: str, resource: str, name: str, why: str) -> _Reply:
    # apierrors.NewForbidden: `<resource>.<group> "<name>" is forbidden: <reason>`
    return status(403, "Forbidden", f'{resource}.{group} "{name}" is forbidden: {why}', _details(group, resource, name))


def invalid(group_kind: str, name: str, causes: list[dict[str, str]]) -> _Reply:
    # apierrors.NewInvalid(GroupKind, name, errs) -> 422 with details.causes
    text = "; ".join(f"{c['field']}: {c['message']}" for c in causes)
    return status(422, "Invalid", f'{group_kind} "{name}" is invalid: {text}',
                  {"name": name, "group": group_kind.split(".", 1)[1], "kind": group_kind.split(".", 1)[0],
                   "causes": [{"reason": "FieldValueInvalid", **c} for c in causes]})


def strip_bom(value: Any) -> Any:
    """pkg/util StripBOMFromInterface, run by the dashboard admission mutation on every string of the spec."""
    if isinstance(value, str):
        return value.replace("\ufeff", "")
    if isinstance(value, dict):
        return {strip_bom(k): strip_bom(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_bom(v) for v in value]
    return value


def stored_size(obj: dict[str, Any]) -> int:
    """Bytes of the value unified storage holds for an object (Go's compact json.Marshal)."""
    return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())


class ResourceVersions:
    """Unified storage resource versions: increasing int64s, written as decimal strings."""

    def __init__(self) -> None:
        self._counter = itertools.count(int(time.time() * 1_000_000))

    def next(self) -> int:
        return next(self._counter)
