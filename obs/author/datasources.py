"""Grafana datasources as content: datasources/<name>.py defines `datasource = Datasource(...)`; the build
writes them to Grafana's provisioning file, and `obs push` upserts them by uid."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Datasource:
    name: str
    type: str
    uid: str
    url: str
    json_data: dict[str, Any] = field(default_factory=dict)
    is_default: bool = False
    access: str = "proxy"
    # Provisioned datasources are read-only in the UI: the code is the source of truth.
    editable: bool = False
