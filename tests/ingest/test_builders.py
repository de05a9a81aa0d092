"""Dashboards the project did not write come in through the project's builders and variable helpers wherever
those give the same panel or variable, and a pass-through says which setting they do not write.

`$datasource`, `${datasource}` and `[[datasource]]` are one reference to the variable in Grafana (template_srv.ts,
variableRegex), so they are one to `obs import` too. Which panels of the Grafana 7.5 export can be builders is
read off the export itself, against what the builders of obs/author/panels.py can write."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from obs.ingest.datasources import plain_variable, same_reference, variable_reference

from helpers import copy_project, run_obs
from ingest.helpers_ingest import compiled, expected_document, load, semantic_changes

GRAFANA7 = "gateway-grafana7.json"
UID = "gateway-ops"
MODULE = "dashboards/api_gateway_ops.py"
BUILDER_TYPES = {"stat": "stat", "graph": "timeseries", "table": "table"}  # the export's type -> the builder's


def export_panels(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for top in document["panels"] for p in (top, *(top.get("panels") or [])) if p["type"] != "row"]


def blockers(panel: dict[str, Any]) -> list[str]:
    """What a Grafana 7.5 panel has that its builder has no keyword for (obs/author/panels.py): target() writes an
    instant query in table format and an empty legend as "__auto" (the same only for a result without labels);
    stat() writes no min or max; timeseries() writes a table legend; table() writes Grafana's cell display, no
    sort and no overrides."""
    found = []
    defaults = panel["fieldConfig"]["defaults"]
    for target in panel["targets"]:
        if target.get("instant") and target.get("format") != "table":
            found.append("an instant query in time-series format")
        if not target.get("legendFormat") and re.search(r"\bby\s*\(", target["expr"]):
            found.append("no legend on a query whose result has labels")
    if panel["type"] == "stat" and ("min" in defaults or "max" in defaults):
        found.append("a min or max")
    if panel["type"] == "graph" and not panel["legend"].get("alignAsTable"):
        found.append("a legend that is a list")
    if panel["type"] == "table" and (defaults["custom"].get("displayMode") not in (None, "auto")
                                     or panel["fieldConfig"]["overrides"] or panel["options"].get("sortBy")):
        found.append("cells, sorting or overrides of its own")
    return found


def candidates(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The panels a Grafana user expects as builders: a stat, graph or table on the datasource variable."""
    return [p for p in export_panels(document) if p["type"] in BUILDER_TYPES and p.get("datasource") == "$datasource"]


def respell(document: Any, spelling: str) -> Any:
    """The document with every reference to the datasource variable written `spelling`."""
    if document == "$datasource":
        return spelling
    if isinstance(document, dict):
        return {key: respell(value, spelling) for key, value in document.items()}
    if isinstance(document, list):
        return [respell(value, spelling) for value in document]
    return document


def import_and_build(project: Path, document: dict[str, Any], name: str = GRAFANA7):
    path = project / name
    path.write_text(json.dumps(document))
    imported = run_obs("import", "--root", str(project), str(path))
    assert imported.exit_code == 0, imported.output
    built = run_obs("build", "--root", str(project))
    assert built.exit_code == 0, built.output
    return imported, (project / MODULE).read_text()


def pass_through(source: str) -> dict[str, str]:
    """The module docstring's "Kept as Grafana had it" list: panel or variable title -> why."""
    docstring = source.split('"""')[1]
    kept = re.sub(r"\n  ", " ", docstring.split("Kept as Grafana had it")[1])
    return dict(re.findall(r"^- (?:panel|variable) '([^']+)'(?: \(id \d+\))?: (.*)$", kept, re.MULTILINE))


@pytest.fixture(scope="module")
def grafana7(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("grafana7") / "project")
    imported, source = import_and_build(project, load(GRAFANA7))
    return project, imported, source


def test_the_panels_the_builders_can_write_are_builders(grafana7):
    _, imported, source = grafana7
    export = load(GRAFANA7)
    expected = [p["title"] for p in candidates(export) if not blockers(p)]
    assert expected, "the export has a panel the builders write as it is"
    total = len(export_panels(export))
    assert (f"dashboard 'gateway-ops' 'API Gateway (ops)', {total} panels ({len(expected)} with builders, "
            f"{total - len(expected)} pass-through)") in imported.stdout
    kept = pass_through(source)
    for panel in candidates(export):
        builder = BUILDER_TYPES[panel["type"]]
        written = re.search(rf'\b{builder}\(\s*"{re.escape(panel["title"])}"', source)
        if panel["title"] in expected:
            assert written and panel["title"] not in kept, panel["title"]
        else:
            # Kept, and for a setting its builder does not write, no longer for the spelling of the variable.
            assert not written
            assert kept[panel["title"]].startswith(f"a {builder} panel with settings the {builder}() builder does not "
                                                   "write: "), kept[panel["title"]]


def test_a_builder_panel_uses_the_catalog_and_says_what_was_adapted(grafana7):
    project, _, source = grafana7
    notes = source.split('"""')[1].replace("\n  ", " ")
    assert re.search(r'stat\(\s*"Evaluations per second",\s*\[target\(q\.sum_rate\(m\.EVALUATIONS, JOB\), '
                     r'exemplar=True\)\]', source)
    assert "- datasource '$datasource' written '${datasource}', as the project writes it" in notes
    assert "editorMode set, range set, instant set, interval '' dropped, legendFormat '' written '__auto'" in notes
    panel = next(p for p in compiled(project, UID)["panels"] if p["title"] == "Evaluations per second")
    assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert panel["targets"][0]["legendFormat"] == "__auto" and panel["targets"][0]["range"] is True


def test_the_reasons_name_the_settings_from_the_export(grafana7):
    """Each pass-through names the setting of the export that its builder does not write."""
    _, _, source = grafana7
    kept = pass_through(source)
    assert "fieldConfig.defaults.max 1 (the builder writes none)" in kept["Failure ratio"]
    assert 'targets[0].format none (the builder writes "table")' in kept["Gateway up"]
    assert 'fieldConfig.defaults.custom.cellOptions.type "color-background"' in kept["Failures by error type"]


@pytest.mark.parametrize("spelling", ["${datasource}", "[[datasource]]"])
def test_every_spelling_of_the_variable_is_the_same_import(grafana7, tmp_path, spelling):
    """The export with `$datasource` written another way builds to the same dashboard, with the same builders."""
    project, imported, _ = grafana7
    other = copy_project(tmp_path / "project")
    document = respell(load(GRAFANA7), spelling)
    assert spelling in json.dumps(document) and '"$datasource"' not in json.dumps(document)
    again, source = import_and_build(other, document)
    counts = re.compile(r"\d+ panels \(\d+ with builders, \d+ pass-through\)")
    assert counts.search(again.stdout).group() == counts.search(imported.stdout).group()
    assert semantic_changes(compiled(project, UID), compiled(other, UID)) == []
    assert compiled(other, UID) == compiled(project, UID) == expected_document(other, other / GRAFANA7)
    notes = source.split('"""')[1].replace("\n  ", " ")
    assert f"- datasource '{spelling}' written '${{datasource}}'" in notes or spelling == "${datasource}"


def test_the_variable_helper_where_the_variable_is_the_projects(grafana7, tmp_path):
    """The export's datasource variable differs from datasource_variable() in its current value (a name) and its
    description (none): kept, saying so. With those of the project's, it is written with the helper."""
    _, _, source = grafana7
    kept = pass_through(source)
    assert 'current.text "Prometheus" (the helper writes "obs-prometheus")' in kept["datasource"]
    assert "datasource_variable(" not in source
    document = load(GRAFANA7)
    variable = document["templating"]["list"][0]
    assert (variable["type"], variable["name"], variable["query"]) == ("datasource", "datasource", "prometheus")
    variable.update(description="The Prometheus every panel queries.",
                    current={"selected": False, "text": "obs-prometheus", "value": "obs-prometheus"})
    project = copy_project(tmp_path / "project")
    _, source = import_and_build(project, respell(document, "[[datasource]]"))
    assert "datasource_variable()," in source and "datasource" not in pass_through(source)
    assert compiled(project, UID) == expected_document(project, project / GRAFANA7)


def test_the_spellings_of_a_variable():
    """Grafana's variableRegex: $name, [[name]], [[name:format]], ${name}, ${name.field}, ${name:format}."""
    assert [variable_reference(t) for t in ("$ds", "[[ds]]", "[[ds:text]]", "${ds}", "${ds.uid}", "${ds:raw}")] == \
        ["ds"] * 6
    assert [plain_variable(t) for t in ("$ds", "[[ds]]", "${ds}", "[[ds:text]]", "${ds.uid}", "${ds:raw}")] == \
        ["ds", "ds", "ds", None, None, None]
    assert variable_reference("$ds-prod") is None and variable_reference("prefix $ds") is None
    assert variable_reference("obs-prometheus") is None and plain_variable(None) is None
    ref = {"type": "prometheus", "uid": "${datasource}"}
    assert same_reference({"type": "prometheus", "uid": "$datasource"}, ref)
    assert same_reference({"type": "prometheus", "uid": "[[datasource]]"}, ref)
    assert not same_reference({"type": "prometheus", "uid": "${datasource:text}"}, ref)
    assert not same_reference({"type": "loki", "uid": "$datasource"}, ref)
    assert not same_reference({"type": "prometheus", "uid": "$other"}, ref)
    assert not same_reference({"uid": "$datasource"}, ref)


def test_the_grafana7_fixture_is_what_the_tests_read():
    """The predicate above reads the export as it is: a guard against the fixture changing under it."""
    export = load(GRAFANA7)
    assert {p["title"]: blockers(p) for p in candidates(export)} == {
        "Evaluations per second": [],
        "Failure ratio": ["a min or max"],
        "Gateway up": ["an instant query in time-series format"],
        "Outcomes": ["a legend that is a list"],
        "Failures by error type": ["no legend on a query whose result has labels", "cells, sorting or overrides of "
                                   "its own"],
    }
