"""Stable identities in Grafana: datasource uids, dashboard uids and titles, the folder.

Dashboards, datasources, alert links and `obs push` all take these from here, so a uid lives in one place.
"""

from __future__ import annotations

import re

from catalog._records import fail, record

# Grafana's rule for a dashboard, folder or datasource uid (pkg/util/shortid_generator.go IsValidShortUID,
# and the 40-character limit).
UID = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")


def check_uid(uid: str) -> None:
    if not UID.match(uid):
        raise fail("uid", f"{uid!r}: a uid is 1-40 letters, digits, '-' and '_'")


@record("datasource")
class DatasourceRef:
    type: str
    uid: str
    name: str

    def check(self) -> None:
        check_uid(self.uid)

    def ref(self) -> dict[str, str]:
        return {"type": self.type, "uid": self.uid}


PROMETHEUS = DatasourceRef(type="prometheus", uid="obs-prometheus", name="Prometheus")
TEMPO = DatasourceRef(type="tempo", uid="obs-tempo", name="Tempo")
ALERTMANAGER = DatasourceRef(type="alertmanager", uid="obs-alertmanager", name="Alertmanager")

# Panels query Prometheus through the `datasource` template variable, so a user can point a dashboard
# at another Prometheus without editing it; the variable defaults to the provisioned one.
PROMETHEUS_VARIABLE = {"type": "prometheus", "uid": "${datasource}"}


@record("dashboard")
class DashboardRef:
    uid: str
    title: str

    def check(self) -> None:
        check_uid(self.uid)

    @property
    def path(self) -> str:
        """Grafana's URL path for the dashboard; Grafana resolves /d/<uid> whatever the slug."""
        return f"/d/{self.uid}"


SYSTEM_OVERVIEW = DashboardRef(uid="obs-system-overview", title="System Overview")
EVALUATION_ANALYTICS = DashboardRef(uid="obs-evaluation-analytics", title="Medical Evaluation Analytics")
CONTAINER_OVERVIEW = DashboardRef(uid="obs-container-overview", title="Container Overview")


@record("folder")
class Folder:
    uid: str
    title: str

    def check(self) -> None:
        check_uid(self.uid)


# Everything obs pushes lives in this folder and carries this tag; `obs push --prune` touches nothing else.
FOLDER = Folder(uid="obs-medical-evaluation", title="Medical Evaluation Platform")
MANAGED_TAG = "obs-managed"

# Where people open Grafana (spec: http://localhost:3000). Alert notifications link to panels under it.
GRAFANA_URL = "http://localhost:3000"
