"""What the `obs import` tests share: the foreign test dashboards, the document Grafana would hold for one,
and the checks every generated module must pass."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from obs.core.paths import dashboard_file
from obs.diff import diff_documents

from helpers import REPO

DATA = Path(__file__).parent / "data"
FOREIGN = {
    # file -> (uid, schemaVersion it was written at)
    "host-metrics-grafana5.json": ("host-metrics", 16),
    "gateway-grafana7.json": ("gateway-ops", 27),
    "evaluation-quality-grafana11.json": ("eval-quality", 39),
}
RUFF = str(Path(sys.executable).parent / "ruff")


def load(name: str | Path) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def expected_document(project: Path, name: str | Path) -> dict[str, Any]:
    """The dashboard Grafana 13 would hold after loading the file into this project: read, inputs resolved,
    migrated and adapted, by the importer's own first half (what the generated module must build to)."""
    from catalog.grafana import MANAGED_TAG
    from obs.core.content import activate
    from obs.ingest.adapt import adapt, resolve_inputs
    from obs.ingest.datasources import DatasourceIndex
    from obs.ingest.importer import project_datasources
    from obs.ingest.migrate import migrate
    from obs.ingest.read import read_document

    activate(project)
    incoming = read_document(str(name), load(name))
    provisioned = project_datasources(project, [])
    inputs = resolve_inputs(incoming.dashboard, provisioned)
    migrated = migrate(inputs.dashboard, DatasourceIndex.of(provisioned, inputs.dashboard))
    return adapt(migrated.dashboard, provisioned, MANAGED_TAG).dashboard


def compiled(project: Path, uid: str) -> dict[str, Any]:
    return json.loads((project / dashboard_file(uid)).read_text())


def semantic_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """obs diff between two versions of one dashboard: one line per change (empty: the same dashboard)."""
    path = dashboard_file(str(new.get("uid")))
    report = diff_documents({path: old}, {path: new})
    return [f"{section.name}: {change.subject} {change.field} {change.old!r} -> {change.new!r}"
            for section in report.sections for change in section.changes]


def ruff_clean(module: Path) -> list[str]:
    """`ruff check` and `ruff format --check` on a module, with the project's settings: their complaints."""
    problems = []
    for argv in ([RUFF, "check", "--quiet", str(module)], [RUFF, "format", "--check", "--quiet", str(module)]):
        result = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=False)
        if result.returncode != 0:
            problems.append((result.stdout + result.stderr).strip())
    return problems


def lint_lines(project: Path) -> list[str]:
    from helpers import run_obs

    result = run_obs("lint", "--root", str(project))
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def finding_listed(module_text: str, finding: str) -> bool:
    """Whether a lint finding line (error: file: object: path: [rule] message) is a comment in the module."""
    found = re.search(r"(\[[a-z-]+\] .*)$", finding)
    assert found, finding
    flat = re.sub(r"\n# ", " ", module_text)
    return f"obs lint: {found.group(1)}" in flat


def comment_above(source: str, name: str) -> list[str]:
    """The comments right above `name = ...` in a generated module, one entry per comment (a wrapped one
    joined)."""
    lines = source.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{name} = "))
    block: list[str] = []
    while index > 0 and lines[index - 1].startswith("#"):
        index -= 1
        block.insert(0, lines[index][2:])
    entries: list[str] = []
    for line in block:
        if entries and not re.match(r"(Pass-through|obs lint|excluded in|thresholds close|\S+ is close)", line):
            entries[-1] += " " + line
        else:
            entries.append(line)
    return entries
