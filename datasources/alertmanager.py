"""Alertmanager: lets Grafana show and silence the alerts Prometheus sends it."""

from catalog.grafana import ALERTMANAGER
from obs.provisioning import Datasource

datasource = Datasource(
    name=ALERTMANAGER.name,
    type=ALERTMANAGER.type,
    uid=ALERTMANAGER.uid,
    url="http://alertmanager:9093",
    json_data={"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
)
