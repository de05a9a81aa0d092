"""Checks on a dashboard schema v2 spec (`dashboard.grafana.app/v2`): Grafana's own schema, and what a schema
cannot say: every layout item names an element that exists, every element is placed exactly once, no two
elements are the same panel, and a panel's queries have distinct refIds.

Each check is a pure function from the spec to (JSON path, reason) findings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from obs.check.dashboard import schema_package
from obs.core import schemas
from obs.core.errors import Problem, json_path

SCHEMA_FILE = "dashboard-v2.schema.json"

Finding = schemas.Finding
Path = list[str | int]

# The schema's unions (anyOf) by the `kind` that picks the branch: checking a node against its own branch
# gives a precise message instead of "is not valid under any of the given schemas".
ELEMENT_DEFINITIONS = {"Panel": "PanelKind", "LibraryPanel": "LibraryPanelKind"}
LAYOUT_DEFINITIONS = {"GridLayout": "GridLayoutKind", "RowsLayout": "RowsLayoutKind",
                      "AutoGridLayout": "AutoGridLayoutKind", "TabsLayout": "TabsLayoutKind"}
VARIABLE_DEFINITIONS = {kind: f"{kind}Kind" for kind in (
    "QueryVariable", "TextVariable", "ConstantVariable", "DatasourceVariable", "IntervalVariable",
    "CustomVariable", "GroupByVariable", "AdhocVariable", "SwitchVariable")}
# A valid layout standing in for a nested one while its parent is checked (the nested one is checked alone).
EMPTY_LAYOUT = {"kind": "GridLayout", "spec": {"items": []}}


def check_dashboard_v2(spec: Any, file: str, uid: str | None = None) -> list[Problem]:
    """Every problem of a v2 spec, one line each, naming the file, the dashboard (its uid when given, else
    its title), the element or panel, and the JSON path into the spec."""
    if not isinstance(spec, dict):
        return [Problem(file, f"dashboard {uid!r}" if uid else "dashboard", "$", "spec must be a JSON object")]
    problems: list[Problem] = []
    for check in (check_v2_schema, check_v2_placement, check_v2_panel_ids, check_v2_ref_ids):
        problems += [Problem(file, describe_v2_object(spec, path, uid), json_path(path), reason)
                     for path, reason in check(spec)]
    return problems


def _validator(definition: str | None = None) -> schemas.Validator:
    validator = schemas.validator(f"{schema_package()}/{SCHEMA_FILE}", definition)
    assert validator is not None, f"dashboard schema v2 missing from the package ({schema_package()})"
    return validator


def _against(node: Any, definition: str | None, path: Path) -> list[Finding]:
    return [([*path, *at], message) for at, message in _validator(definition).findings(node)]


def _by_kind(node: Any, definitions: dict[str, str]) -> str | None:
    """The definition a union member's `kind` names, if it names one."""
    kind = node.get("kind") if isinstance(node, dict) else None
    return definitions.get(kind) if isinstance(kind, str) else None


def check_v2_schema(spec: dict[str, Any]) -> list[Finding]:
    """Grafana's v2 schema: the dashboard with its elements, layout and variables left out, then each of those
    against its own definition."""
    shallow = dict(spec)
    elements, layout, variables = spec.get("elements"), spec.get("layout"), spec.get("variables")
    if isinstance(elements, dict):
        shallow["elements"] = {}
    if _by_kind(layout, LAYOUT_DEFINITIONS):
        shallow["layout"] = EMPTY_LAYOUT
    if isinstance(variables, list):
        shallow["variables"] = []
    findings = _against(shallow, None, [])
    if isinstance(elements, dict):
        for name, element in elements.items():
            findings += _union_member(element, ELEMENT_DEFINITIONS, ["elements", name], "element")
    if _by_kind(layout, LAYOUT_DEFINITIONS):
        findings += _layout_schema(layout, ["layout"])
    if isinstance(variables, list):
        for index, variable in enumerate(variables):
            findings += _union_member(variable, VARIABLE_DEFINITIONS, ["variables", index], "variable")
    return findings


def _union_member(node: Any, definitions: dict[str, str], path: Path, what: str) -> list[Finding]:
    definition = _by_kind(node, definitions)
    if definition is None:
        kind = node.get("kind") if isinstance(node, dict) else None
        return [([*path, "kind"] if isinstance(node, dict) else path,
                 f"{what} kind must be one of {', '.join(definitions)}, got {kind!r}")]
    return _against(node, definition, path)


def _layout_schema(layout: Any, path: Path) -> list[Finding]:
    """A layout against its kind's definition, with nested layouts (in rows and tabs) checked one by one."""
    definition = _by_kind(layout, LAYOUT_DEFINITIONS)
    if definition is None:
        return _union_member(layout, LAYOUT_DEFINITIONS, path, "layout")
    children = list(_nested_layouts(layout, path))
    findings = _against(_replace_nested(layout) if children else layout, definition, path)
    for child, child_path in children:
        findings += _layout_schema(child, child_path)
    return findings


def _sections(layout: dict[str, Any]) -> tuple[str, list[Any]] | None:
    """The rows or tabs of a layout that holds other layouts."""
    spec = layout.get("spec") if isinstance(layout.get("spec"), dict) else {}
    for kind, key in (("RowsLayout", "rows"), ("TabsLayout", "tabs")):
        if layout.get("kind") == kind and isinstance(spec.get(key), list):
            return key, spec[key]
    return None


def _nested_layouts(layout: dict[str, Any], path: Path) -> Iterator[tuple[Any, Path]]:
    found = _sections(layout)
    if found is None:
        return
    key, sections = found
    for index, section in enumerate(sections):
        if isinstance(section, dict) and isinstance(section.get("spec"), dict) and "layout" in section["spec"]:
            yield section["spec"]["layout"], [*path, "spec", key, index, "spec", "layout"]


def _replace_nested(layout: dict[str, Any]) -> dict[str, Any]:
    key, sections = _sections(layout) or ("", [])
    replaced = [{**s, "spec": {**s["spec"], "layout": EMPTY_LAYOUT}}
                if isinstance(s, dict) and isinstance(s.get("spec"), dict) and "layout" in s["spec"] else s
                for s in sections]
    return {**layout, "spec": {**layout["spec"], key: replaced}}


def layout_references(layout: Any, path: Path) -> Iterator[tuple[str, Path]]:
    """Every element name the layout places, with the path of the placing item, in reading order."""
    if not isinstance(layout, dict):
        return
    spec = layout.get("spec") if isinstance(layout.get("spec"), dict) else {}
    if layout.get("kind") in ("GridLayout", "AutoGridLayout"):
        for index, item in enumerate(spec.get("items") or []):
            item_spec = item.get("spec") if isinstance(item, dict) else None
            element = item_spec.get("element") if isinstance(item_spec, dict) else None
            if isinstance(element, dict) and isinstance(element.get("name"), str):
                yield element["name"], [*path, "spec", "items", index]
    for child, child_path in _nested_layouts(layout, path):
        yield from layout_references(child, child_path)


def check_v2_placement(spec: dict[str, Any]) -> list[Finding]:
    """Each layout item names an element that exists; each element is placed exactly once."""
    elements = spec.get("elements") if isinstance(spec.get("elements"), dict) else {}
    findings: list[Finding] = []
    placed: dict[str, Path] = {}
    for name, item_path in layout_references(spec.get("layout"), ["layout"]):
        at = [*item_path, "spec", "element", "name"]
        if name not in elements:
            findings.append((at, f"names element {name!r}, which $.elements does not have"))
        elif name in placed:
            findings.append((at, f"places element {name!r} a second time (first at {json_path(placed[name])})"))
        else:
            placed[name] = item_path
    if _readable(spec.get("layout")):  # else the schema check says what is wrong with the layout
        findings += [(["elements", name], "element is not placed in the layout") for name in elements
                     if name not in placed]
    return findings


def _readable(layout: Any) -> bool:
    """Whether every layout in the tree is of a kind obs knows how to read items from."""
    if not isinstance(layout, dict) or layout.get("kind") not in LAYOUT_DEFINITIONS:
        return False
    return all(_readable(child) for child, _ in _nested_layouts(layout, []))


def check_v2_panel_ids(spec: dict[str, Any]) -> list[Finding]:
    """No two elements are the same panel: the v1 form, `viewPanel=` links and alerts know a panel by its id."""
    elements = spec.get("elements") if isinstance(spec.get("elements"), dict) else {}
    findings: list[Finding] = []
    seen: dict[Any, str] = {}
    for name, element in elements.items():
        panel_id = _element_spec(element).get("id")
        if panel_id is None:
            continue
        if panel_id in seen:
            findings.append((["elements", name, "spec", "id"], f"panel id {panel_id} is also element "
                                                               f"{seen[panel_id]!r}'s"))
        else:
            seen[panel_id] = name
    return findings


def check_v2_ref_ids(spec: dict[str, Any]) -> list[Finding]:
    """Each query of a panel has a refId of its own (transformations and expressions refer to them)."""
    elements = spec.get("elements") if isinstance(spec.get("elements"), dict) else {}
    findings: list[Finding] = []
    for name, element in elements.items():
        data = _element_spec(element).get("data")
        queries = ((data or {}).get("spec") or {}).get("queries") if isinstance(data, dict) else None
        if not isinstance(queries, list):
            continue
        seen: dict[str, int] = {}
        for index, query in enumerate(queries):
            query_spec = query.get("spec") if isinstance(query, dict) else None
            if not isinstance(query_spec, dict):
                continue
            ref_id = query_spec.get("refId")
            at: Path = ["elements", name, "spec", "data", "spec", "queries", index, "spec", "refId"]
            if not isinstance(ref_id, str) or not ref_id:
                findings.append((at, "query has no refId"))
            elif ref_id in seen:
                findings.append((at, f"refId {ref_id!r} is also query {seen[ref_id]}'s"))
            else:
                seen[ref_id] = index
    return findings


def _element_spec(element: Any) -> dict[str, Any]:
    spec = element.get("spec") if isinstance(element, dict) else None
    return spec if isinstance(spec, dict) else {}


def describe_v2_object(spec: dict[str, Any], path: Path, uid: str | None = None) -> str:
    """The dashboard and, when the path is inside one, the element (and its panel) or the variable."""
    name = f"dashboard {uid or spec.get('title') or '?'!r}"
    element_name: Any = None
    if len(path) >= 2 and path[0] == "elements":
        element_name = path[1]
    elif path[:1] == ["layout"]:
        element_name = _placed_element(spec, path)
    if element_name is not None:
        name += f" element {element_name!r}"
        element = (spec.get("elements") or {}).get(element_name) if isinstance(spec.get("elements"), dict) else None
        element_spec = _element_spec(element)
        if element_spec:
            name += f" panel {element_spec.get('title', '')!r} (id {element_spec.get('id', '?')})"
    elif len(path) >= 2 and path[0] == "variables" and isinstance(path[1], int):
        variables = spec.get("variables") if isinstance(spec.get("variables"), list) else []
        if path[1] < len(variables):
            variable_name = _element_spec(variables[path[1]]).get("name")
            if variable_name:
                name += f" variable {variable_name!r}"
    return name


def _placed_element(spec: dict[str, Any], path: Path) -> str | None:
    """The element named by the layout item a path points into."""
    for name, item_path in layout_references(spec.get("layout"), ["layout"]):
        if path[:len(item_path)] == item_path:
            return name
    return None
