"""The open datasets as a CKAN catalog: the read side of CKAN's Action API, as harvesters speak it.

Each open dataset is one CKAN package, its CSV, JSON and dictionary its resources, and the
city's People's Committee the one organization. ``metadata_modified`` is when the data a
dataset rests on last moved: the newest accepted batch of its feeds, or the catalog's load
time when later. :func:`call` answers one action with CKAN's envelope; bad parameters raise
:class:`CkanError` carrying CKAN's error object and HTTP status.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from chiso.context import Runtime
from chiso.exports import datasets as ds
from chiso.store.tables import catalog_loads, intake_batches
from chiso.text import fold

MAX_ROWS = 1000
ORG = {"id": "ubnd-tp-ha-noi", "name": "ubnd-tp-ha-noi",
       "title": "Ủy ban nhân dân thành phố Hà Nội",
       "description": "Hanoi People's Committee: the city's digital-transformation measures",
       "type": "organization", "state": "active", "is_organization": True,
       "approval_status": "approved", "image_url": ""}
_FQ = re.compile(r"^\s*metadata_modified:\[\s*(\S+)\s+TO\s+(\*|NOW)\s*\]\s*$")
_SORTS = {"id", "name", "title", "metadata_modified", "metadata_created"}
# what each action answers: ``help_show?name=<action>`` gives it (every answer's ``help`` link)
HELP = {
    "status_show": "The site's title, address, CKAN version and default locale.",
    "package_list": "The names of every dataset; offset and limit page through them.",
    "package_show": "One dataset (id or name_or_id): its metadata and resources.",
    "package_search": "Datasets matching q (tone marks ignored), fq on metadata_modified, "
                      "sorted (sort), rows (at most 1000) from start; count and results.",
    "current_package_list_with_resources": "Every dataset with its resources, newest first; "
                                           "offset and limit page through them.",
    "organization_list": "The publishing organisation's name (all_fields=true: its record).",
    "organization_show": "The publishing organisation (id); include_datasets=true adds its "
                         "datasets.",
    "help_show": "What an action (name) answers.",
}
ACTIONS = tuple(HELP)


class CkanError(Exception):
    """A CKAN error: ``status`` (404 not found, 409 validation) and the ``error`` object."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = error


def _not_found(what: str) -> CkanError:
    return CkanError(404, {"__type": "Not Found Error", "message": f"Not found: {what}"})


def _invalid(field: str, message: str) -> CkanError:
    return CkanError(409, {"__type": "Validation Error", field: [message]})


@dataclass(frozen=True)
class Site:
    """Where the catalog is served: resource URLs are absolute, as CKAN's are."""

    base_url: str  # e.g. "https://chiso.hanoi.gov.vn" (no trailing slash)
    licence_id: str
    licence_title: str
    licence_url: str


def utc(t: datetime) -> datetime:
    """A stored time in UTC (SQLite hands back naive times; chiso stores UTC)."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _ckan_time(t: datetime) -> str:
    # CKAN writes UTC times without an offset, to the microsecond
    return utc(t).replace(tzinfo=None).isoformat(timespec="microseconds")


def modified(conn: Connection, rt: Runtime) -> dict[str, datetime]:
    """Each dataset's ``metadata_modified``: its feeds' newest accepted batch, or the
    catalog's load time when later."""
    loaded = utc(conn.execute(select(catalog_loads.c.loaded_at).where(
        catalog_loads.c.digest == rt.catalog.digest)).scalar_one())
    newest = {r[0]: utc(r[1]) for r in conn.execute(
        select(intake_batches.c.feed, func.max(intake_batches.c.received_at))
        .where(intake_batches.c.status == "accepted").group_by(intake_batches.c.feed))}
    out = {}
    for d in ds.DATASETS.values():
        times = [newest[f] for f in ds.feeds_of(rt, d.id) if f in newest]
        out[d.id] = max([loaded, *times])
    return out


CHANGES_NOTE = ("Giá trị đã công bố sau đó thay đổi: giá trị cũ, mới, thời điểm, lý do / "
                "Published figures that later changed: old and new value, when and why")


def _package(site: Site, d: ds.Dataset, when: datetime, created: datetime) -> dict[str, Any]:
    base = f"{site.base_url}/du-lieu-mo/{d.id}"
    resources = [
        {"id": f"{d.id}-{kind}", "package_id": d.id, "name": name, "format": fmt,
         "mimetype": mime, "url": url, "description": desc, "state": "active",
         "position": i, "last_modified": _ckan_time(when), "created": _ckan_time(created)}
        for i, (kind, name, fmt, mime, url, desc) in enumerate((
            ("csv", f"{d.title_vi} (CSV)", "CSV", "text/csv", f"{base}.csv",
             "UTF-8, một dòng tiêu đề / UTF-8, one header row; ?period=2026-Q1"),
            ("json", f"{d.title_vi} (JSON)", "JSON", "application/json", f"{base}.json",
             "?period=2026-Q1"),
            ("dictionary", "Từ điển dữ liệu / Data dictionary", "JSON", "application/json",
             f"{base}/dictionary.json", "Tên, kiểu và ý nghĩa của từng trường"),
            ("changes-csv", "Nhật ký thay đổi / Change log (CSV)", "CSV", "text/csv",
             f"{base}/changes.csv", CHANGES_NOTE),
            ("changes-json", "Nhật ký thay đổi / Change log (JSON)", "JSON",
             "application/json", f"{base}/changes.json", CHANGES_NOTE),
            # added later: last, so that the others keep their positions
            ("xlsx", f"{d.title_vi} (Excel)", "XLSX",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{base}.xlsx",
             "Bảng tính Excel kèm từ điển dữ liệu / Excel workbook with the data dictionary; "
             "?period=2026-Q1"),
        ))]
    return {
        "id": d.id, "name": d.id, "title": d.title_vi, "notes": d.description_vi,
        "type": "dataset", "state": "active", "private": False,
        "metadata_created": _ckan_time(created), "metadata_modified": _ckan_time(when),
        "license_id": site.licence_id, "license_title": site.licence_title,
        "license_url": site.licence_url, "owner_org": ORG["id"],
        "organization": {k: ORG[k] for k in ("id", "name", "title", "description", "type",
                                             "state", "is_organization", "image_url")},
        "url": f"{site.base_url}/du-lieu-mo#{d.id}", "version": None,
        "tags": [{"name": k, "display_name": k, "state": "active"} for k in d.keywords],
        "num_tags": len(d.keywords),
        "resources": resources, "num_resources": len(resources),
        "extras": [{"key": "title_en", "value": d.title_en},
                   {"key": "notes_en", "value": d.description_en},
                   {"key": "language", "value": "vi,en"},
                   {"key": "change_log", "value": f"{base}/changes.json"}],
    }


def _packages(conn: Connection, rt: Runtime, site: Site) -> list[dict[str, Any]]:
    when = modified(conn, rt)
    created = utc(conn.execute(select(func.min(catalog_loads.c.loaded_at))).scalar_one())
    return [_package(site, d, when[d.id], created) for d in ds.DATASETS.values()]


def _int(params: dict[str, str], name: str, default: int, high: int | None = None) -> int:
    text = params.get(name)
    if text in (None, ""):
        return default
    try:
        n = int(str(text))
    except ValueError as exc:
        raise _invalid(name, "Invalid integer") from exc
    if n < 0:
        raise _invalid(name, "Must be a natural number")
    if high is not None and n > high:
        raise _invalid(name, f"Must be at most {high}")
    return n


def _since(fq: str) -> datetime | None:
    if not fq.strip():
        return None
    m = _FQ.match(fq)
    if m is None:
        raise _invalid("fq", "Only metadata_modified:[<ISO time> TO *] is understood")
    text = m.group(1).rstrip("Z")
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise _invalid("fq", f"{m.group(1)!r} is not an ISO 8601 time") from exc


def _sorted(items: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    keys = []
    for part in [p.strip() for p in sort.split(",") if p.strip()]:
        field, _, order = part.partition(" ")
        order = order.strip() or "asc"
        if field not in _SORTS or order not in ("asc", "desc"):
            raise _invalid("sort", f"{part!r}: sort by one of {', '.join(sorted(_SORTS))}, "
                           "asc or desc")
        keys.append((field, order == "desc"))
    out = list(items)
    for field, desc in reversed(keys):  # stable sorts, last key first
        out.sort(key=_by(field), reverse=desc)
    return out


def _by(field: str) -> Callable[[dict[str, Any]], str]:
    return lambda p: str(p[field])


def search(packages: list[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
    """``package_search`` over the packages: ``q`` (words, tone marks ignored), ``fq`` on
    ``metadata_modified:[t TO *]``, ``sort``, ``rows`` (≤ 1000) and ``start``."""
    rows = _int(params, "rows", 10, MAX_ROWS)
    start = _int(params, "start", 0)
    sort = params.get("sort") or "score desc, metadata_modified desc"
    sort = ", ".join(p for p in sort.split(",") if p.strip().split(" ")[0] != "score") or \
        "metadata_modified desc"
    since = _since(params.get("fq", ""))
    words = [w for w in fold(params.get("q", "")).split() if w not in ("*:*", "*")]
    found = []
    for p in packages:
        if since is not None and utc(datetime.fromisoformat(p["metadata_modified"])) < since:
            continue
        text = fold(" ".join([p["name"], p["title"], p["notes"],
                              *(e["value"] for e in p["extras"]),
                              *(t["name"] for t in p["tags"])]))
        if all(w in text for w in words):
            found.append(p)
    ordered = _sorted(found, sort)
    return {"count": len(found), "sort": sort, "results": ordered[start:start + rows],
            "facets": {}, "search_facets": {}}


def call(rt: Runtime, site: Site, action: str, params: dict[str, str],
         help_url: str) -> dict[str, Any]:
    """One read action, answered in CKAN's envelope ``{help, success, result}``."""
    if action not in ACTIONS:
        raise CkanError(400, {"__type": "Bad Request", "message": f"Bad request - Action "
                              f"name not known: {action}; known: {', '.join(ACTIONS)}"})
    with rt.engine.connect() as conn:
        result = _answer(conn, rt, site, action, params)
    return {"help": help_url, "success": True, "result": result}


def _answer(conn: Connection, rt: Runtime, site: Site, action: str,
            params: dict[str, str]) -> Any:
    if action == "help_show":
        name = params.get("name", "")
        if name not in HELP:
            raise _not_found(f"action {name!r}")
        return HELP[name]
    if action == "status_show":
        return {"site_title": "chiso: Hà Nội", "site_url": site.base_url,
                "ckan_version": "2.10.0", "site_description": "Chỉ số chuyển đổi số Hà Nội",
                "locale_default": "vi", "extensions": []}
    if action == "organization_list":
        full = str(params.get("all_fields", "")).lower() in ("true", "1")
        return [{**ORG, "package_count": len(ds.DATASETS)}] if full else [ORG["name"]]
    if action == "organization_show":
        if params.get("id") not in (ORG["id"], ORG["name"]):
            raise _not_found(f"organization {params.get('id')!r}")
        org: dict[str, Any] = {**ORG, "package_count": len(ds.DATASETS)}
        if str(params.get("include_datasets", "")).lower() in ("true", "1"):
            org["packages"] = _packages(conn, rt, site)
        return org
    packages = _packages(conn, rt, site)
    if action == "package_list":
        names = sorted(p["name"] for p in packages)
        start = _int(params, "offset", 0)
        limit = _int(params, "limit", len(names), MAX_ROWS)
        return names[start:start + limit]
    if action == "package_show":
        wanted = params.get("id") or params.get("name_or_id") or ""
        found = next((p for p in packages if wanted in (p["id"], p["name"])), None)
        if found is None:
            raise _not_found(f"package {wanted!r}")
        return found
    if action == "current_package_list_with_resources":
        newest = sorted(packages, key=lambda p: str(p["metadata_modified"]), reverse=True)
        start = _int(params, "offset", 0)
        return newest[start:start + _int(params, "limit", len(newest), MAX_ROWS)]
    return search(packages, params)  # package_search
