"""Fixtures: the repository, and throw-away copies of it to break on purpose.

The tests import the repository's content (catalog, dashboards...) by name, as obs itself does: from the
project they run in, never from an installed copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from obs.core.content import activate

from helpers import REPO, copy_project

activate(REPO)


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's content and compiled output, safe to break."""
    return copy_project(tmp_path / "project")


@pytest.fixture(autouse=True)
def repository_content():
    """Each test starts with the repository's content importable, whatever the one before built."""
    activate(REPO)
    yield


# What each pinned tool runs in the suite: where only Debian's older release (or nothing) is there, these ran on it
# or were skipped.
RUNS_ON = {
    "prometheus": "the e2e stacks' Prometheus (tests/e2e)",
    "promtool": "promtool check/test rules (obs validate, tests/content)",
    "alertmanager": "the e2e stacks' Alertmanager (tests/e2e, tests/content/test_routes.py)",
    "amtool": "amtool check-config and routes test (obs validate, tests/content)",
    "otelcol": "otelcol validate (obs validate, tests/check/test_collector.py), the Collector of the e2e stacks "
               "and tests/e2e/test_traces.py",
}


def pytest_terminal_summary(terminalreporter) -> None:
    """Once, at the end: which checks did not run on the pinned releases (where Go is absent, the fallbacks)."""
    from obs.check.tools import locate

    lines = []
    for name, what in RUNS_ON.items():
        found = locate(name)
        if found is None or not found.pinned:
            instead = f"ran on {found.path}" if found else "did not run"
            lines.append(f"{name} is not the pinned build: {what} {instead}")
    if lines:
        terminalreporter.write_sep("-", "not run on the pinned releases (build them: python3 scripts/build_tools.py)")
        for line in lines:
            terminalreporter.write_line(line)
