"""DCAT-AP 3 in RDF: the catalog and each dataset parse with rdflib in Turtle, JSON-LD and
RDF/XML to the same graph, carry bilingual titles, page with Hydra, and satisfy SHACL shapes
written from DCAT-AP's mandatory properties (pySHACL); the shapes fail when one is missing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyshacl import validate
from rdflib import RDF, Graph, URIRef
from rdflib import namespace as ns
from rdflib.compare import isomorphic

from chiso.context import Runtime
from chiso.exports import ckan, dcat
from chiso.exports import datasets as ds

SHAPES = Graph().parse(Path(__file__).with_name("dcat-ap-mandatory.ttl"))
HYDRA = dcat.HYDRA
PARSE = {"ttl": "turtle", "jsonld": "json-ld", "xml": "xml"}


def conforms(g: Graph) -> tuple[bool, str]:
    ok, _, text = validate(g, shacl_graph=SHAPES)
    return bool(ok), str(text)


def fetch(client: TestClient, path: str) -> dict[str, Graph]:
    graphs = {}
    for fmt, name in PARSE.items():
        r = client.get(f"{path}.{fmt}")
        assert r.status_code == 200, r.text
        assert r.headers["etag"]
        graphs[fmt] = Graph().parse(data=r.content, format=name)
    return graphs


def test_catalog_in_three_formats_validates(client: TestClient) -> None:
    graphs = fetch(client, "/catalog")
    assert isomorphic(graphs["ttl"], graphs["jsonld"])
    assert isomorphic(graphs["ttl"], graphs["xml"])
    g = graphs["ttl"]
    ok, report = conforms(g)
    assert ok, report
    cat = next(g.subjects(RDF.type, ns.DCAT.Catalog))
    assert {t.language for t in g.objects(cat, ns.DCTERMS.title)} == {"vi", "en"}  # type: ignore[attr-defined]
    listed = {str(g.value(d, ns.DCTERMS.identifier)) for d in g.objects(cat, ns.DCAT.dataset)}
    assert listed == set(ds.DATASETS)
    view = g.value(cat, HYDRA.view)
    assert g.value(view, HYDRA.next) is None  # one page holds them all
    assert int(g.value(cat, HYDRA.totalItems)) == len(ds.DATASETS)  # type: ignore[arg-type]
    assert str(g.value(cat, ns.DCTERMS.license)) == "https://creativecommons.org/licenses/by/4.0/"


def test_dataset_in_three_formats_validates(client: TestClient) -> None:
    graphs = fetch(client, "/dataset/scores")
    assert isomorphic(graphs["ttl"], graphs["xml"])
    g = graphs["jsonld"]
    ok, report = conforms(g)
    assert ok, report
    node = next(g.subjects(RDF.type, ns.DCAT.Dataset))
    titles = {t.language: str(t) for t in g.objects(node, ns.DCTERMS.title)}  # type: ignore[attr-defined]
    assert titles == {"vi": ds.SCORES.title_vi, "en": ds.SCORES.title_en}
    urls = {str(g.value(d, ns.DCAT.accessURL)) for d in g.objects(node, ns.DCAT.distribution)}
    assert urls == {"http://testserver/du-lieu-mo/scores.csv",
                    "http://testserver/du-lieu-mo/scores.json",
                    "http://testserver/du-lieu-mo/scores.xlsx",
                    "http://testserver/du-lieu-mo/scores/dictionary.json"}
    assert client.get("/dataset/nope.ttl").status_code == 404
    assert client.get("/dataset/scores.n3").status_code == 404


def test_the_shapes_fail_without_a_mandatory_property(client: TestClient) -> None:
    g = Graph().parse(data=client.get("/dataset/scores.ttl").content, format="turtle")
    for dist in list(g.subjects(RDF.type, ns.DCAT.Distribution))[:1]:
        g.remove((dist, ns.DCAT.accessURL, None))
    agent = next(g.subjects(RDF.type, ns.FOAF.Agent))
    g.remove((agent, ns.FOAF.name, None))
    ok, report = conforms(g)
    assert not ok
    assert "accessURL" in report
    assert "name" in report


def test_hydra_pages_and_modified_since(runtime: Runtime) -> None:
    site = ckan.Site("https://chiso.example.vn", "CC-BY-4.0", "CC BY 4.0",
                     "https://creativecommons.org/licenses/by/4.0/")
    seen: list[str] = []
    page, pages = 1, None
    while True:
        got = dcat.catalog(runtime, site, page, page_size=1)
        pages = got.pages
        g = got.graph
        view = URIRef(f"https://chiso.example.vn/catalog?page={page}")
        assert (view, RDF.type, HYDRA.PartialCollectionView) in g
        seen.extend(str(o) for o in g.objects(None, ns.DCTERMS.identifier))
        nxt = g.value(view, HYDRA.next)
        if nxt is None:
            break
        assert str(nxt) == f"https://chiso.example.vn/catalog?page={page + 1}"
        page += 1
    assert pages == len(ds.DATASETS)
    assert sorted(seen) == sorted(ds.DATASETS)
    with pytest.raises(dcat.DcatError):
        dcat.catalog(runtime, site, pages + 1, page_size=1)
    later = dcat.catalog(runtime, site, 1, datetime(2999, 1, 1, tzinfo=UTC))
    assert list(later.graph.subjects(RDF.type, ns.DCAT.Dataset)) == []


def test_links_come_from_the_public_address_not_the_host_header(
        fresh_runtime: Runtime) -> None:
    """Anyone can write a request's Host header; with CHISO_PUBLIC_URL set, no answer builds
    its links from it."""
    from chiso.runtime import create_app

    public = "https://chiso.hanoi.gov.vn"
    rt = Runtime(fresh_runtime.settings.model_copy(update={"public_url": public}),
                 fresh_runtime.engine, fresh_runtime.catalog)
    with TestClient(create_app(rt.settings, rt)) as client:
        evil = {"Host": "evil.example"}
        pkg = client.get("/api/3/action/package_show", params={"id": "scores"},
                         headers=evil).json()
        assert all(r["url"].startswith(f"{public}/") for r in pkg["result"]["resources"])
        assert pkg["help"].startswith(f"{public}/")
        turtle = client.get("/catalog.ttl", headers=evil).text
        assert "evil.example" not in turtle
        assert public in turtle
