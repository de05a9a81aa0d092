"""Comparing what Grafana holds with what the code compiles to: equal but for what Grafana sets on save, the
content hash an obs save records, and what differs, as a reviewer reads it."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from obs.core.paths import dashboard_file
from obs.diff import diff_documents
from obs.diff.render import render_text
from obs.diff.values import deep_changes, fmt

# Fields Grafana sets on save (pkg/services/dashboards: id, version; `uid` is ours and stable).
SERVER_FIELDS = ("id", "version")
# Not in a /apis spec at all (the admission hook strips them; the uid is metadata.name): never compared
IDENTITY_FIELDS = ("id", "uid", "version")
# Every obs save carries this version message, with the hash of the JSON it saved.
MESSAGE_PREFIX = "obs push"
MARKER = re.compile(r"^obs push\b.*\bcontent=sha256:([0-9a-f]{16})\b")
# Datasource fields the code owns; compared and sent. Others found in Grafana are kept on update.
DATASOURCE_FIELDS = ("name", "type", "access", "url", "isDefault", "jsonData")


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # Grafana (Go) writes 5.0 as 5
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def normalise(document: dict[str, Any]) -> dict[str, Any]:
    """The dashboard without what Grafana sets on save."""
    return _canonical({k: v for k, v in document.items() if k not in SERVER_FIELDS})


def content_hash(document: dict[str, Any]) -> str:
    text = json.dumps(normalise(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def same_dashboard(live: dict[str, Any], compiled: dict[str, Any]) -> bool:
    """Equal but for the fields Grafana sets or keeps outside the spec. Python's == already treats 5 and 5.0
    alike, and runs in C: no copy."""
    return ({k: v for k, v in live.items() if k not in IDENTITY_FIELDS}
            == {k: v for k, v in compiled.items() if k not in IDENTITY_FIELDS})


def datasource_fields(datasource: dict[str, Any]) -> dict[str, Any]:
    fields = {k: datasource.get(k) for k in DATASOURCE_FIELDS}
    fields["jsonData"] = fields["jsonData"] or {}
    return _canonical(fields)


def datasource_changes(live: dict[str, Any], body: dict[str, Any]) -> list[str]:
    return [f"{path}: {fmt(old)} -> {fmt(new)}"
            for path, old, new in deep_changes(datasource_fields(live), datasource_fields(body))]


def dashboard_change_lines(live: dict[str, Any], compiled: dict[str, Any]) -> list[str]:
    """Per-panel changes a push makes (obs.diff, as `obs diff` shows them), without heading."""
    path = dashboard_file(str(compiled.get("uid")))
    report = diff_documents({path: normalise(live)}, {path: normalise(compiled)})
    lines = render_text(report).splitlines()
    body = lines[1:lines.index("")] if "" in lines else lines[1:]
    return [line[2:] if line.startswith("  ") else line for line in body]
