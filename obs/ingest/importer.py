"""`obs import`: dashboards in, one module each under dashboards/, proven to build back to the same dashboard.

    read (obs.ingest.read, obs.ingest.live) -> inputs resolved, migrated to Grafana 13's model and adapted to the
    project (obs.ingest.adapt, obs.ingest.migrate) -> the document the module must build to -> a module
    (obs.ingest.generate), run and compiled until it gives exactly that document (obs.ingest.verify) ->
    formatted with ruff -> built and compared once more, and checked as the build checks it.

Everything is planned before anything is written; `write_plan` writes the modules and any exclusions the
plan needs, each file atomically, only when nothing failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obs.check.dashboard import check_conventions
from obs.check.files import check_dashboard_file
from obs.check.waivers import Waiver, load_waivers, waived
from obs.compile.dashboards import dashboard_v2_problems, uid_problem
from obs.core.errors import Problem
from obs.core.fs import write_text_atomic
from obs.core.paths import LINT_EXCLUSIONS_FILE, dashboard_file
from obs.core.serialize import load_yaml, parse_failure
from obs.ingest import code
from obs.ingest.adapt import adapt, resolve_inputs
from obs.ingest.datasources import DatasourceIndex, DatasourceInfo
from obs.ingest.generate import Choices, Context, Generated, generate
from obs.ingest.match import Catalog
from obs.ingest.migrate import migrate
from obs.ingest.read import Incoming
from obs.ingest.verify import BuildFailed, build_source, compare, differences

MAX_ATTEMPTS = 8
CONVENTION_MESSAGES = {"panel has no title": "panel-title", "panel has no description": "panel-description",
                       "panel has no unit": "panel-units"}
CONVENTION_FINDINGS = tuple(f"[{rule}]" for rule in CONVENTION_MESSAGES.values())
# (dashboard document, its compiled path) -> "[rule] message" per panel path (None: the dashboard)
Linter = Callable[[dict[str, Any], str], dict[Any, list[str]]]


@dataclass(frozen=True)
class Options:
    root: Path
    force: bool = False
    instance: Sequence[DatasourceInfo] | None = None  # the datasources of the Grafana read from, if live
    lint: Linter | None = None
    dashboard_schema: str = "v1"  # the project's [tool.obs] dashboard-schema: v2 checks each dashboard's v2 form


@dataclass
class Planned:
    incoming: Incoming
    uid: str
    title: str
    module: str  # dashboards/<name>.py
    source: str
    document: dict[str, Any]  # what the module builds to
    overwrites: bool
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pass_through: list[str] = field(default_factory=list)
    builders: int = 0
    panels: int = 0
    exclusions: list[dict[str, str]] = field(default_factory=list)
    lint_findings: int = 0


@dataclass
class Plan:
    planned: list[Planned] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    formatted: bool = True  # ruff was there to format the modules
    exclusions: str | None = None  # lint-exclusions.yml as it will be, when the import adds to it


def plan_imports(incoming: Sequence[Incoming], options: Options) -> Plan:
    """Every module to write, or the problems that stop the import (then nothing may be written)."""
    from catalog.grafana import MANAGED_TAG
    from catalog.versions import GRAFANA_VERSION

    plan = Plan()
    catalog = Catalog.load()
    provisioned = project_datasources(options.root, plan.problems)
    existing = existing_modules(options.root)
    waivers = load_waivers(options.root)
    ruff = code.find_ruff()
    plan.formatted = ruff is not None
    taken: dict[str, str] = {}  # module -> uid, within this import
    seen_uids: dict[str, str] = {}
    for item in incoming:
        try:
            planned = _plan_one(item, options, catalog, provisioned, MANAGED_TAG, GRAFANA_VERSION, waivers, ruff)
        except _Refused as refused:
            plan.problems += refused.problems
            continue
        if planned.uid in seen_uids:
            plan.problems.append(Problem(item.origin, f"dashboard {planned.uid!r}", "$.uid",
                                         f"also imported from {seen_uids[planned.uid]}: one module per dashboard"))
            continue
        seen_uids[planned.uid] = item.origin
        planned.module, planned.overwrites = _module_for(planned, existing, taken)
        if planned.overwrites and not options.force:
            owner = existing.get(planned.module)
            what = f"it defines dashboard {owner!r}" if owner else "it exists"
            plan.problems.append(Problem(planned.module, "", "", f"already exists ({what}): pass --force to "
                                                                 f"overwrite it with {item.origin}"))
            continue
        taken[planned.module] = planned.uid
        plan.planned.append(planned)
    entries = [entry for planned in plan.planned for entry in planned.exclusions]
    if entries and not plan.problems:
        plan.exclusions, problem = planned_exclusions(options.root, entries)
        if problem:
            plan.problems.append(problem)
    return plan


def planned_exclusions(root: Path, entries: list[dict[str, str]]) -> tuple[str | None, Problem | None]:
    """lint-exclusions.yml with `entries` added, checked to read back as the file's exclusions plus those."""
    path = root / LINT_EXCLUSIONS_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    try:
        document = load_yaml(text) if text.strip() else {}
    except Exception as error:  # a YAML error
        return None, Problem(LINT_EXCLUSIONS_FILE, "", "", f"does not parse: {parse_failure(error)}")
    before = (document or {}).get("exclusions") or [] if isinstance(document, dict | type(None)) else None
    after_text = exclusions_text(text, entries) if before is not None else ""
    try:
        after = (load_yaml(after_text) or {}).get("exclusions") or [] if before is not None else None
    except Exception:  # what was appended does not continue the list
        after = None
    if before is None or after != [*before, *entries]:
        return None, Problem(LINT_EXCLUSIONS_FILE, "", "", "cannot add the exclusions the import needs: its "
                                                          "`exclusions` list is not the last part of the file")
    return after_text, None


class _Refused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def _plan_one(item: Incoming, options: Options, catalog: Catalog, provisioned: list[DatasourceInfo],
              managed_tag: str, grafana_version: str, waivers: tuple[Waiver, ...], ruff: str | None) -> Planned:
    what = f"dashboard {item.dashboard.get('uid') or item.dashboard.get('title')!r}"
    inputs = resolve_inputs(item.dashboard, provisioned)
    if inputs.problems:
        raise _Refused([Problem(item.origin, what, path, reason) for path, reason in inputs.problems])
    instance = list(options.instance) if options.instance is not None else provisioned
    migrated = migrate(inputs.dashboard, DatasourceIndex.of(instance, inputs.dashboard))
    adapted = adapt(migrated.dashboard, provisioned, managed_tag, known=instance)
    document = adapted.dashboard
    what = f"dashboard {document.get('uid')!r}"
    if adapted.problems:
        raise _Refused([Problem(item.origin, what, path, reason) for path, reason in adapted.problems])
    if reason := uid_problem(str(document.get("uid"))):
        raise _Refused([Problem(item.origin, what, "$.uid", reason)])
    exclusions, excluded = _convention_exclusions(document, item.origin, waivers)
    compiled_path = dashboard_file(document["uid"])
    lint = options.lint(document, compiled_path) if options.lint else {}
    # What the exclusions written with the module cover is said once, as excluded, not as a finding.
    lint = {key: [f for f in findings if not (key in excluded and f.startswith(CONVENTION_FINDINGS))]
            for key, findings in lint.items()}
    lint = {key: findings for key, findings in lint.items() if findings}
    notes = [*item.notes, *inputs.notes, *migrated.notes, *adapted.notes]
    ctx = Context(document, item.origin, item.form, tuple(notes), grafana_version, managed_tag,
                  lint=lint, excluded=excluded)
    generated, source = _module_source(ctx, catalog, options.root, ruff, item, what)
    built = build_source(source, "dashboards/_obs_import.py")
    all_waivers = (*waivers, *(Waiver(e["rule"], e["dashboard"], e.get("panel", "")) for e in exclusions))
    problems = check_dashboard_file(built, f"{item.origin} -> {compiled_path}", compiled_path, all_waivers)
    if not problems and options.dashboard_schema == "v2":
        problems = dashboard_v2_problems(built, item.origin)
    if problems:
        raise _Refused(problems)
    planned = Planned(item, document["uid"], str(document.get("title") or ""), "", source, built, False,
                      notes=notes, warnings=list(migrated.warnings), pass_through=generated.pass_through,
                      builders=generated.builders, exclusions=exclusions,
                      lint_findings=sum(len(v) for v in lint.values()))
    planned.panels = sum(1 for p, _ in _all_panels(document) if p.get("type") != "row")
    for entry in generated.pass_through:
        if entry.startswith("panel ") and "no builder" in entry:
            planned.warnings.append(entry.replace(": a ", ": pass-through (a ", 1) + ")")
    return planned


def _module_source(ctx: Context, catalog: Catalog, root: Path, ruff: str | None, item: Incoming,
                   what: str) -> tuple[Generated, str]:
    """Generate until the module builds back to the document; then format it, and prove it once more."""
    choices = Choices()
    for _ in range(MAX_ATTEMPTS):
        generated = generate(ctx, choices, catalog)
        try:
            built = build_source(generated.source, "dashboards/_obs_import.py")
        except BuildFailed as error:
            raise _Refused([Problem(item.origin, what, "$", f"obs import wrote a module that does not build "
                                                            f"({error}); please report this")]) from None
        difference = compare(ctx.dashboard, built)
        if difference.same:
            break
        if not _choose(choices, difference, ctx.dashboard, built):
            raise _Refused([Problem(item.origin, what, "$", "obs import cannot write a module that builds back "
                                                            f"to this dashboard: {difference.first()}")])
    else:
        raise _Refused([Problem(item.origin, what, "$", f"no module found that builds back to this dashboard in "
                                                        f"{MAX_ATTEMPTS} attempts: {difference.first()}")])
    try:
        source = code.format_source(generated.source, root, ruff)
    except RuntimeError as error:
        raise _Refused([Problem(item.origin, what, "$", f"cannot format the module: {error}")]) from None
    final = compare(ctx.dashboard, build_source(source, "dashboards/_obs_import.py"))
    if not final.same:
        raise _Refused([Problem(item.origin, what, "$", f"formatting changed what the module builds: {final.first()}")])
    return generated, source


def _choose(choices: Choices, difference: Any, expected: dict[str, Any], built: dict[str, Any]) -> bool:
    """Record what the next attempt writes another way; False when nothing is left to try."""
    changed = False
    if difference.extra_settings:
        return False
    if difference.layout and not choices.coordinates:
        choices.coordinates = True
        return True
    for path, keys in difference.panels.items():
        if keys == ["id"] and path not in choices.explicit_ids:
            choices.explicit_ids.add(path)
        elif path not in choices.raw_panels:
            choices.raw_panels.add(path)
            want, got = _at(expected, path), _at(built, path)
            choices.reasons[path] = differences({k: want.get(k) for k in keys if k in want},
                                                {k: got.get(k) for k in keys if k in got})
        elif path not in choices.full_raw:
            choices.full_raw.add(path)
        else:
            continue
        changed = True
    want_variables = (expected.get("templating") or {}).get("list") or []
    got_variables = (built.get("templating") or {}).get("list") or []
    for index in difference.variables:
        if index not in choices.raw_variables:
            choices.raw_variables.add(index)
            if index < len(want_variables) and index < len(got_variables):
                choices.reasons[("variable", index)] = differences(want_variables[index], got_variables[index],
                                                                          writer="the helper")
            changed = True
    if difference.settings:
        if not choices.no_frame:
            choices.no_frame = True
            changed = True
        else:
            for key in difference.settings:
                if choices.settings.get(key, _UNSET) != expected[key]:
                    choices.settings[key] = expected[key]
                    changed = True
    return changed


_UNSET = object()


def _convention_exclusions(document: dict[str, Any], origin: str, waivers: tuple[Waiver, ...]
                           ) -> tuple[list[dict[str, str]], dict[Any, list[str]]]:
    """lint-exclusions.yml entries for the panels Grafana had without a title, description or unit (the build
    refuses those unless excluded), and per panel path what is excluded."""
    uid = str(document["uid"])
    entries: list[dict[str, str]] = []
    excluded: dict[Any, list[str]] = {}
    for path, message in check_conventions(document):
        rule = CONVENTION_MESSAGES.get(message)
        if rule is None:
            continue
        panel_path = tuple(path[:-1] if path[-1] in ("title", "description") else path[:-3])
        panel = _at(document, panel_path)
        title = str(panel.get("title") or "")
        excluded.setdefault(panel_path, []).append(f"[{rule}] {message}")
        if waived(waivers, rule, uid, title):
            continue
        entry = {"rule": rule, "dashboard": uid, **({"panel": title} if rule != "panel-title" else {}),
                 "reason": f"imported by obs import from {origin}, where it had none: "
                           f"{'give it one' if rule != 'panel-units' else 'set its unit'} and remove this "
                           "exclusion"}
        if entry not in entries:
            entries.append(entry)
    return entries, excluded


def _at(document: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    node: Any = document
    for part in path:
        node = node[part]
    return node


def _all_panels(document: dict[str, Any]) -> list[tuple[dict[str, Any], tuple[Any, ...]]]:
    out = []
    for index, panel in enumerate(document.get("panels") or []):
        out.append((panel, ("panels", index)))
        out += [(child, ("panels", index, "panels", i)) for i, child in enumerate(panel.get("panels") or [])]
    return out


# ---------------------------------------------------------------------- the project


def project_datasources(root: Path, problems: list[Problem]) -> list[DatasourceInfo]:
    """The datasources datasources/*.py provision."""
    from obs.author.datasources import Datasource
    from obs.core.content import load_objects

    loaded, failures = load_objects(root, "datasources", "datasource", Datasource, "an obs Datasource")
    problems += failures
    return [DatasourceInfo(d.value.name, d.value.uid, d.value.type, d.value.is_default) for d in loaded]


def existing_modules(root: Path) -> dict[str, str]:
    """dashboards/<name>.py -> the uid of the dashboard it defines ('' when it does not load)."""
    import grafanalib.core as G

    from obs.core.content import content_modules, load_objects

    found = {p.relative_to(root).as_posix(): "" for p in content_modules(root / "dashboards")}
    loaded, _ = load_objects(root, "dashboards", "dashboard", G.Dashboard, "a grafanalib Dashboard")
    for item in loaded:
        found[item.source] = str(item.value.uid or "")
    return found


def _module_for(planned: Planned, existing: dict[str, str], taken: dict[str, str]) -> tuple[str, bool]:
    """The module that already defines this uid, else one named after the title; (module, overwrites)."""
    for module, uid in existing.items():
        if uid == planned.uid:
            return module, True
    base = re.sub(r"[^0-9a-z]+", "_", planned.title.lower()).strip("_") or re.sub(r"[^0-9a-z]+", "_", planned.uid)
    if base[0].isdigit():
        base = f"dashboard_{base}"
    name, number = base, 2
    while f"dashboards/{name}.py" in taken:
        name, number = f"{base}_{number}", number + 1
    module = f"dashboards/{name}.py"
    return module, module in existing


# ---------------------------------------------------------------------- writing


def write_plan(root: Path, plan: Plan) -> list[str]:
    """Write every planned module, and the exclusions they need; the paths written."""
    written = []
    if plan.exclusions is not None:
        write_text_atomic(root / LINT_EXCLUSIONS_FILE, plan.exclusions)
        written.append(LINT_EXCLUSIONS_FILE)
    (root / "dashboards").mkdir(exist_ok=True)
    for planned in plan.planned:
        write_text_atomic(root / planned.module, planned.source)
        written.append(planned.module)
    return written


def exclusions_text(text: str, entries: list[dict[str, str]]) -> str:
    """`text` (lint-exclusions.yml as it is, comments kept) with `entries` appended to its exclusions list."""
    document = load_yaml(text) if text.strip() else None
    lines = []
    for entry in entries:
        first = True
        for key in ("rule", "dashboard", "panel", "reason"):
            if key in entry:
                lines.append(f"  {'- ' if first else '  '}{key}: {_yaml_scalar(entry[key])}")
                first = False
    block = "\n".join(lines) + "\n"
    if not isinstance(document, dict) or not document.get("exclusions"):
        head = text.rstrip("\n")
        head = re.sub(r"(?m)^exclusions:\s*(\[\])?\s*$", "", head).rstrip("\n")
        return (head + "\n" if head else "") + "exclusions:\n" + block
    return text.rstrip("\n") + "\n" + block


def _yaml_scalar(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)

