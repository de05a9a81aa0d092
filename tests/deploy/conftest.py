"""What the push tests share: the repository's content built once per module, a tmp_path that is an obs
project, and retries that do not wait."""

from __future__ import annotations

import copy

import pytest

from obs.deploy import client as grafana_api
from obs.deploy import desired
from obs.deploy.desired import Desired

from helpers import REPO


@pytest.fixture(scope="module")
def compiled() -> Desired:
    return desired.desired_state(REPO)


@pytest.fixture(autouse=True)
def project_marker(tmp_path):
    """tmp_path is an (empty) obs project, so a push can run from it."""
    (tmp_path / "pyproject.toml").write_text("[tool.obs]\n")


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(grafana_api, "DEFAULT_BACKOFF", 0.01)


@pytest.fixture
def cached_build(monkeypatch, compiled):
    """The repository's content, built once per module (each real build takes most of a second)."""
    monkeypatch.setattr(desired, "desired_state", lambda root: copy.deepcopy(compiled))
