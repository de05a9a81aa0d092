"""Build: content modules in, validated artifacts out. Nothing touches the disk until every artifact has
been compiled and validated; then all are written (and files the build no longer produces removed).

A build is a list of stages. Each stage reads content, appends artifacts and problems to the context,
and may leave results for later stages (alerts link to compiled dashboards, for example).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grafanalib.core as G

from obs.artifacts import (
    DASHBOARD_DIR,
    DASHBOARD_PROVIDER_FILE,
    DATASOURCES_FILE,
    GENERATED_DIRS,
    Artifact,
    check_artifact,
    yaml_text,
)
from obs.dashboard_json import DashboardShapeError, canonical_json, compile_dashboard
from obs.errors import BuildError, Problem, json_path
from obs.loader import load_objects
from obs.provisioning import Datasource, dashboard_provider_document, datasources_document
from obs.validate_dashboard import describe

# Grafana's rules for a dashboard or datasource uid (pkg/util/shortid_generator.go: IsValidShortUID,
# and the 40-character limit in pkg/services/dashboards).
UID_PATTERN = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")


@dataclass
class BuildContext:
    root: Path
    artifacts: list[Artifact] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> compiled document
    dashboard_sources: dict[str, str] = field(default_factory=dict)  # uid -> source module
    datasources: list[Datasource] = field(default_factory=list)


Stage = Callable[[BuildContext], None]


def dashboards_stage(ctx: BuildContext) -> None:
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
        if not UID_PATTERN.match(uid):
            ctx.problems.append(Problem(item.source, what, "$.uid",
                                        "uid must be 1-40 characters of letters, digits, '-' and '_'"))
            continue
        if uid in ctx.dashboards:
            ctx.problems.append(Problem(item.source, what, "$.uid",
                                        f"duplicate uid, also used by {ctx.dashboard_sources[uid]}"))
            continue
        ctx.dashboards[uid] = document
        ctx.dashboard_sources[uid] = item.source
        ctx.artifacts.append(Artifact(f"{DASHBOARD_DIR}/{uid}.json", canonical_json(document), item.source))


def datasources_stage(ctx: BuildContext) -> None:
    loaded, problems = load_objects(ctx.root, "datasources", "datasource", Datasource, "an obs Datasource")
    ctx.problems += problems
    seen: dict[tuple[str, str], str] = {}
    for item in loaded:
        datasource: Datasource = item.value
        what = f"datasource {datasource.name!r}"
        if not UID_PATTERN.match(datasource.uid):
            ctx.problems.append(Problem(item.source, what, "uid",
                                        "uid must be 1-40 characters of letters, digits, '-' and '_'"))
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
                                                                     "obs/provisioning.py"), "obs/provisioning.py"))


def datasource_references_stage(ctx: BuildContext) -> None:
    """Every datasource uid a dashboard names (other than a template variable) is provisioned."""
    provisioned = {d.uid for d in ctx.datasources}
    for uid, document in ctx.dashboards.items():
        for path, reference in _datasource_references(document, []):
            ref_uid = reference.get("uid", "")
            if ref_uid.startswith("$") or ref_uid.startswith("-- ") or ref_uid in provisioned:
                continue
            ctx.problems.append(Problem(ctx.dashboard_sources[uid], describe(document, path), json_path(path),
                                        f"datasource uid {ref_uid!r} is not provisioned by datasources/"))


def _datasource_references(node: Any, path: list[str | int]):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and isinstance(value, dict):
                yield [*path, key], value
            else:
                yield from _datasource_references(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _datasource_references(value, [*path, index])


def validation_stage(ctx: BuildContext) -> None:
    for artifact in ctx.artifacts:
        ctx.problems += check_artifact(artifact.path, artifact.text, artifact.source)


STAGES: list[Stage] = [dashboards_stage, datasources_stage, datasource_references_stage]
FINAL_STAGES: list[Stage] = [validation_stage]


def register_stage(stage: Stage) -> Stage:
    """Add a stage that runs after the built-in ones (alerts, stack configs) and before validation."""
    if stage not in STAGES:
        STAGES.append(stage)
    return stage


def build_artifacts(root: Path) -> list[Artifact]:
    """Compile and validate everything; raise BuildError listing every problem."""
    load_plugins()
    ctx = BuildContext(root=root)
    for stage in [*STAGES, *FINAL_STAGES]:
        stage(ctx)
    if ctx.problems:
        raise BuildError(ctx.problems)
    return sorted(ctx.artifacts, key=lambda a: a.path)


def load_plugins() -> None:
    """Stages that live in their own modules register themselves on import."""
    import importlib

    for name in ("obs.alerting", "obs.stack"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise


@dataclass(frozen=True)
class Difference:
    path: str
    change: str  # "modified", "missing" (would be created) or "stale" (would be removed)


def differences(root: Path, artifacts: list[Artifact]) -> list[Difference]:
    out: list[Difference] = []
    produced = {a.path for a in artifacts}
    for artifact in artifacts:
        target = root / artifact.path
        if not target.exists():
            out.append(Difference(artifact.path, "missing"))
        elif target.read_text(encoding="utf-8") != artifact.text:
            out.append(Difference(artifact.path, "modified"))
    for stale in stale_files(root, produced):
        out.append(Difference(stale, "stale"))
    return sorted(out, key=lambda d: d.path)


def stale_files(root: Path, produced: set[str]) -> list[str]:
    stale = []
    for directory, pattern in GENERATED_DIRS:
        for path in sorted((root / directory).glob(pattern)):
            relative = path.relative_to(root).as_posix()
            if relative not in produced:
                stale.append(relative)
    return stale


def write_artifacts(root: Path, artifacts: list[Artifact]) -> list[Difference]:
    """Write what changed (each file replaced atomically) and remove stale generated files."""
    changes = differences(root, artifacts)
    by_path = {a.path: a for a in artifacts}
    for change in changes:
        target = root / change.path
        if change.change == "stale":
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, delete=False,
                                         prefix=f".{target.name}.", newline="\n") as handle:
            handle.write(by_path[change.path].text)
        os.replace(handle.name, target)
    return changes
