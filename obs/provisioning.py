"""Grafana provisioning: datasources and the dashboard provider, compiled to the YAML Grafana reads at
start-up (conf/provisioning/*). Pure functions from objects to documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from catalog.grafana import FOLDER

# Where the compose file mounts monitoring/grafana/dashboards inside the Grafana container.
DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards"
PROVIDER_NAME = "obs"


@dataclass(frozen=True)
class Datasource:
    name: str
    type: str
    uid: str
    url: str
    json_data: dict[str, Any] = field(default_factory=dict)
    is_default: bool = False
    access: str = "proxy"
    # Provisioned datasources are read-only in the UI: the code is the source of truth.
    editable: bool = False

    def to_provisioning(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "uid": self.uid,
            "access": self.access,
            "url": self.url,
            "isDefault": self.is_default,
            "editable": self.editable,
            "orgId": 1,
            "jsonData": escape_env(self.json_data),
        }


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


def datasources_document(datasources: list[Datasource]) -> dict[str, Any]:
    return {"apiVersion": 1, "datasources": [d.to_provisioning() for d in datasources]}


def dashboard_provider_document() -> dict[str, Any]:
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
