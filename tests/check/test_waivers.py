"""The build's panel conventions (a title, a description and a unit on every panel) honour the exclusions of
the same rules in lint-exclusions.yml, with a reason; `obs validate` checks the files on disk the same way."""

from __future__ import annotations

from helpers import failing_build, run_obs

NO_DESCRIPTION = "\nrestarts_table.extraJson['description'] = ''\n"  # the 'Restarts by container' panel


def exclude(project, entry: str) -> None:
    (project / "lint-exclusions.yml").write_text("exclusions:\n" + entry)


def test_an_excluded_panel_without_a_description_builds_and_validates(project):
    module = project / "dashboards/container_overview.py"
    module.write_text(module.read_text() + NO_DESCRIPTION)
    exclude(project, "  - rule: panel-description\n    dashboard: obs-container-overview\n"
                     "    panel: Restarts by container\n    reason: brought in from Grafana without one\n")
    built = run_obs("build", "--root", str(project))
    assert built.exit_code == 0, built.output
    assert run_obs("validate", "--root", str(project)).exit_code == 0
    lint = run_obs("lint", "--root", str(project), "--rule", "panel-description")
    assert lint.exit_code == 0 and lint.stdout.strip() == "0 findings, 1 excluded"


def test_an_exclusion_without_a_reason_or_of_another_panel_excludes_nothing(project):
    module = project / "dashboards/container_overview.py"
    module.write_text(module.read_text() + NO_DESCRIPTION)
    dashboard = "    dashboard: obs-container-overview\n"
    for entry in (f"  - rule: panel-description\n{dashboard}    panel: Restarts by container\n",
                  f"  - rule: panel-description\n{dashboard}    panel: Containers\n    reason: another panel\n",
                  f"  - rule: panel-units\n{dashboard}    reason: another rule\n"):
        exclude(project, entry)
        [line] = failing_build(project)
        assert "panel 'Restarts by container'" in line and line.endswith("description: panel has no description")
