"""What changed between two builds, by meaning rather than by line.

Everything here is a pure function over two maps {artifact path: parsed document} (the base build and the
new one). Each kind of artifact has its own differ, for the paths it owns (KINDS, in this order):

    dashboards    monitoring/grafana/dashboards/*.json   dashboards, panels, rows, queries, variables
    rules         monitoring/prometheus/rules/*.y*ml     alert and recording rules, matched across files
    alertmanager  monitoring/alertmanager.yml            routes (by matchers), receivers (by name)
    datasources   the datasource provisioning file       datasources by name
    anything else                                        a structural diff of the document

A differ returns Sections (one per dashboard, one for all rules, ...) holding Changes; obs.diff.render turns
a Report into terminal text, a pull-request comment or JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatch

from obs.core.paths import ALERTMANAGER_FILE, DASHBOARD_DIR, DATASOURCES_FILE, RULES_DIR
from obs.diff.alertmanager import diff_alertmanager
from obs.diff.dashboards import diff_dashboards
from obs.diff.files import diff_datasources, diff_files
from obs.diff.model import Documents, Report, Section
from obs.diff.rules import diff_rules

KindDiffer = Callable[[Documents, Documents], list[Section]]


@dataclass(frozen=True)
class Kind:
    name: str
    patterns: tuple[str, ...]
    differ: KindDiffer


# Each path belongs to the first kind one of whose patterns it matches; the rest get a structural diff.
KINDS: tuple[Kind, ...] = (
    Kind("dashboards", (f"{DASHBOARD_DIR}/*.json",), diff_dashboards),
    Kind("rules", (f"{RULES_DIR}/*.yml", f"{RULES_DIR}/*.yaml"), diff_rules),
    Kind("alertmanager", (ALERTMANAGER_FILE, ALERTMANAGER_FILE.removesuffix(".yml") + ".yaml"), diff_alertmanager),
    Kind("datasources", (DATASOURCES_FILE,), diff_datasources),
)


def diff_documents(old: Documents, new: Documents) -> Report:
    """Every change between two builds, section by section, in a stable order."""
    claimed: set[str] = set()
    sections: list[Section] = []
    for kind in KINDS:
        mine = {p for p in (*old, *new) if p not in claimed and any(fnmatch(p, pat) for pat in kind.patterns)}
        claimed |= mine
        if mine:
            sections += kind.differ({p: old[p] for p in old if p in mine}, {p: new[p] for p in new if p in mine})
    rest = {p for p in (*old, *new) if p not in claimed}
    sections += diff_files({p: old[p] for p in old if p in rest}, {p: new[p] for p in new if p in rest})
    return Report(sections=sections)
