"""The dashboard and datasource stages: dashboards/*.py (each defines `dashboard`, a grafanalib Dashboard)
compiled to Grafana 13 JSON, datasources/*.py (each defines `datasource`) to the provisioning files, and the
check that every datasource a dashboard names is provisioned."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import grafanalib.core as G

from obs.author.datasources import Datasource
from obs.compile.context import Context
from obs.compile.dashboard_json import DashboardShapeError, compile_dashboard
from obs.compile.provisioning import dashboard_provider_document, datasources_document
from obs.core.artifacts import Artifact
from obs.core.content import load_objects
from obs.core.documents import describe_dashboard_object
from obs.core.errors import Problem, json_path
from obs.core.paths import DASHBOARD_PROVIDER_FILE, DATASOURCES_FILE, dashboard_file
from obs.core.project import MARKER_FILE, dashboard_schema_problem, read_settings
from obs.core.serialize import canonical_json, yaml_text


def uid_problem(uid: str) -> str | None:
    """Grafana's rule for a uid (pkg/util/shortid_generator.go IsValidShortUID and the 40-character limit), read
    from the catalog, which checks its own uids with it."""
    from catalog.grafana import UID

    return None if UID.match(uid) else "uid must be 1-40 characters of letters, digits, '-' and '_'"


def compile_dashboards(ctx: Context) -> None:
    loaded, problems = load_objects(ctx.root, "dashboards", "dashboard", G.Dashboard, "a grafanalib Dashboard")
    ctx.problems += problems
    for item in loaded:
        uid = item.value.uid or ""
        what = f"dashboard {uid or item.value.title!r}"
        try:
            document = compile_dashboard(item.value)
        except DashboardShapeError as error:
            ctx.problems.append(Problem(item.source, what, error.path, error.reason))
            continue
        except Exception as error:  # grafanalib rejects some objects only when rendering them
            ctx.problems.append(Problem(item.source, what, "$", f"cannot render: {type(error).__name__}: {error}"))
            continue
        if reason := uid_problem(uid):
            ctx.problems.append(Problem(item.source, what, "$.uid", reason))
            continue
        if uid in ctx.dashboards:
            ctx.problems.append(Problem(item.source, what, "$.uid",
                                        f"duplicate uid, also used by {ctx.dashboard_sources[uid]}"))
            continue
        ctx.dashboards[uid] = document
        ctx.dashboard_sources[uid] = item.source
        ctx.artifacts.append(Artifact(dashboard_file(uid), canonical_json(document), item.source))


def compile_datasources(ctx: Context) -> None:
    loaded, problems = load_objects(ctx.root, "datasources", "datasource", Datasource, "an obs Datasource")
    ctx.problems += problems
    seen: dict[tuple[str, str], str] = {}
    for item in loaded:
        datasource: Datasource = item.value
        what = f"datasource {datasource.name!r}"
        if reason := uid_problem(datasource.uid):
            ctx.problems.append(Problem(item.source, what, "uid", reason))
        for key in ("uid", "name"):
            value = getattr(datasource, key)
            if (key, value) in seen:
                ctx.problems.append(Problem(item.source, what, key, f"duplicate {key} {value!r}, also in "
                                            f"{seen[(key, value)]}"))
            seen[(key, value)] = item.source
        ctx.datasources.append(datasource)
    defaults = [d.name for d in ctx.datasources if d.is_default]
    if len(defaults) > 1:
        ctx.problems.append(Problem("datasources/", "datasources", "isDefault",
                                    f"more than one default datasource: {', '.join(defaults)}"))
    ctx.datasources.sort(key=lambda d: d.name)
    ctx.artifacts.append(Artifact(DATASOURCES_FILE, yaml_text(datasources_document(ctx.datasources),
                                                              "datasources/*.py"), "datasources/"))
    ctx.artifacts.append(Artifact(DASHBOARD_PROVIDER_FILE, yaml_text(dashboard_provider_document(),
                                                                     "catalog/grafana.py"), "catalog/grafana.py"))


def check_datasource_references(ctx: Context) -> None:
    """Every datasource uid a dashboard names (other than a template variable) is provisioned."""
    provisioned = {d.uid for d in ctx.datasources}
    for uid, document in ctx.dashboards.items():
        for path, reference in _datasource_references(document, []):
            ref_uid = reference.get("uid", "")
            if ref_uid.startswith("$") or ref_uid.startswith("-- ") or ref_uid in provisioned:
                continue
            ctx.problems.append(Problem(ctx.dashboard_sources[uid], describe_dashboard_object(document, path),
                                        json_path(path), f"datasource uid {ref_uid!r} is not provisioned by "
                                                         "datasources/"))


def check_dashboards_v2(ctx: Context) -> None:
    """When the project deploys dashboard schema v2 (`[tool.obs] dashboard-schema = "v2"`), the v2 form of every
    dashboard is made and checked too: a dashboard whose v2 form is invalid, or says something else than its v1
    file, fails the build. Nothing is written: the files (and file provisioning) stay v1. After an earlier
    problem this says nothing, as the v1 document it converts is already wrong."""
    settings = read_settings(ctx.root) or {}
    if reason := dashboard_schema_problem(settings):
        ctx.problems.append(Problem(MARKER_FILE, "", "", reason))
        return
    if settings.get("dashboard-schema") != "v2" or ctx.problems:
        return
    for uid, document in ctx.dashboards.items():
        ctx.problems += dashboard_v2_problems(document, ctx.dashboard_sources[uid])


def dashboard_v2_problems(document: dict[str, Any], source: str) -> list[Problem]:
    """What keeps one compiled dashboard from its v2 form (`obs import` asks this of a dashboard it brings into
    a v2 project, before it writes anything)."""
    # Imported here: a v1 project's build does not pay for the v2 compiler.
    from obs.check.dashboard_v2 import check_dashboard_v2
    from obs.compile.dashboard_v2 import API_VERSION, to_v2_spec

    uid = str(document.get("uid") or "")
    try:
        spec = to_v2_spec(document)
    except DashboardShapeError as error:
        return [Problem(f"{source} -> {dashboard_file(uid)}", describe_dashboard_object(document,
                                                                                        path_parts(error.path)),
                        error.path, f"no {API_VERSION} form: {error.reason}")]
    return check_dashboard_v2(spec, f"{source} -> {API_VERSION} {uid}", uid)


def path_parts(path: str) -> list[str | int]:
    """The keys of a JSON path as obs.core.errors.json_path writes it ("$.panels[3].targets[0].expr")."""
    return [int(index) if index else key for key, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path)]


def _datasource_references(node: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], dict]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and isinstance(value, dict):
                yield [*path, key], value
            else:
                yield from _datasource_references(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _datasource_references(value, [*path, index])
