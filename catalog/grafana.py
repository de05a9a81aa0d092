"""Stable identities in Grafana: datasource uids, dashboard uids and titles, the folder.

Dashboards, datasources, alert links and `obs push` all take these from here, so a uid lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

# Pinned: the dashboard JSON is compiled for, and validated against, this Grafana's dashboard model.
GRAFANA_VERSION = "13.2.3"


@dataclass(frozen=True)
class DatasourceRef:
    type: str
    uid: str
    name: str

    def ref(self) -> dict[str, str]:
        return {"type": self.type, "uid": self.uid}


PROMETHEUS = DatasourceRef(type="prometheus", uid="obs-prometheus", name="Prometheus")
TEMPO = DatasourceRef(type="tempo", uid="obs-tempo", name="Tempo")
ALERTMANAGER = DatasourceRef(type="alertmanager", uid="obs-alertmanager", name="Alertmanager")

# Panels query Prometheus through the `datasource` template variable, so a user can point a dashboard
# at another Prometheus without editing it; the variable defaults to the provisioned one.
PROMETHEUS_VARIABLE = {"type": "prometheus", "uid": "${datasource}"}


@dataclass(frozen=True)
class DashboardRef:
    uid: str
    title: str

    @property
    def path(self) -> str:
        """Grafana's URL path for the dashboard; Grafana resolves /d/<uid> whatever the slug."""
        return f"/d/{self.uid}"


SYSTEM_OVERVIEW = DashboardRef(uid="obs-system-overview", title="System Overview")
EVALUATION_ANALYTICS = DashboardRef(uid="obs-evaluation-analytics", title="Medical Evaluation Analytics")
CONTAINER_OVERVIEW = DashboardRef(uid="obs-container-overview", title="Container Overview")


@dataclass(frozen=True)
class Folder:
    uid: str
    title: str


# Everything obs pushes lives in this folder and carries this tag; `obs push --prune` touches nothing else.
FOLDER = Folder(uid="obs-medical-evaluation", title="Medical Evaluation Platform")
MANAGED_TAG = "obs-managed"

# Where people open Grafana (spec: http://localhost:3000). Alert notifications link to panels under it.
GRAFANA_URL = "http://localhost:3000"
