"""Which check each compiled file gets, and the checks of a whole project as it is on disk (`obs validate`).

`check_artifact` is the single entry point for one file, used both on a fresh in-memory build and by
`obs validate` on the files in the repository, so a hand-edited file is checked exactly as a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from obs.check.alertmanager import check_alertmanager
from obs.check.crossref import ProjectFiles, cross_reference
from obs.check.dashboard import check_dashboard
from obs.check.rules import check_prometheus_config, check_rule_file, rule_names_unique
from obs.check.stack_files import check_collector, check_compose, check_tempo
from obs.check.tools import amtool_check, promtool_checks
from obs.check.waivers import Waivers, load_waivers
from obs.core import schemas
from obs.core.errors import Problem, json_path
from obs.core.paths import (
    ALERTMANAGER_FILE,
    COLLECTOR_FILE,
    COMPOSE_FILE,
    DASHBOARD_DIR,
    DASHBOARD_PROVIDER_FILE,
    DATASOURCES_FILE,
    MONITORING_DIR,
    PROMETHEUS_FILE,
    RULES_DIR,
    TEMPO_FILE,
)
from obs.core.serialize import parse_document, parse_failure

# (document, file as messages name it, path, the project's waivers of the panel conventions) -> problems
Checker = Callable[[Any, str, str, Waivers], list[Problem]]
FileChecker = Callable[[Any, str, str], list[Problem]]


def check_dashboard_file(document: Any, file: str, path: str, waivers: Waivers = ()) -> list[Problem]:
    if not isinstance(document, dict):
        return [Problem(file, "dashboard", "$", "must be a JSON object")]
    problems = check_dashboard(document, file, waivers)
    expected = path.rsplit("/", 1)[-1].removesuffix(".json")
    if document.get("uid") != expected:
        problems.append(Problem(file, f"dashboard {document.get('uid')!r}", "$.uid",
                                f"file is named for uid {expected!r}"))
    return problems


def _without_waivers(check: FileChecker) -> Checker:
    """A check that no exclusion applies to."""

    def run(document: Any, file: str, path: str, waivers: Waivers) -> list[Problem]:
        return check(document, file, path)

    return run


def _provisioning(name: str, what: str) -> FileChecker:
    def check(document: Any, file: str, path: str) -> list[Problem]:
        validator = schemas.validator(f"provisioning/{name}")
        assert validator is not None, f"provisioning/{name} missing from the package"
        return [Problem(file, what, json_path(at), message) for at, message in validator.findings(document)]

    return check


# Every compiled file, by path pattern, and its check. A file no pattern matches is not obs's.
CHECKS: tuple[tuple[str, Checker], ...] = (
    (f"{DASHBOARD_DIR}/*.json", check_dashboard_file),
    (DATASOURCES_FILE, _without_waivers(_provisioning("datasources.schema.json", "datasources"))),
    (DASHBOARD_PROVIDER_FILE, _without_waivers(_provisioning("dashboards.schema.json", "dashboard provider"))),
    (f"{RULES_DIR}/*.yml", _without_waivers(check_rule_file)),
    (PROMETHEUS_FILE, _without_waivers(check_prometheus_config)),
    (ALERTMANAGER_FILE, _without_waivers(check_alertmanager)),
    (COMPOSE_FILE, _without_waivers(check_compose)),
    (COLLECTOR_FILE, _without_waivers(check_collector)),
    (TEMPO_FILE, _without_waivers(check_tempo)),
)


def checks_for(path: str) -> list[Checker]:
    return [check for pattern, check in CHECKS if fnmatch(path, pattern)]


def check_artifact(path: str, text: str, source: str = "", waivers: Waivers = ()) -> list[Problem]:
    """Parse the file and run every check its path has; `waivers` are the project's exclusions of the panel
    conventions (obs.check.waivers)."""
    matching = checks_for(path)
    if not matching:
        return []
    file = f"{source} -> {path}" if source and source != path else path
    try:
        document = parse_document(path, text)
    except Exception as error:  # json's ValueError, yaml's YAMLError
        return [Problem(file, "file", "$", f"does not parse: {parse_failure(error)}")]
    problems: list[Problem] = []
    for check in matching:
        problems += check(document, file, path, waivers)
    return problems


def compiled_files(root: Path) -> list[str]:
    """Every file of the project that some check knows how to validate (under monitoring/, and the compose
    file at the root)."""
    base = root / MONITORING_DIR
    found = sorted(p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file()) if base.is_dir() else []
    if (root / COMPOSE_FILE).is_file():
        found.append(COMPOSE_FILE)
    return [path for path in found if checks_for(path)]


def stack_on_disk(root: Path) -> list[Problem]:
    """The stack's cross-references, between the files as they are on disk."""
    return cross_reference(ProjectFiles(root))


@dataclass(frozen=True)
class ProjectCheck:
    name: str  # what `obs validate` says it ran
    run: Callable[[Path], list[Problem]]
    tool: bool = False  # runs a real program (promtool, amtool)


# What no single file shows, checked over the files as they are on disk, in this order.
PROJECT_CHECKS: tuple[ProjectCheck, ...] = (
    ProjectCheck("rule names unique across files", rule_names_unique),
    ProjectCheck("stack cross-references", stack_on_disk),
    ProjectCheck("promtool", promtool_checks, tool=True),
    ProjectCheck("amtool", amtool_check, tool=True),
)


@dataclass
class Validation:
    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)  # the real tools that checked the files


def validate_project(root: Path) -> Validation:
    """Every compiled file against its checks, then the project-wide checks and the real tools."""
    result = Validation(files=compiled_files(root))
    waivers = load_waivers(root)
    for path in result.files:
        result.problems += check_artifact(path, (root / path).read_text(encoding="utf-8"), waivers=waivers)
    for check in PROJECT_CHECKS:
        result.problems += check.run(root)
        if check.tool:
            result.tools.append(check.name)
    return result
