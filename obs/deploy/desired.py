"""What a push makes Grafana hold: the validated build output, exactly (dashboards as compiled, datasources
from the provisioning file), and the folder they go in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obs.compile.pipeline import build
from obs.compile.provisioning import unescape_env
from obs.core.artifacts import Artifact
from obs.core.paths import DASHBOARD_DIR, DATASOURCES_FILE
from obs.core.serialize import load_yaml


@dataclass
class Desired:
    folder: Any  # catalog.grafana.Folder
    datasources: list[dict[str, Any]]  # API bodies, by uid order
    dashboards: dict[str, dict[str, Any]]  # uid -> compiled JSON

    def describe(self) -> str:
        return (f"{len(self.datasources)} datasources, folder {self.folder.uid}, "
                f"{len(self.dashboards)} dashboards")


def datasource_body(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "uid": entry["uid"],
        "name": entry["name"],
        "type": entry["type"],
        "access": entry.get("access", "proxy"),
        "url": entry.get("url", ""),
        "isDefault": bool(entry.get("isDefault", False)),
        "jsonData": unescape_env(entry.get("jsonData") or {}),
    }


def desired_from_artifacts(artifacts: list[Artifact], folder: Any = None) -> Desired:
    """The validated build output, exactly: dashboards as compiled, datasources from the provisioning file,
    into `folder` (default: the catalog's)."""
    if folder is None:
        from catalog.grafana import FOLDER

        folder = FOLDER
    dashboards: dict[str, dict[str, Any]] = {}
    datasources: list[dict[str, Any]] = []
    for artifact in artifacts:
        if artifact.path.startswith(DASHBOARD_DIR + "/") and artifact.path.endswith(".json"):
            document = json.loads(artifact.text)
            dashboards[document["uid"]] = document
        elif artifact.path == DATASOURCES_FILE:
            entries = (load_yaml(artifact.text) or {}).get("datasources") or []
            datasources = sorted((datasource_body(e) for e in entries), key=lambda d: d["uid"])
    return Desired(folder, datasources, dict(sorted(dashboards.items())))


def desired_state(root: Path) -> Desired:
    """Build and validate everything in memory; raises BuildError (nothing sent) on any problem."""
    return desired_from_artifacts(build(root))
