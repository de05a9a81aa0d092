"""Small pure pieces: variable substitution and PromQL parsing, series extraction, grid layout."""

from __future__ import annotations

import grafanalib.core as G
import pytest

from catalog.thresholds import Threshold
from obs.author.layout import layout, section
from obs.author.panels import stat, steps_for, target
from obs.check.promql import parse_error, series_uses, substitute, variable_query_error


@pytest.mark.parametrize("expr, expected", [
    ("rate(x[$__rate_interval])", "rate(x[1m])"),
    ("rate(x[${__rate_interval}])", "rate(x[1m])"),
    ('x{job=~"$job"}', 'x{job=~"1"}'),
    ('x{job=~"${job:regex}"}', 'x{job=~"1"}'),
    ("x * [[price]]", "x * 3"),
    ("increase(x[$__range])", "increase(x[6h])"),
])
def test_substitute(expr, expected):
    assert substitute(expr, {"price": "3"}) == expected


def test_parse_error_is_none_for_valid_promql_with_variables():
    assert parse_error('histogram_quantile(0.95, sum by (le) (rate(h_bucket{job=~"$job"}[$__rate_interval])))') is None


@pytest.mark.parametrize("expr", ["sum(rate(x[5m])", "rate(x[5m]) +", "x{job=}", ""])
def test_parse_error_reports_invalid_promql(expr):
    assert parse_error(expr)


def test_variable_queries():
    assert variable_query_error("label_values(up{job=\"node\"}, instance)") is None
    assert variable_query_error("label_values(instance)") is None
    assert variable_query_error("query_result(topk(5, up))") is None
    assert variable_query_error("label_values(up{job=}, instance)")


def test_series_uses_knows_which_function_consumes_a_range():
    uses = series_uses("sum(rate(a_total[5m])) / on() b + resets(c_total[1h])")
    assert [(u.name, u.function, u.range) for u in uses] == [
        ("a_total", "rate", "5m"), ("b", None, None), ("c_total", "resets", "1h")]


def test_layout_flows_and_wraps_rows():
    panels = [stat(f"p{i}", [target("up")], description="d", unit="none") for i in range(3)]
    placed = layout(section("Row", [(panels[0], 12), (panels[1], 12), (panels[2], 8)], height=4))
    grids = [(p.title, p.gridPos.x, p.gridPos.y, p.gridPos.w, p.gridPos.h) for p in placed]
    assert grids == [("Row", 0, 0, 24, 1), ("p0", 0, 1, 12, 4), ("p1", 12, 1, 12, 4), ("p2", 0, 5, 8, 4)]


def test_layout_places_the_next_section_below_the_last_row():
    a, b = (stat(n, [target("up")], description="d", unit="none") for n in "ab")
    placed = layout(section(None, [(a, 24)], height=3), section("Next", [(b, 6)]))
    assert [(p.title, p.gridPos.y) for p in placed] == [("a", 0), ("Next", 3), ("b", 4)]


def test_collapsed_section_keeps_its_panels_inside_the_row():
    a = stat("a", [target("up")], description="d", unit="none")
    [row] = layout(section("Hidden", [(a, 6)], collapsed=True))
    assert isinstance(row, G.RowPanel) and row.panels == [a]


def test_layout_rejects_a_width_outside_the_grid():
    with pytest.raises(ValueError, match="width 30"):
        layout(section(None, [(stat("a", [target("up")], description="d", unit="none"), 30)]))


def test_threshold_steps():
    above = Threshold(value=0.9, warn=0.75, bad_when="above", for_="5m", severity="warning")
    below = Threshold(value=0.8, warn=0.9, bad_when="below", for_="5m", severity="warning")
    assert [s["value"] for s in steps_for(above)] == [None, 0.75, 0.9]
    assert [s["color"] for s in steps_for(below)] == ["red", "orange", "green"]
    with pytest.raises(ValueError):
        Threshold(value=0.9, warn=0.95, bad_when="above", for_="5m", severity="warning")


def test_panel_ids_follow_the_panel_not_its_position():
    from obs.compile.dashboard_json import compile_dashboard

    def ids(*titles: str) -> list[tuple[str, int]]:
        panels = [(stat(title, [target("up")], description="d", unit="none"), 6) for title in titles]
        document = compile_dashboard(G.Dashboard(title="t", uid="t", panels=layout(section(None, panels))))
        return [(p["title"], p["id"]) for p in document["panels"]]

    assert dict(ids("A", "B", "C")) == dict(ids("C", "A", "B"))
    assert dict(ids("A", "B"))["A"] == dict(ids("B", "C", "A"))["A"]
    twins = [panel_id for _, panel_id in ids("Same", "Same", "Other")]
    assert len(set(twins)) == 3
