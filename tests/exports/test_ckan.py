"""The CKAN Action API with a real CKAN client (ckanapi's RemoteCKAN) against a real uvicorn
server on loopback, on both databases: list, show, search, errors, and CKAN's harvester walk
(``rows``/``start``/``sort=id asc`` with an ``fq`` on ``metadata_modified``), full and
incremental."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import ckanapi
import httpx
import pytest
from rdflib import RDF, Graph
from rdflib import namespace as ns
from sqlalchemy import Engine
from tests.exports.serve_support import serve
from tests.factories import feed_contract

from chiso.context import Runtime
from chiso.exports import datasets as ds
from chiso.intake.pipeline import Provenance, ingest
from chiso.runtime import create_app


@pytest.fixture
def server(fresh_runtime: Runtime) -> Iterator[str]:
    with serve(create_app(fresh_runtime.settings, fresh_runtime)) as base:
        yield base


def client(base: str) -> ckanapi.RemoteCKAN:
    ck = ckanapi.RemoteCKAN(base, get_only=True)  # harvesters read with GET
    ck.base_url = "api/3/action/"
    return ck


def harvest(ck: ckanapi.RemoteCKAN, fq: str, rows: int = 100) -> list[str]:
    """CKAN's harvester walk: pages of ``rows`` sorted by id, until an empty page; two
    identical consecutive pages abort it."""
    seen: list[str] = []
    start, previous = 0, None
    while True:
        page = ck.action.package_search(fq=fq, rows=rows, start=start, sort="id asc")
        ids = [p["id"] for p in page["results"]]
        if not ids:
            return seen
        assert ids != previous, "two identical pages: the harvester would abort"
        previous = ids
        seen.extend(ids)
        start += rows


def push_stat(engine: Engine) -> None:
    rec = {"indicator": "vneid_share", "unit": "00070", "period": "2026-Q1", "value": 0.9,
           "numerator": 90, "denominator": 100, "source_ref": "C06",
           "published_at": "2026-04-05T00:00:00+07:00"}
    out = ingest(engine, feed_contract("stats.value"), [rec], Provenance("t", "push"), b"{}",
                 "application/json")
    assert out.accepted, out.as_dict()


def test_list_show_search_and_errors(server: str) -> None:
    ck = client(server)
    assert ck.action.status_show()["locale_default"] == "vi"
    assert ck.action.package_list() == sorted(ds.DATASETS)
    pkg: dict[str, Any] = ck.action.package_show(id="indicator-values")
    assert pkg["title"] == ds.INDICATOR_VALUES.title_vi
    assert {e["key"]: e["value"] for e in pkg["extras"]}["title_en"] == \
        ds.INDICATOR_VALUES.title_en
    assert pkg["organization"]["name"] == "ubnd-tp-ha-noi"
    assert pkg["license_id"] == "CC-BY-4.0"
    assert [r["format"] for r in pkg["resources"]] == ["CSV", "JSON", "JSON", "CSV", "JSON",
                                                       "XLSX"]
    assert httpx.get(pkg["resources"][5]["url"]).content[:2] == b"PK"  # a workbook
    assert pkg["resources"][4]["url"] == f"{server}/du-lieu-mo/indicator-values/changes.json"
    assert {e["key"]: e["value"] for e in pkg["extras"]}["change_log"] == \
        pkg["resources"][4]["url"]
    csv_url = pkg["resources"][0]["url"]
    assert csv_url == f"{server}/du-lieu-mo/indicator-values.csv"
    got = httpx.get(csv_url)
    assert got.status_code == 200
    assert got.text.startswith("indicator,indicator_name_vi,")

    found = ck.action.package_search(q="xep hang")  # tone marks ignored
    assert [p["name"] for p in found["results"]] == ["scores"]
    assert ck.action.package_search(q="nothing-matches-this")["count"] == 0
    newest = ck.action.package_search(sort="metadata_modified desc", rows=1000)
    stamps = [p["metadata_modified"] for p in newest["results"]]
    assert stamps == sorted(stamps, reverse=True)
    assert len(ck.action.current_package_list_with_resources()) == len(ds.DATASETS)
    assert ck.action.organization_list() == ["ubnd-tp-ha-noi"]
    org = ck.action.organization_show(id="ubnd-tp-ha-noi", include_datasets=True)
    assert org["package_count"] == len(org["packages"]) == len(ds.DATASETS)

    with pytest.raises(ckanapi.NotFound):
        ck.action.package_show(id="nope")
    with pytest.raises(ckanapi.ValidationError) as bad:
        ck.action.package_search(rows=1001)
    assert "rows" in bad.value.error_dict
    with pytest.raises(ckanapi.ValidationError):
        ck.action.package_search(fq="title:anything")
    raw = httpx.get(f"{server}/api/3/action/package_show", params={"id": "nope"})
    assert raw.status_code == 404
    assert raw.json()["success"] is False
    assert raw.json()["error"]["__type"] == "Not Found Error"
    # every answer's help link answers
    helped = httpx.get(raw.json()["help"])
    assert helped.status_code == 200
    assert helped.json()["result"].startswith("One dataset")
    assert httpx.get(f"{server}/api/3/action/help_show",
                     params={"name": "nope"}).status_code == 404


def test_the_harvester_walk_full_and_incremental(server: str, fresh_runtime: Runtime) -> None:
    ck = client(server)
    everything = "metadata_modified:[1970-01-01T00:00:00Z TO *]"
    for rows in (100, 1, 2):  # CKAN's page size, and pages that split the catalog
        seen = harvest(ck, everything, rows)
        assert sorted(seen) == sorted(ds.DATASETS)
        assert len(seen) == len(set(seen))  # every dataset exactly once

    since = datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z"
    assert harvest(ck, f"metadata_modified:[{since} TO *]") == []  # nothing changed yet
    time.sleep(0.01)
    push_stat(fresh_runtime.engine)  # a published value: not a records feed
    changed = harvest(ck, f"metadata_modified:[{since} TO *]")
    assert "indicator-values" in changed
    assert "data-accountability" not in changed  # it rests on records feeds only
    assert sorted(changed) == sorted(
        d for d in ds.DATASETS if "stats.value" in ds.feeds_of(fresh_runtime, d))


def test_a_harvester_reads_package_show_and_the_turtle_catalog(server: str) -> None:
    """What a harvester reads from a running chiso, printed for the record (``pytest -s``):
    the CKAN ``package_show`` answer and the head of the DCAT-AP catalog in Turtle."""
    pkg = client(server).action.package_show(id="indicator-values")
    raw = httpx.get(f"{server}/api/3/action/package_show", params={"id": "indicator-values"})
    assert raw.json()["success"] is True
    assert raw.json()["result"] == pkg
    turtle = httpx.get(f"{server}/catalog.ttl")
    assert turtle.status_code == 200
    assert turtle.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=turtle.text, format="turtle")
    assert (None, RDF.type, ns.DCAT.Catalog) in graph
    assert (None, RDF.type, ns.DCAT.Dataset) in graph
    excerpt = "\n".join(turtle.text.splitlines()[:40])
    print(f"\n-- package_show id=indicator-values --\n"
          f"{json.dumps(raw.json(), ensure_ascii=False, indent=2)}\n"
          f"-- {server}/catalog.ttl (first 40 lines) --\n{excerpt}")
