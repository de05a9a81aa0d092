"""The project obs works on: the folder whose pyproject.toml has a `[tool.obs]` table, found by walking up
from the working directory (or given with --root). Its content packages are imported from that folder only,
never from an installed copy (obs.core.content)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obs.core.errors import ProjectError

MARKER_FILE = "pyproject.toml"
MARKER_TABLE = "[tool.obs]"
# The packages of a project that are content (what the dashboards, rules and stack are made of), in the
# order their dependencies run: every other one imports the catalog, none imports another's modules.
CONTENT_PACKAGES = ("catalog", "dashboards", "datasources", "alerts", "stack")


@dataclass(frozen=True)
class Project:
    root: Path
    settings: dict[str, Any] = field(default_factory=dict, compare=False)

    def path(self, relative: str) -> Path:
        return self.root / relative


def read_settings(root: Path) -> dict[str, Any] | None:
    """The `[tool.obs]` table of root/pyproject.toml; None when the folder is not an obs project."""
    marker = root / MARKER_FILE
    if not marker.is_file():
        return None
    try:
        with marker.open("rb") as handle:
            document = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ProjectError(f"{marker}: cannot read it: {error}") from None
    table = document.get("tool", {}).get("obs")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ProjectError(f"{marker}: tool.obs must be a table")
    return table


def find_project(start: Path, explicit: Path | None = None) -> Project:
    """The project at `explicit` (--root), or the nearest folder upwards from `start` that is one."""
    if explicit is not None:
        root = explicit.resolve()
        settings = read_settings(root)
        if settings is None:
            raise ProjectError(f"{root} is not an obs project: it has no {MARKER_FILE} with a {MARKER_TABLE} table")
        return Project(root, settings)
    start = start.resolve()
    for candidate in (start, *start.parents):
        settings = read_settings(candidate)
        if settings is not None:
            return Project(candidate, settings)
    raise ProjectError(f"no obs project found in {start} or any folder above it (a project has a {MARKER_FILE} "
                       f"with a {MARKER_TABLE} table); run obs inside one or pass --root")
