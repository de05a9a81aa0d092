"""Alertmanager: lets Grafana show and silence the alerts Prometheus sends it."""

from catalog import network
from catalog.grafana import ALERTMANAGER
from obs.author.datasources import Datasource

datasource = Datasource(
    name=ALERTMANAGER.name,
    type=ALERTMANAGER.type,
    uid=ALERTMANAGER.uid,
    url=network.ALERTMANAGER.url(),
    json_data={"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
)
