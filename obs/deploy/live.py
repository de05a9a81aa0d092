"""What obs reads from Grafana, whichever API it came through: a dashboard, a folder, a history entry, and who
manages an object. The annotation keys are Grafana's (pkg/apimachinery/utils/meta.go)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ANNO_FOLDER = "grafana.app/folder"
ANNO_MESSAGE = "grafana.app/message"
ANNO_CREATED_BY = "grafana.app/createdBy"
ANNO_UPDATED_BY = "grafana.app/updatedBy"
ANNO_UPDATED_TS = "grafana.app/updatedTimestamp"
ANNO_MANAGER_KIND = "grafana.app/managedBy"
ANNO_MANAGER_ID = "grafana.app/managerId"
ANNO_MANAGER_ALLOWS_EDITS = "grafana.app/managerAllowsEdits"
ANNO_SOURCE_PATH = "grafana.app/sourcePath"
ANNO_SOURCE_CHECKSUM = "grafana.app/sourceChecksum"
ANNO_SAVED_FROM_UI = "grafana.app/saved-from-ui"  # set by the 13.x frontend on a save (apiserver/types.ts)
LABEL_INTERNAL_ID = "grafana.app/deprecatedInternalID"
# Set by the server (prepareObjectForStorage / prepareObjectForUpdate): never compared, never sent back
SERVER_ANNOTATIONS = (ANNO_CREATED_BY, ANNO_UPDATED_BY, ANNO_UPDATED_TS)

# How obs marks what it manages. Grafana knows the kinds repo, terraform, kubectl, plugin and classic-*; any
# other value counts as a manager "of unknown kind": managed (the legacy save refuses it unless edits are
# allowed), shown as Provisioned by the dashboard's badge, and not enforced by the storage layer.
OBS_MANAGER_KIND = "obs"

# API versions whose spec is the classic dashboard JSON; a dashboard stored in another one (v2, saved from the
# 13.x UI) reaches a v1 read through Grafana's conversion, and a classic one a v2 read likewise
CLASSIC_VERSIONS = ("v0alpha1", "v1beta1", "v1", "")


def schema_of(api_version: str) -> str:
    """"v2" for the v2 family (v2alpha1, v2beta1, v2), "v1" for the classic JSON."""
    return "v1" if api_version in CLASSIC_VERSIONS else "v2"


@dataclass(frozen=True)
class Manager:
    kind: str  # the grafana.app/managedBy value as written ("" when not set)
    identity: str
    allows_edits: bool

    def describe(self) -> str:
        return f"{self.kind or 'a tool of unknown kind'} ({self.identity})"


def manager_of(annotations: dict[str, Any]) -> Manager | None:
    """GetManagerProperties: an object is managed only when grafana.app/managerId is set."""
    identity = str(annotations.get(ANNO_MANAGER_ID) or "")
    if not identity:
        return None
    return Manager(str(annotations.get(ANNO_MANAGER_KIND) or ""), identity,
                   annotations.get(ANNO_MANAGER_ALLOWS_EDITS) == "true")


@dataclass
class LiveDashboard:
    uid: str
    title: str
    spec: dict[str, Any]  # classic JSON as read (on /apis at v1, converted by Grafana when stored otherwise)
    folder_uid: str
    version: int | None  # the legacy version / metadata.generation
    raw: Any = field(default=None, repr=False)  # as Grafana returned it: what a backup holds
    folder_title: str = ""
    resource_version: str = ""
    k8s_uid: str = ""
    stored_version: str = ""  # status.conversion.storedVersion when Grafana converted, else the read version
    read_version: str = ""  # the API version obs read it at ("" on /api)
    conversion_error: str = ""
    stored: Any = field(default=None, repr=False)  # the object at its stored version, once read
    manager: Manager | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    provisioned: bool = False  # /api meta.provisioned (classic file provisioning)

    @property
    def converted(self) -> bool:
        """Stored in the other schema than it was read at: what was read is Grafana's conversion of it."""
        return schema_of(self.stored_version) != schema_of(self.read_version)

    @property
    def stored_schema(self) -> str:
        return schema_of(self.stored_version)

    @property
    def tags(self) -> list[str]:
        return [str(t) for t in (self.spec.get("tags") or [])]


@dataclass
class LiveFolder:
    uid: str
    title: str
    version: int | None
    raw: Any = field(default=None, repr=False)
    resource_version: str = ""
    manager: Manager | None = None
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Revision:
    """One entry of a dashboard's history, as Grafana's own code reads it (newest first)."""

    version: int | None
    who: str
    when: str
    message: str
    stored_version: str = ""
    from_ui: bool = False
    checksum: str = ""  # grafana.app/sourceChecksum at that version
    manager: Manager | None = None
