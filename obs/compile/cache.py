"""Reusing the last build when none of its inputs changed.

A build is a pure function of its inputs: the project's content (every file of its content packages, its
pyproject.toml and its lint-exclusions.yml, whose panel-convention exclusions the build honours), the toolkit
(every file of the obs package, schemas included), the libraries the build runs (grafanalib, attrs, PyYAML
with or without libyaml, promql-parser, fastjsonschema, jsonschema) and the Python version (DEVELOPERS.md:
generated output is deterministic). So `obs build` hashes those, and when a build
with that key succeeded before, takes its artifacts instead of building again: no content is imported and no
check runs, because the same inputs were built and checked into the same artifacts. Only successful builds
are kept; a cache entry that does not match its recorded hash is ignored. `obs build --no-cache` builds anyway.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path

from obs.core.artifacts import Artifact
from obs.core.fs import read_checked, write_checked
from obs.core.paths import LINT_EXCLUSIONS_FILE
from obs.core.project import CONTENT_PACKAGES, MARKER_FILE
from obs.core.schemas import cache_dir

CACHE_FORMAT = "obs-build-1"
TOOLKIT = Path(__file__).resolve().parents[1]
LIBRARIES = ("grafanalib", "attrs", "PyYAML", "promql-parser", "fastjsonschema", "jsonschema")


def inputs_key(root: Path) -> str:
    """The hash of everything a build of `root` reads."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("format", f"{CACHE_FORMAT} {sys.implementation.cache_tag} {sys.version}".encode())
    for library in LIBRARIES:
        try:
            add(f"library {library}", metadata.version(library).encode())
        except metadata.PackageNotFoundError:
            add(f"library {library}", b"missing")
    import yaml  # cheap, and whether libyaml is there changes nothing, but says so in the key

    add("libyaml", str(getattr(yaml, "__with_libyaml__", False)).encode())
    for path in _files(TOOLKIT):
        add(f"toolkit {path.relative_to(TOOLKIT).as_posix()}", path.read_bytes())
    marker = root / MARKER_FILE
    add("project marker", marker.read_bytes() if marker.is_file() else b"")
    # The build's panel-convention checks honour its exclusions (obs.check.waivers).
    exclusions = root / LINT_EXCLUSIONS_FILE
    add("exclusions", exclusions.read_bytes() if exclusions.is_file() else b"")
    for package in CONTENT_PACKAGES:
        folder = root / package
        for path in _files(folder) if folder.is_dir() else []:
            add(f"content {path.relative_to(root).as_posix()}", path.read_bytes())
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix not in (".pyc", ".pyo"))


def _entry(key: str) -> Path:
    return cache_dir() / "builds" / f"{key}.json"


def load(key: str) -> list[Artifact] | None:
    """The artifacts of the build with `key`, or None when there is none that can be trusted."""
    payload = read_checked(_entry(key))
    if payload is None:
        return None
    try:
        entries = json.loads(payload)
        return [Artifact(path, text, source) for path, text, source in entries]
    except (ValueError, TypeError):
        return None


def store(key: str, artifacts: list[Artifact]) -> None:
    write_checked(_entry(key), json.dumps([[a.path, a.text, a.source] for a in artifacts], ensure_ascii=False).encode())
