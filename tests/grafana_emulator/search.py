"""/api/search: dashboards and folders by query, tag, uid and folder, paged."""

from __future__ import annotations

from typing import Any

from .auth import _Identity
from .common import as_int
from .replies import _error, _ok, _Reply
from .slugify import slugify


class SearchMixin:
    def _search(self, ident: _Identity, query: dict[str, list[str]], body: Any) -> _Reply:
        # src: pkg/api/search.go Search
        def one(name: str) -> str:
            return (query.get(name) or [""])[0]

        limit = as_int(one("limit"))
        page = as_int(one("page"))
        if limit > 5000:
            return _error(422, "Limit is above maximum allowed (5000), use page parameter to access hits beyond limit")
        dash_ids = [int(x) for x in query.get("dashboardIds", []) if x.lstrip("-").isdigit()]
        dash_uids = query.get("dashboardUIDs") or query.get("dashboardUID") or []
        folder_ids = [int(x) for x in query.get("folderIds", []) if x.lstrip("-").isdigit()]
        folder_uids = query.get("folderUIDs") or []
        if (dash_ids and dash_uids) or (folder_ids and folder_uids):
            return _error(400, "search supports UIDs or IDs, not both")
        if one("starred") == "true":
            return _ok([])  # the emulator has no stars
        text = one("query").lower()
        tags = query.get("tag") or []
        hit_type = one("type")
        # src: pkg/services/search/service.go: limit < 1 -> 1000, page < 1 -> 1
        limit = limit if limit >= 1 else 1000
        page = page if page >= 1 else 1

        def in_folders(parent_uid: str, parent_id: int) -> bool:
            if folder_uids:
                wanted = {"" if f == "general" else f for f in folder_uids}
                if parent_uid not in wanted:
                    return False
            return not (folder_ids and parent_id not in folder_ids)

        hits: list[dict[str, Any]] = []
        if hit_type in ("", "dash-folder") and not tags:
            for f in self._folders.values():
                parent = self._folders.get(f["parent_uid"]) if f["parent_uid"] else None
                if text and text not in f["title"].lower():
                    continue
                if dash_uids and f["uid"] not in dash_uids or dash_ids and f["id"] not in dash_ids:
                    continue
                if not in_folders(f["parent_uid"], parent["id"] if parent else 0):
                    continue
                hits.append(self._hit(f["id"], f["uid"], f["title"], "dash-folder", [], parent))
        if hit_type in ("", "dash-db"):
            for d in self._dashboards.values():
                folder = self._folders.get(d["folder_uid"]) if d["folder_uid"] else None
                dtags = [str(t) for t in (d["data"].get("tags") or [])]
                if text and text not in d["title"].lower():
                    continue
                if tags and not all(t in dtags for t in tags):  # every tag must match
                    continue
                if dash_uids and d["uid"] not in dash_uids or dash_ids and d["id"] not in dash_ids:
                    continue
                if not in_folders(d["folder_uid"], folder["id"] if folder else 0):
                    continue
                hits.append(self._hit(d["id"], d["uid"], d["title"], "dash-db", dtags, folder))
        # SQL orders by title and pages; pkg/services/search/service.go sortedHits then puts
        # folders first (then title) within the page and sorts each hit's tags.
        hits.sort(key=lambda h: h["title"].lower())
        page_hits = hits[(page - 1) * limit : page * limit]
        page_hits.sort(key=lambda h: (h["type"] != "dash-folder", h["title"].lower()))
        return _ok(page_hits)

    def _hit(
        self, hid: int, uid: str, title: str, kind: str, tags: list[str], folder: dict[str, Any] | None
    ) -> dict[str, Any]:
        # src: pkg/services/search/model/model.go Hit (json tags, omitempty on folder*/description);
        # pkg/services/dashboards/database/database.go makeQueryResult: uri "db/<slug>", Slug
        # left unset (so "slug" is ""), folderUrl only when the hit is in a folder.
        slug = slugify(title)
        url = self._folder_url(uid, slug) if kind == "dash-folder" else self._dash_url(uid, slug)
        hit: dict[str, Any] = {
            "id": hid,
            "uid": uid,
            "orgId": 1,
            "title": title,
            "uri": f"db/{slug}",
            "url": url,
            "slug": "",
            "type": kind,
            "tags": sorted(tags),
            "isStarred": False,
        }
        if folder:
            hit["folderId"] = folder["id"]
            hit["folderUid"] = folder["uid"]
            hit["folderTitle"] = folder["title"]
            hit["folderUrl"] = self._folder_url(folder["uid"], slugify(folder["title"]))
        hit["sortMeta"] = 0
        hit["isDeleted"] = False
        return hit

