"""Checks on a compiled dashboard document: Grafana's own schema, the panel plugins' schemas, the grid,
the project's conventions, and every PromQL expression through a real parser.

Each check is a pure function from the document to a list of Problems.
"""

from __future__ import annotations

import json
from typing import Any

from obs.author.layout import GRID_COLUMNS
from obs.check.promql import parse_error, variable_query_error
from obs.check.waivers import Waivers, waived
from obs.core import schemas
from obs.core.documents import describe_dashboard_object, panels_with_paths
from obs.core.errors import Problem, json_path

# Panels that show no values of their own need no unit.
UNITLESS_PANEL_TYPES = {"text", "row", "alertlist", "dashlist", "news", "nodeGraph", "traces"}

Finding = schemas.Finding


def schema_package() -> str:
    """The folder of obs/schemas/ holding the model of the Grafana the catalog pins."""
    from catalog.versions import GRAFANA_VERSION

    return f"grafana-{GRAFANA_VERSION}"


def _validator(name: str, definition: str | None = None) -> schemas.Validator | None:
    return schemas.validator(f"{schema_package()}/{name}", definition)


def check_dashboard(document: dict[str, Any], file: str, waivers: Waivers = ()) -> list[Problem]:
    problems: list[Problem] = []
    for check in (check_schema, check_panel_plugins, check_nulls, check_ids, check_grid, check_promql):
        problems.extend(Problem(file, describe_dashboard_object(document, path), json_path(path), reason)
                        for path, reason in check(document))
    problems.extend(Problem(file, describe_dashboard_object(document, path), json_path(path), reason)
                    for path, reason in check_conventions(document, waivers))
    return problems


def check_schema(document: dict[str, Any]) -> list[Finding]:
    """Grafana's dashboard model. Panels are checked one by one against Panel or RowPanel, so a bad panel
    gets a precise message instead of 'not valid under any of the given schemas'. A dashboard valid as a
    whole (every one of a normal build) needs no panel-by-panel pass."""
    validator = _validator("dashboard.schema.json")
    assert validator is not None, f"Grafana dashboard schema missing from the package ({schema_package()})"
    if validator.is_valid(document):
        return []
    findings: list[Finding] = []
    shallow = {**document, "panels": []}
    findings += validator.findings(shallow)
    for panel, path in panels_with_paths(document):
        definition = "RowPanel" if panel.get("type") == "row" else "Panel"
        subject = {**panel, "panels": []} if definition == "RowPanel" else panel
        panel_validator = _validator("dashboard.schema.json", definition)
        assert panel_validator is not None
        findings += [([*path, *at], message) for at, message in panel_validator.findings(subject)]
    return findings


def check_panel_plugins(document: dict[str, Any]) -> list[Finding]:
    """Each panel's options and fieldConfig.defaults.custom against its plugin's published schema."""
    findings: list[Finding] = []
    for panel, path in panels_with_paths(document):
        kind = panel.get("type")
        options_validator = _validator(f"panels/{kind}.options.schema.json")
        if options_validator is not None:
            findings += [([*path, "options", *at], message)
                         for at, message in options_validator.findings(panel.get("options", {}))]
        custom_validator = _validator(f"panels/{kind}.fieldconfig.schema.json")
        custom = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("custom")
        if custom_validator is not None and custom is not None:
            findings += [([*path, "fieldConfig", "defaults", "custom", *at], message)
                         for at, message in custom_validator.findings(custom)]
    return findings


def check_nulls(document: dict[str, Any]) -> list[Finding]:
    """No nulls, except the first threshold step, whose null is how Grafana writes -Infinity.

    The document's compact JSON (C-encoded, fast) has "null" exactly once per allowed null when there is
    nothing else to find; only a document where it does not is walked, to say where."""
    allowed = sum(1 for panel, _ in panels_with_paths(document)
                  if (((panel.get("fieldConfig") or {}).get("defaults") or {}).get("thresholds") or {}).get("steps")
                  and isinstance(panel["fieldConfig"]["defaults"]["thresholds"]["steps"], list)
                  and isinstance(panel["fieldConfig"]["defaults"]["thresholds"]["steps"][0], dict)
                  and "value" in panel["fieldConfig"]["defaults"]["thresholds"]["steps"][0]
                  and panel["fieldConfig"]["defaults"]["thresholds"]["steps"][0]["value"] is None)
    try:
        if json.dumps(document, separators=(",", ":")).count("null") == allowed:
            return []
    except (TypeError, ValueError):
        pass  # not JSON-encodable: the walk below reports what it finds
    findings: list[Finding] = []

    def walk(node: Any, path: list[str | int]) -> None:
        if node is None:
            if not (len(path) >= 4 and path[-4:-2] == ["thresholds", "steps"] and path[-2] == 0
                    and path[-1] == "value"):
                findings.append((path, "null value (Grafana would drop or migrate it)"))
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, [*path, index])

    walk(document, [])
    return findings


def check_ids(document: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    seen: dict[Any, list[str | int]] = {}
    for panel, path in panels_with_paths(document):
        panel_id = panel.get("id")
        if panel_id is None:
            findings.append(([*path, "id"], "panel has no id"))
        elif panel_id in seen:
            findings.append(([*path, "id"], f"duplicate panel id {panel_id} (also at {json_path(seen[panel_id])})"))
        else:
            seen[panel_id] = path
    return findings


def check_grid(document: dict[str, Any]) -> list[Finding]:
    """Inside the 24 columns, positive sizes, and no two panels on the same cell.

    The panels of a collapsed row are laid out as if the row were open, so they are checked among
    themselves, apart from the dashboard's top level."""
    findings: list[Finding] = []
    layers: list[list[tuple[dict[str, Any], list[str | int]]]] = [[]]
    for index, panel in enumerate(document.get("panels") or []):
        layers[0].append((panel, ["panels", index]))
        if panel.get("collapsed"):
            children = panel.get("panels") or []
            layers.append([(child, ["panels", index, "panels", i]) for i, child in enumerate(children)])
    for layer in layers:
        occupied: dict[tuple[int, int], list[str | int]] = {}
        for panel, path in layer:
            grid = panel.get("gridPos")
            if not isinstance(grid, dict) or not all(isinstance(grid.get(k), int) for k in "hwxy"):
                findings.append(([*path, "gridPos"], "missing or non-integer gridPos"))
                continue
            x, y, w, h = grid["x"], grid["y"], grid["w"], grid["h"]
            if w <= 0 or h <= 0 or x < 0 or y < 0:
                findings.append(([*path, "gridPos"], f"size and position must be positive (x={x} y={y} w={w} h={h})"))
                continue
            if x + w > GRID_COLUMNS:
                findings.append(([*path, "gridPos"], f"x+w = {x + w} runs past the {GRID_COLUMNS}-column grid"))
            for cell in ((cx, cy) for cx in range(x, min(x + w, GRID_COLUMNS)) for cy in range(y, y + h)):
                if cell in occupied:
                    other = occupied[cell]
                    findings.append(([*path, "gridPos"], f"overlaps the panel at {json_path(other)}"))
                    break
                occupied[cell] = path
    return findings


def check_conventions(document: dict[str, Any], waivers: Waivers = ()) -> list[Finding]:
    """What every panel of this project has: a title, a description and a unit, unless the project's
    lint-exclusions.yml excludes the panel from that rule, with a reason (obs.check.waivers)."""
    findings: list[Finding] = []
    if not document.get("title"):
        findings.append((["title"], "dashboard has no title"))
    if not document.get("uid"):
        findings.append((["uid"], "dashboard has no uid"))
    uid = str(document.get("uid") or "")
    for panel, path in panels_with_paths(document):
        title = str(panel.get("title") or "")

        def missing(rule: str, where: list[str | int], message: str, title: str = title) -> None:
            if not waived(waivers, rule, uid, title):
                findings.append((where, message))

        if not panel.get("title"):
            missing("panel-title", [*path, "title"], "panel has no title")
        if panel.get("type") == "row":
            continue
        if not panel.get("description"):
            missing("panel-description", [*path, "description"], "panel has no description")
        unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
        if panel.get("type") not in UNITLESS_PANEL_TYPES and not unit:
            missing("panel-units", [*path, "fieldConfig", "defaults", "unit"], "panel has no unit")
    return findings


def variable_samples(document: dict[str, Any]) -> dict[str, str]:
    """Values for the dashboard's own variables that keep a query well formed: a textbox's or constant's
    value, an interval variable's first option."""
    samples: dict[str, str] = {}
    for variable in (document.get("templating") or {}).get("list") or []:
        kind = variable.get("type")
        if kind in ("textbox", "constant", "custom") and isinstance(variable.get("query"), str):
            first = variable["query"].split(",")[0].strip()
            if first:
                samples[variable["name"]] = first
        elif kind == "interval" and isinstance(variable.get("query"), str):
            samples[variable["name"]] = variable["query"].split(",")[0].strip()
    return samples


def check_promql(document: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    samples = variable_samples(document)
    for panel, path in panels_with_paths(document):
        for index, target in enumerate(panel.get("targets") or []):
            if "expr" not in target:
                continue
            error = parse_error(str(target["expr"]), samples)
            if error:
                findings.append(([*path, "targets", index, "expr"], f"PromQL does not parse: {error}"))
    for index, annotation in enumerate((document.get("annotations") or {}).get("list") or []):
        # a Prometheus annotation's query: in `target` (prepareAnnotation moves it there), or `expr` before that
        datasource = annotation.get("datasource") if isinstance(annotation, dict) else None
        if not (isinstance(datasource, dict) and datasource.get("type") == "prometheus"):
            continue
        target = annotation.get("target") if isinstance(annotation.get("target"), dict) else {}
        for at, expr in ((["target", "expr"], target.get("expr")), (["expr"], annotation.get("expr"))):
            error = parse_error(str(expr), samples) if expr else None
            if error:
                findings.append((["annotations", "list", index, *at], f"PromQL does not parse: {error}"))
    for index, variable in enumerate((document.get("templating") or {}).get("list") or []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        error = variable_query_error(text, samples)
        if error:
            findings.append((["templating", "list", index, "query"], f"variable query does not parse: {error}"))
    return findings
