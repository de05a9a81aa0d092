"""Grafana's dashboard model as the build checks it: where the v1 types disagree with what Grafana saves, the
check follows Grafana (scripts/generate_grafana_schema.py correct_dashboard)."""

from __future__ import annotations

import copy
import json

import pytest

from obs.check.dashboard import check_schema
from obs.core.paths import dashboard_file

from helpers import REPO

SYSTEM_OVERVIEW = "obs-system-overview"


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads((REPO / dashboard_file(SYSTEM_OVERVIEW)).read_text())


def with_panel_links(dashboard: dict, links: list) -> dict:
    document = copy.deepcopy(dashboard)
    document["panels"][1]["links"] = links
    return document


def test_a_panel_link_as_grafana_saves_it_is_valid(dashboard):
    """The panel-links editor and DashboardMigrator's upgradePanelLink write {title, url, targetBlank}."""
    links = [{"title": "Runbook", "url": "https://wiki.example/runbook", "targetBlank": True},
             {"title": "Logs", "url": "/explore?left=x"}]
    assert check_schema(with_panel_links(dashboard, links)) == []


def test_a_panel_link_without_its_url_is_refused(dashboard):
    findings = check_schema(with_panel_links(dashboard, [{"title": "Runbook"}]))
    assert findings == [(["panels", 1, "links", 0], "'url' is a required property")]


def test_a_panel_link_with_a_wrong_type_is_refused(dashboard):
    findings = check_schema(with_panel_links(dashboard, [{"title": "Runbook", "url": "/x", "targetBlank": "yes"}]))
    assert findings == [(["panels", 1, "links", 0, "targetBlank"], "'yes' is not of type 'boolean'")]
