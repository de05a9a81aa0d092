"""Grafana HTTP API emulator for testing ``obs push`` without a real Grafana.

    with GrafanaEmulator(tokens={"tok": "Admin", "ro": "Viewer"}) as grafana:
        api = GrafanaApi.from_url(grafana.client_url, credential="tok")

See ``emulator.py`` for the behaviours and the Grafana source each one follows.
"""

from .emulator import GrafanaEmulator, RequestRecord, make_fixture
from .slugify import slugify

__all__ = ["GrafanaEmulator", "RequestRecord", "make_fixture", "slugify"]
