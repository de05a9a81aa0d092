"""Grafana HTTP API emulator for testing ``obs push`` without a real Grafana.

    with GrafanaEmulator(tokens={"tok": "Admin", "ro": "Viewer"}) as grafana:
        api = GrafanaApi.from_url(grafana.client_url, credential="tok")

Grafana 13.2.3 by default (/apis, Kubernetes-style storage, the 13.x legacy path); ``version="12.3.0"`` for
the 12.x legacy /api. See ``emulator.py`` for the modules, and each module for the behaviours and the Grafana
source each one follows.
"""

from .emulator import GrafanaEmulator, RequestRecord, make_fixture
from .slugify import slugify

__all__ = ["GrafanaEmulator", "RequestRecord", "make_fixture", "slugify"]
