"""Writing a build to disk: what differs from the files there, and replacing them as one set.

A build replaces many files, and POSIX renames one file at a time. So the new files are first written beside
their targets as temporary files (flushed to disk, with the mode of the file each replaces); then a journal
listing the renames is committed with one atomic rename; then the renames run; then the journal goes. A build
killed before the journal exists leaves the old set intact, and one killed after it leaves a journal that the
next build (or `obs validate`, `obs lint`) completes, so the set becomes the new one. What remains possible:
a reader that opens the files during the renames themselves (milliseconds) can see some old and some new
files, and a kill in that window leaves them mixed until the next obs command. Temporary files of an
interrupted build are removed by the next one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from obs.core.artifacts import Artifact
from obs.core.fs import fsync_directory, is_temp, stage_bytes, write_text_atomic
from obs.core.paths import GENERATED_DIRS, MONITORING_DIR

JOURNAL = ".obs-build-journal.json"
# Temporary files of builds before the journal (NamedTemporaryFile with the target's name as prefix).
LEGACY_TEMP = re.compile(r"^\.[^/]+\.(json|ya?ml)\.[a-z0-9_]{8}$")


@dataclass(frozen=True)
class Difference:
    path: str
    change: str  # "modified", "missing" (would be created) or "stale" (would be removed)


def differences(root: Path, artifacts: list[Artifact]) -> list[Difference]:
    out: list[Difference] = []
    produced = {a.path for a in artifacts}
    for artifact in artifacts:
        target = root / artifact.path
        if not target.exists():
            out.append(Difference(artifact.path, "missing"))
        elif target.read_bytes() != artifact.text.encode("utf-8"):
            out.append(Difference(artifact.path, "modified"))
    for stale in stale_files(root, produced):
        out.append(Difference(stale, "stale"))
    return sorted(out, key=lambda d: d.path)


def stale_files(root: Path, produced: set[str]) -> list[str]:
    stale = []
    for directory, pattern in GENERATED_DIRS:
        for path in sorted((root / directory).glob(pattern)):
            relative = path.relative_to(root).as_posix()
            if relative not in produced:
                stale.append(relative)
    return stale


def write_artifacts(root: Path, artifacts: list[Artifact]) -> list[Difference]:
    """Make the files on disk the artifacts, as one set; returns what changed."""
    recover(root)
    changes = differences(root, artifacts)
    if not changes:
        return []
    by_path = {a.path: a for a in artifacts}
    replace: list[list[str]] = []
    try:
        for change in changes:
            if change.change != "stale":
                temp = stage_bytes(root / change.path, by_path[change.path].text.encode("utf-8"))
                replace.append([temp.relative_to(root).as_posix(), change.path])
    except BaseException:
        for temp, _ in replace:
            with contextlib.suppress(OSError):
                (root / temp).unlink()
        raise
    journal = {"replace": replace, "remove": [c.path for c in changes if c.change == "stale"]}
    write_text_atomic(root / JOURNAL, json.dumps(journal, indent=1) + "\n")
    fsync_directory(root)
    _apply(root, journal)
    return changes


def _apply(root: Path, journal: dict) -> None:
    """Carry out a committed journal; safe to repeat (a rename already done has no temporary file left)."""
    directories = set()
    for temp, target in journal.get("replace", []):
        if (root / temp).exists():
            os.replace(root / temp, root / target)
        directories.add((root / target).parent)
    for stale in journal.get("remove", []):
        with contextlib.suppress(FileNotFoundError):
            (root / stale).unlink()
        directories.add((root / stale).parent)
    for directory in directories:
        fsync_directory(directory)
    (root / JOURNAL).unlink(missing_ok=True)
    fsync_directory(root)


def recover(root: Path) -> bool:
    """Complete a build that was interrupted after committing its journal, and remove the temporary files of
    any interrupted build. Returns whether a journal was completed."""
    completed = False
    journal_file = root / JOURNAL
    if journal_file.is_file():
        try:
            journal = json.loads(journal_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            journal = None  # not ours or damaged by hand: the files stay as they are
        if isinstance(journal, dict):
            _apply(root, journal)
            completed = True
        else:
            journal_file.unlink(missing_ok=True)
    for leftover in leftover_temp_files(root):
        with contextlib.suppress(OSError):
            leftover.unlink()
    return completed


def leftover_temp_files(root: Path) -> list[Path]:
    """Temporary files of interrupted writes in the folders the build writes to."""
    folders = [root] + ([root / MONITORING_DIR] if (root / MONITORING_DIR).is_dir() else [])
    candidates = list(root.iterdir()) if root.is_dir() else []
    if len(folders) > 1:
        candidates += (root / MONITORING_DIR).rglob(".*")
    return sorted(p for p in candidates if p.is_file() and (is_temp(p) or LEGACY_TEMP.match(p.name)))
