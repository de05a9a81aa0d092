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
