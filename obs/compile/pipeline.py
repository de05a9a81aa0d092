"""A build: the project's content in, validated artifacts out. The stages below run in this order; each reads
content or what earlier stages left in the context, and adds artifacts and problems. Nothing touches the disk
here: the caller writes the artifacts (obs.compile.output) only when there is no problem at all.
"""

from __future__ import annotations

from pathlib import Path

from obs.check.crossref import ProjectFiles, cross_reference
from obs.check.files import check_artifact
from obs.check.waivers import load_waivers
from obs.compile.context import Context, Stage
from obs.compile.dashboards import (
    check_dashboards_v2,
    check_datasource_references,
    compile_dashboards,
    compile_datasources,
)
from obs.compile.rules import compile_alerts
from obs.compile.stack import compile_stack
from obs.core.artifacts import Artifact
from obs.core.content import activate, import_package, missing_catalog
from obs.core.errors import BuildError, Problem
from obs.core.paths import COMPOSE_FILE


def load_catalog(ctx: Context) -> None:
    """Every catalog module imports (its records check their fields as they are made). Everything else is
    built from the catalog: when it fails, the build stops here, with the catalog's own problem as the one
    line to read instead of one per module that imports it."""
    if reason := missing_catalog(ctx.root):
        ctx.problems.append(Problem("catalog/", "package", "", reason))
        return
    for _ in import_package(ctx.root, "catalog", ctx.problems):
        pass


def cross_reference_stack(ctx: Context) -> None:
    """The stack against everything built: after an earlier problem an artifact is missing, and saying so
    again here would only bury the real problem."""
    if not ctx.problems and any(a.path == COMPOSE_FILE for a in ctx.artifacts):
        ctx.problems += cross_reference(ProjectFiles(ctx.root, {a.path: a for a in ctx.artifacts}))


def check_artifacts(ctx: Context) -> None:
    """Each compiled file against its schema and checks, exactly as `obs validate` checks it on disk."""
    waivers = load_waivers(ctx.root)
    for artifact in ctx.artifacts:
        ctx.problems += check_artifact(artifact.path, artifact.text, artifact.source, waivers)


STAGES: tuple[Stage, ...] = (
    load_catalog,
    compile_dashboards,
    compile_datasources,
    check_datasource_references,
    compile_alerts,
    compile_stack,
    cross_reference_stack,
    check_artifacts,
    check_dashboards_v2,
)


def build(root: Path) -> list[Artifact]:
    """Compile and validate everything; raise BuildError listing every problem."""
    activate(root)
    ctx = Context(root=root)
    for stage in STAGES:
        stage(ctx)
        if stage is load_catalog and ctx.problems:
            break
    if ctx.problems:
        raise BuildError(ctx.problems)
    return sorted(ctx.artifacts, key=lambda a: a.path)
