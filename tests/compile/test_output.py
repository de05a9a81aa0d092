"""Writing a build: the files keep the mode of the files they replace (readable by the containers that mount
them), an interrupted build leaves the old or the new set, and the next build cleans up after it."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from obs.compile import output
from obs.compile.output import JOURNAL, leftover_temp_files, recover, write_artifacts
from obs.compile.pipeline import build

from helpers import copy_project, edit

OBS = Path(sys.executable).with_name("obs")
GENERATED = ("monitoring", "docker-compose.yml")


def generated_digest(root: Path) -> dict[str, bytes]:
    files = sorted((root / "monitoring").rglob("*")) + [root / "docker-compose.yml"]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files if p.is_file() and not p.name.startswith(".")}


def change_thresholds(root: Path) -> None:
    """An edit that changes four compiled files: two rule files and two dashboards."""
    edit(root, "catalog/thresholds.py", "SUCCESS_RATE = Threshold(value=0.80", "SUCCESS_RATE = Threshold(value=0.85")
    edit(root, "catalog/thresholds.py", "HOST_CPU = Threshold(value=0.90", "HOST_CPU = Threshold(value=0.95")


def test_new_files_get_the_usual_mode_and_replaced_files_keep_theirs(tmp_path):
    root = copy_project(tmp_path / "p")
    rules = root / "monitoring/prometheus/rules/evaluations.yml"
    dashboard = root / "monitoring/grafana/dashboards/obs-system-overview.json"
    os.chmod(rules, 0o640)
    dashboard.unlink()
    old_umask = os.umask(0o022)
    try:
        change_thresholds(root)
        changes = write_artifacts(root, build(root))
    finally:
        os.umask(old_umask)
    assert {c.path for c in changes} >= {rules.relative_to(root).as_posix(), dashboard.relative_to(root).as_posix()}
    assert stat.S_IMODE(rules.stat().st_mode) == 0o640  # replaced: kept its mode
    assert stat.S_IMODE(dashboard.stat().st_mode) == 0o644  # new: 0666 under the umask, readable by uid 472


def test_a_crash_during_the_renames_is_completed_by_the_next_command(tmp_path, monkeypatch):
    root = copy_project(tmp_path / "p")
    change_thresholds(root)
    artifacts = build(root)
    expected = {a.path: a.text.encode() for a in artifacts}
    real_replace = os.replace
    done = []

    def crash_after_two(source, target):
        if len(done) == 2:
            raise KeyboardInterrupt("killed")
        done.append(target)
        real_replace(source, target)

    monkeypatch.setattr(output.os, "replace", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        write_artifacts(root, artifacts)
    monkeypatch.setattr(output.os, "replace", real_replace)
    assert (root / JOURNAL).is_file() and len(done) == 2
    assert recover(root) is True
    assert not (root / JOURNAL).exists() and leftover_temp_files(root) == []
    assert {path: (root / path).read_bytes() for path in expected} == expected


def test_leftover_temporary_files_are_removed(tmp_path):
    root = copy_project(tmp_path / "p")
    folder = root / "monitoring/grafana/dashboards"
    leftovers = [folder / ".bulk-058.json.k3j_x9q2", folder / ".obs-system-overview.json.obs-tmp-99-abcdef01",
                 root / ".docker-compose.yml.obs-tmp-12-00ff00ff"]
    for path in leftovers:
        path.write_text("")
    kept = folder / ".keep-me"
    kept.write_text("not ours")
    result = subprocess.run([str(OBS), "build"], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [p for p in leftovers if p.exists()] == [] and kept.exists()


def test_kill_at_random_moments_leaves_the_old_or_the_new_set(tmp_path):
    """20 builds killed with SIGKILL at random moments: each leaves the complete old set, the complete new set,
    or a committed journal; the next command then leaves the new set (or the old one) and no temporary file."""
    root = copy_project(tmp_path / "p")
    old = generated_digest(root)
    fresh = copy_project(tmp_path / "fresh")
    change_thresholds(fresh)
    subprocess.run([str(OBS), "build"], cwd=fresh, check=True, capture_output=True, timeout=120)
    new = generated_digest(fresh)
    assert old != new
    change_thresholds(root)
    rng = random.Random(20261201)
    outcomes = []
    for _ in range(20):
        for path, data in old.items():  # back to the old set
            (root / path).write_bytes(data)
        process = subprocess.Popen([str(OBS), "build"], cwd=root, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.9))
        process.send_signal(signal.SIGKILL)
        process.wait()
        state = generated_digest(root)
        journal = (root / JOURNAL).exists()
        assert state in (old, new) or journal, "a mixed set without a journal to complete it"
        outcomes.append("journal" if journal else "new" if state == new else "old")
        recover(root)
        after = generated_digest(root)
        assert after in (old, new) and (after == new or not journal)
        assert leftover_temp_files(root) == [] and not (root / JOURNAL).exists()
    assert "old" in outcomes and "new" in outcomes, outcomes  # the kills landed on both sides of the write
