"""Grafana provisioning: the datasources and the dashboard provider, as the YAML Grafana reads at start-up
(conf/provisioning/*). Pure functions from objects to documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from obs.author.datasources import Datasource
from obs.author.stack import DASHBOARDS_MOUNT

PROVIDER_NAME = "obs"


def map_strings(value: Any, function: Callable[[str], str]) -> Any:
    """`value` with `function` applied to every string in it (dict keys left alone)."""
    if isinstance(value, str):
        return function(value)
    if isinstance(value, dict):
        return {k: map_strings(v, function) for k, v in value.items()}
    if isinstance(value, list):
        return [map_strings(v, function) for v in value]
    return value


def escape_env(value: Any) -> Any:
    """Grafana expands $VAR and ${VAR} in provisioning files; a literal `$` (Grafana's own `$__tags`,
    `${__span.traceId}`) must be written `$$` to survive."""
    return map_strings(value, lambda text: text.replace("$", "$$"))


def unescape_env(value: Any) -> Any:
    """Undo escape_env: provisioning files write `$` as `$$`; the HTTP API takes it as is."""
    return map_strings(value, lambda text: text.replace("$$", "$"))


def datasource_entry(datasource: Datasource) -> dict[str, Any]:
    return {
        "name": datasource.name,
        "type": datasource.type,
        "uid": datasource.uid,
        "access": datasource.access,
        "url": datasource.url,
        "isDefault": datasource.is_default,
        "editable": datasource.editable,
        "orgId": 1,
        "jsonData": escape_env(datasource.json_data),
    }


def datasources_document(datasources: list[Datasource]) -> dict[str, Any]:
    return {"apiVersion": 1, "datasources": [datasource_entry(d) for d in datasources]}


def dashboard_provider_document() -> dict[str, Any]:
    from catalog.grafana import FOLDER

    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": PROVIDER_NAME,
                "orgId": 1,
                "type": "file",
                "folder": FOLDER.title,
                "folderUid": FOLDER.uid,
                # The files are the source of truth: UI edits are not saved back, deletions are refused.
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": DASHBOARDS_MOUNT, "foldersFromFilesStructure": False},
            }
        ],
    }
