"""/api/health (no auth), /api/frontend/settings, /api/user, /api/org."""

from __future__ import annotations

import json
from typing import Any

from .auth import _Identity
from .replies import _ok, _Reply


class HealthMixin:
    def _health(self) -> _Reply:
        # src: pkg/api/http_server.go apiHealthHandler: no auth, healthResponse
        # {database, version, commit}, pretty-printed (json.MarshalIndent "  ")
        body = {"database": "ok", "version": self.version, "commit": "emulator"}
        return _Reply(200, raw=json.dumps(body, indent=2).encode(), content_type="application/json; charset=UTF-8")

    def _frontend_settings(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/frontendsettings.go getFrontendSettings (buildInfo DTO in
        # pkg/api/dtos/frontend_settings.go); requires a signed-in user. A minimal subset.
        return _ok(
            {
                "appUrl": self.client_url,
                "appSubUrl": self.sub_path,
                "buildInfo": {
                    "hideVersion": False,
                    "version": self.version,
                    "versionString": f"Grafana v{self.version} (emulator)",
                    "commit": "emulator",
                    "commitShort": "emulator",
                    "buildstamp": 0,
                    "edition": "Open Source",
                    "latestVersion": "",
                    "hasUpdate": False,
                    "env": "production",
                },
                # 13.x: the namespace the frontend builds /apis URLs with (packages/grafana-api-clients
                # utils.ts getAPINamespace = config.namespace)
                **({"namespace": self.namespace,
                    "featureToggles": {"kubernetesDashboards": True, "dashboardNewLayouts": self.new_layouts}}
                   if self.k8s else {}),
                "datasources": {
                    rec["name"]: {"uid": rec["uid"], "type": rec["type"], "name": rec["name"]}
                    for rec in self._datasources.values()
                },
            }
        )

    def _user(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/user.go GetSignedInUser (dtos UserProfileDTO); subset
        return _ok(
            {
                "id": 1,
                "uid": "emulator-user",
                "email": f"{ident.login}@localhost",
                "name": ident.login,
                "login": ident.login,
                "theme": "",
                "orgId": 1,
                "isGrafanaAdmin": ident.kind == "user" and ident.role == "Admin",
                "isDisabled": False,
                "isExternal": False,
                "authLabels": [],
            }
        )

    def _org(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/org.go GetCurrentOrg -> dtos.OrgDetailsDTO
        return _ok(
            {
                "id": 1,
                "name": "Main Org.",
                "address": {"address1": "", "address2": "", "city": "", "zipCode": "", "state": "", "country": ""},
            }
        )

