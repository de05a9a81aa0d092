"""The project obs works on: the folder whose pyproject.toml has a `[tool.obs]` table, found by walking up
from the working directory (or given with --root). Its content packages are imported from that folder only,
never from an installed copy (obs.core.content)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from obs.core.errors import ProjectError

MARKER_FILE = "pyproject.toml"
MARKER_TABLE = "[tool.obs]"
# The packages of a project that are content (what the dashboards, rules and stack are made of), in the
# order their dependencies run: every other one imports the catalog, none imports another's modules.
CONTENT_PACKAGES = ("catalog", "dashboards", "datasources", "alerts", "stack")

# `[tool.obs] dashboard-schema`: the form `obs push` deploys dashboards in. v1 (schemaVersion 42, what file
# provisioning reads) unless the project asks for v2 (`dashboard.grafana.app/v2` resources).
DashboardSchema = Literal["v1", "v2"]
DASHBOARD_SCHEMA_KEY = "dashboard-schema"
DASHBOARD_SCHEMAS: tuple[DashboardSchema, ...] = ("v1", "v2")
DEFAULT_DASHBOARD_SCHEMA: DashboardSchema = "v1"


@dataclass(frozen=True)
class Project:
    root: Path
    settings: dict[str, Any] = field(default_factory=dict, compare=False)

    def path(self, relative: str) -> Path:
        return self.root / relative

    @property
    def dashboard_schema(self) -> DashboardSchema:
        """What `obs push` deploys; raises ProjectError (one line) for a value obs does not know."""
        return dashboard_schema(self.settings, self.root / MARKER_FILE)


def dashboard_schema_problem(settings: dict[str, Any]) -> str | None:
    """Why the `dashboard-schema` setting is not usable, or None."""
    value = settings.get(DASHBOARD_SCHEMA_KEY, DEFAULT_DASHBOARD_SCHEMA)
    if value in DASHBOARD_SCHEMAS:
        return None
    allowed = " or ".join(f'"{name}"' for name in DASHBOARD_SCHEMAS)
    return f"tool.obs.{DASHBOARD_SCHEMA_KEY} must be {allowed} (default \"{DEFAULT_DASHBOARD_SCHEMA}\"), got {value!r}"


def dashboard_schema(settings: dict[str, Any], marker: Path | str = MARKER_FILE) -> DashboardSchema:
    """The `dashboard-schema` setting of a `[tool.obs]` table (`marker` names the file in the error)."""
    if reason := dashboard_schema_problem(settings):
        raise ProjectError(f"{marker}: {reason}")
    return cast(DashboardSchema, settings.get(DASHBOARD_SCHEMA_KEY, DEFAULT_DASHBOARD_SCHEMA))


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
