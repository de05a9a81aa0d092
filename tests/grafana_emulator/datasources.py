"""/api/datasources: create, read, list, update (optimistic on version), delete."""

from __future__ import annotations

import copy
from typing import Any

from .auth import _forbidden, _Identity
from .common import as_int, short_uid
from .replies import _error, _ok, _Reply

# Data source plugin names/logos for the types the project uses.
# src: pkg/api/datasources.go GetDataSources (TypeName/TypeLogoUrl from the plugin store,
# "public/img/icn-datasource.svg" when the plugin is unknown).
_DS_PLUGINS = {
    "prometheus": ("Prometheus", "public/plugins/prometheus/img/prometheus_logo.svg"),
    "loki": ("Loki", "public/plugins/loki/img/loki_icon.svg"),
    "tempo": ("Tempo", "public/plugins/tempo/img/tempo_logo.svg"),
    "alertmanager": ("Alertmanager", "public/plugins/alertmanager/img/logo.svg"),
}



class DatasourcesMixin:
    def _new_datasource(self, body: dict[str, Any]) -> dict[str, Any]:
        uid = (body.get("uid") or "").strip() or short_uid()
        rec = {
            "id": self._next_ds_id,
            "uid": uid,
            "orgId": 1,
            "name": body.get("name") or "",
            "type": body.get("type") or "",
            "access": body.get("access") or "",
            "url": body.get("url") or "",
            "user": body.get("user") or "",
            "database": body.get("database") or "",
            "basicAuth": bool(body.get("basicAuth")),
            "basicAuthUser": body.get("basicAuthUser") or "",
            "withCredentials": bool(body.get("withCredentials")),
            "isDefault": bool(body.get("isDefault")),
            "jsonData": copy.deepcopy(body.get("jsonData")) or {},
            "secureJsonData": {k: v for k, v in (body.get("secureJsonData") or {}).items() if v},
            "version": 1,
            "readOnly": False,
        }
        self._next_ds_id += 1
        return rec

    def _ds_dto(self, rec: dict[str, Any]) -> dict[str, Any]:
        # src: pkg/api/datasources.go convertModelToDtos (dtos.DataSource)
        _, logo = _DS_PLUGINS.get(rec["type"], (rec["type"], "public/img/icn-datasource.svg"))
        return {
            "id": rec["id"],
            "uid": rec["uid"],
            "orgId": 1,
            "name": rec["name"],
            "type": rec["type"],
            "typeLogoUrl": logo,
            "access": rec["access"],
            "url": rec["url"],
            "user": rec["user"],
            "database": rec["database"],
            "basicAuth": rec["basicAuth"],
            "basicAuthUser": rec["basicAuthUser"],
            "withCredentials": rec["withCredentials"],
            "isDefault": rec["isDefault"],
            "jsonData": copy.deepcopy(rec["jsonData"]),
            "secureJsonFields": {k: True for k, v in rec["secureJsonData"].items() if v},
            "version": rec["version"],
            "readOnly": rec["readOnly"],
        }

    def _list_datasources(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/datasources.go GetDataSources (dtos.DataSourceListItemDTO), sorted by
        # lower-cased name (dtos.DataSourceList.Less)
        out = []
        for rec in sorted(self._datasources.values(), key=lambda r: r["name"].lower()):
            type_name, logo = _DS_PLUGINS.get(rec["type"], (rec["type"], "public/img/icn-datasource.svg"))
            out.append(
                {
                    "id": rec["id"],
                    "uid": rec["uid"],
                    "orgId": 1,
                    "name": rec["name"],
                    "type": rec["type"],
                    "typeName": type_name,
                    "typeLogoUrl": logo,
                    "access": rec["access"],
                    "url": rec["url"],
                    "user": rec["user"],
                    "database": rec["database"],
                    "basicAuth": rec["basicAuth"],
                    "isDefault": rec["isDefault"],
                    "jsonData": copy.deepcopy(rec["jsonData"]),
                    "readOnly": rec["readOnly"],
                }
            )
        return _ok(out)

    def _ds_not_found(self) -> _Reply:
        # src: pkg/api/datasources.go: response.Error(404, "Data source not found", nil)
        return _error(404, "Data source not found")

    def _post_datasource(self, ident: _Identity, query: Any, body: Any) -> _Reply:
        # src: pkg/api/api.go: POST /api/datasources needs datasources:create (Admin role)
        if not ident.at_least("Admin"):
            return _forbidden("datasources:create")
        body = body if isinstance(body, dict) else {}
        # src: pkg/api/datasources.go AddDataSource -> 409 with err.Error() (+traceID);
        # pkg/services/datasources/errors.go; the name is checked before the uid
        name = body.get("name") or ""
        if any(r["name"] == name for r in self._datasources.values()):
            return _error(409, "data source with the same name already exists", trace=True)
        uid = (body.get("uid") or "").strip()
        if uid and uid in self._datasources:
            return _error(409, "data source with the same uid already exists", trace=True)
        rec = self._new_datasource(body)
        self._datasources[rec["uid"]] = rec
        return _ok(
            {"message": "Datasource added", "id": rec["id"], "name": rec["name"], "datasource": self._ds_dto(rec)}
        )

    def _get_datasource(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/datasources.go GetDataSourceByUID
        rec = self._datasources.get(uid)
        return self._ds_not_found() if rec is None else _ok(self._ds_dto(rec))

    def _get_datasource_by_name(self, ident: _Identity, query: Any, body: Any, name: str) -> _Reply:
        # src: pkg/api/datasources.go GetDataSourceByName
        for rec in self._datasources.values():
            if rec["name"] == name:
                return _ok(self._ds_dto(rec))
        return self._ds_not_found()

    def _put_datasource(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/api.go: PUT needs datasources:write; pkg/api/datasources.go
        # UpdateDataSourceByUID / updateDataSourceByID
        if not ident.at_least("Admin"):
            return _forbidden("datasources:write")
        rec = self._datasources.get(uid)
        if rec is None:
            return self._ds_not_found()
        if rec["readOnly"]:
            return _error(403, "Cannot update read-only data source")
        body = body if isinstance(body, dict) else {}
        name = body.get("name") or ""
        if any(r["name"] == name and r["uid"] != uid for r in self._datasources.values()):
            return _error(409, "Failed to update datasource: data source with the same name already exists", trace=True)
        # src: pkg/services/datasources/service/store.go UpdateDataSource: Version = cmd.Version + 1, and with
        # a non-zero cmd.Version the row is updated only `where version < ?` (the new one): an older version is
        # refused, an equal or newer one accepted ("to force updates ... without knowing exactly what version a
        # datasource have in the db"); no version is an unconditional update that leaves version 1
        posted_version = as_int(body.get("version"))
        if posted_version and posted_version < rec["version"]:
            return _error(
                409, "Datasource has already been updated by someone else. Please reload and try again", trace=True
            )
        # Full replace of the plain fields; secureJsonData is merged into the stored secrets
        # (src: pkg/services/datasources/service/datasource.go UpdateDataSource)
        fresh = self._new_datasource({**body, "uid": uid})
        self._next_ds_id -= 1  # _new_datasource allocated an id we do not use
        secrets = dict(rec["secureJsonData"])
        secrets.update({k: v for k, v in (body.get("secureJsonData") or {}).items()})
        fresh.update(id=rec["id"], uid=uid, version=posted_version + 1, readOnly=False, secureJsonData=secrets)
        self._datasources[uid] = fresh
        return _ok(
            {
                "message": "Datasource updated",
                "id": fresh["id"],
                "name": fresh["name"],
                "datasource": self._ds_dto(fresh),
            }
        )

    def _delete_datasource(self, ident: _Identity, query: Any, body: Any, uid: str) -> _Reply:
        # src: pkg/api/datasources.go DeleteDataSourceByUID (datasources:delete)
        if not ident.at_least("Admin"):
            return _forbidden("datasources:delete")
        rec = self._datasources.get(uid)
        if rec is None:
            return self._ds_not_found()
        if rec["readOnly"]:
            return _error(403, "Cannot delete read-only data source")
        del self._datasources[uid]
        return _ok({"message": "Data source deleted", "id": rec["id"]})
