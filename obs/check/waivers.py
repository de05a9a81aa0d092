"""The project's exclusions of the panel conventions (a title, a description and a unit on every panel).

The build checks those conventions, and `obs lint` checks them under the rule names panel-title,
panel-description and panel-units. An exclusion of one of these rules in lint-exclusions.yml, with its reason,
is honoured by both, so that a dashboard brought in from Grafana without descriptions (`obs import`) builds,
with each gap listed and reasoned in one reviewed file. `obs lint` validates the file and reports a malformed
one; here an entry that is not well formed is simply not an exclusion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from obs.core.paths import LINT_EXCLUSIONS_FILE
from obs.core.serialize import load_yaml

CONVENTION_RULES = ("panel-title", "panel-description", "panel-units")


@dataclass(frozen=True)
class Waiver:
    rule: str
    dashboard: str = ""  # empty: any dashboard
    panel: str = ""  # empty: any panel

    def covers(self, rule: str, dashboard: str, panel: str) -> bool:
        return (self.rule == rule and self.dashboard in ("", dashboard) and self.panel in ("", panel))


Waivers = tuple[Waiver, ...]


def load_waivers(root: Path) -> Waivers:
    path = root / LINT_EXCLUSIONS_FILE
    if not path.is_file():
        return ()
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return ()
    entries = document.get("exclusions") if isinstance(document, dict) else None
    waivers = []
    for entry in entries if isinstance(entries, list) else []:
        if (isinstance(entry, dict) and entry.get("rule") in CONVENTION_RULES
                and str(entry.get("reason") or "").strip() and not entry.get("alert")):
            waivers.append(Waiver(str(entry["rule"]), str(entry.get("dashboard") or ""),
                                  str(entry.get("panel") or "")))
    return tuple(waivers)


def waived(waivers: Waivers, rule: str, dashboard: str, panel: str) -> bool:
    return any(w.covers(rule, dashboard, panel) for w in waivers)
