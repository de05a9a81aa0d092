"""Backups of what a push is about to overwrite or delete: the object exactly as Grafana returned it (on /apis
the Kubernetes object, with its apiVersion and its folder annotation; on /api the answer with its meta), one
file per object and version, never written twice, never written over."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, NamedTuple

from obs.core.fs import write_bytes_atomic


def backup_name(kind: str, uid: str, version: int | str | None, obj: Any) -> str:
    """`<uid>-v<version>.json` (datasources: `datasource-<uid>-v<version>.json`); an object without a version
    is named by the hash of its content."""
    if version in (None, ""):
        digest = hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]
        stem = f"{uid}-sha256-{digest}"
    else:
        stem = f"{uid}-v{version}"
    return f"{'datasource-' if kind == 'datasource' else ''}{stem}.json"


class Backup(NamedTuple):
    path: Path
    written: bool  # by this call; False when the same backup was already there


def write_backup(directory: Path, kind: str, uid: str, version: int | str | None, obj: Any) -> Backup:
    """The backup file of this object at this version: written now, or kept as it is if an earlier push (or an
    earlier attempt of this one) already wrote the same object. A different object under the same uid and version
    (deleted and created again, so its generation restarted) goes beside it, named by its content, never over it.
    Raises OSError when it cannot be written."""
    data = (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    target = directory / backup_name(kind, uid, version, obj)
    existing = target.read_bytes() if target.is_file() else None
    if existing == data:
        return Backup(target, written=False)
    if existing is not None:
        target = target.with_name(f"{target.stem}-sha256-{hashlib.sha256(data).hexdigest()[:16]}.json")
        if target.is_file():  # named by its content: this very object
            return Backup(target, written=False)
    write_bytes_atomic(target, data)
    return Backup(target, written=True)
