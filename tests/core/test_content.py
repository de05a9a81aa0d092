"""Importing content: from the active project only, fresh for each build, cached by the source's hash."""

from __future__ import annotations

import os

from obs.compile.pipeline import build
from obs.core.content import activate, import_package

from helpers import copy_project, edit


def rules_text(artifacts) -> str:
    return next(a.text for a in artifacts if a.path.endswith("rules/evaluations.yml"))


def test_an_edit_of_the_same_size_in_the_same_second_is_seen(tmp_path):
    """A bytecode cache keyed by modification time (to the second) and size would serve the old code."""
    root = copy_project(tmp_path / "p")
    first = build(root)
    thresholds = root / "catalog/thresholds.py"
    stat = thresholds.stat()
    edit(root, "catalog/thresholds.py", "Threshold(value=0.80", "Threshold(value=0.85")
    os.utime(thresholds, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime, same size
    second = build(root)
    assert "< 0.8)" in rules_text(first) and "< 0.85)" in rules_text(second)


def test_content_of_another_project_is_forgotten(tmp_path):
    one, two = copy_project(tmp_path / "one"), copy_project(tmp_path / "two")
    edit(two, "catalog/thresholds.py", "Threshold(value=0.80", "Threshold(value=0.85")
    assert "< 0.8)" in rules_text(build(one))
    assert "< 0.85)" in rules_text(build(two))
    assert "< 0.8)" in rules_text(build(one))


def test_a_private_module_is_not_content(tmp_path):
    root = copy_project(tmp_path / "p")
    activate(root)
    problems = []
    sources = [source for source, _ in import_package(root, "alerts", problems)]
    assert "alerts/_common.py" not in sources and "alerts/evaluations.py" in sources and problems == []
