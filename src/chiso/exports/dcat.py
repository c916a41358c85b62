"""The open datasets described in DCAT-AP 3 (RDF, through rdflib): the catalog, paged with Hydra,
and each dataset with its distributions.

The mandatory properties are present: the catalog's title, description and publisher; each
dataset's title and description; each distribution's access URL; every agent's name. Titles
and descriptions are in Vietnamese and English. ``dct:modified`` is the dataset's
``metadata_modified`` (see :func:`chiso.exports.ckan.modified`), so ``modified_since`` and
CKAN's incremental harvest agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from chiso.context import Runtime
from chiso.exports import ckan
from chiso.exports import datasets as ds

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
PAGE_SIZE = 100
FORMATS = {"ttl": ("turtle", "text/turtle; charset=utf-8"),
           "jsonld": ("json-ld", "application/ld+json"),
           "xml": ("xml", "application/rdf+xml")}
PUBLISHER = {"vi": "Ủy ban nhân dân thành phố Hà Nội", "en": "Hanoi People's Committee"}
_MEDIA = {"csv": ("text/csv", "CSV"), "json": ("application/json", "JSON"),
          "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"),
          "dictionary": ("application/json", "JSON")}


class DcatError(LookupError):
    """An unknown dataset, format or page; the message says what to give."""


@dataclass(frozen=True)
class Page:
    """One page of the catalog: its graph, the page count, and its newest change."""

    graph: Graph
    page: int
    pages: int
    last_modified: datetime


def _graph() -> Graph:
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("hydra", HYDRA)):
        g.bind(prefix, ns)
    return g


def _publisher(g: Graph, site: ckan.Site) -> URIRef:
    agent = URIRef(f"{site.base_url}/units/UBNDTP")
    g.add((agent, RDF.type, FOAF.Agent))
    for lang, name in PUBLISHER.items():
        g.add((agent, FOAF.name, Literal(name, lang=lang)))
    return agent


def _dataset(g: Graph, site: ckan.Site, d: ds.Dataset, modified: datetime,
             publisher: URIRef) -> URIRef:
    node = URIRef(f"{site.base_url}/dataset/{d.id}")
    licence = URIRef(site.licence_url)
    g.add((node, RDF.type, DCAT.Dataset))
    g.add((node, DCTERMS.identifier, Literal(d.id)))
    g.add((node, DCTERMS.title, Literal(d.title_vi, lang="vi")))
    g.add((node, DCTERMS.title, Literal(d.title_en, lang="en")))
    g.add((node, DCTERMS.description, Literal(d.description_vi, lang="vi")))
    g.add((node, DCTERMS.description, Literal(d.description_en, lang="en")))
    g.add((node, DCTERMS.publisher, publisher))
    g.add((node, DCTERMS.modified, Literal(modified, datatype=XSD.dateTime)))
    g.add((node, DCAT.landingPage, URIRef(f"{site.base_url}/du-lieu-mo#{d.id}")))
    for word in d.keywords:
        g.add((node, DCAT.keyword, Literal(word)))
    base = f"{site.base_url}/du-lieu-mo/{d.id}"
    for kind, url in (("csv", f"{base}.csv"), ("json", f"{base}.json"),
                      ("xlsx", f"{base}.xlsx"), ("dictionary", f"{base}/dictionary.json")):
        dist = URIRef(f"{site.base_url}/dataset/{d.id}#{kind}")
        media, fmt = _MEDIA[kind]
        g.add((node, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCAT.accessURL, URIRef(url)))
        g.add((dist, DCAT.downloadURL, URIRef(url)))
        g.add((dist, DCAT.mediaType,
               URIRef(f"http://www.iana.org/assignments/media-types/{media}")))
        g.add((dist, DCTERMS.format, Literal(fmt)))
        g.add((dist, DCTERMS.license, licence))
        title = ("Từ điển dữ liệu", "Data dictionary") if kind == "dictionary" else \
            (f"{d.title_vi} ({fmt})", f"{d.title_en} ({fmt})")
        g.add((dist, DCTERMS.title, Literal(title[0], lang="vi")))
        g.add((dist, DCTERMS.title, Literal(title[1], lang="en")))
    return node


def _modified(rt: Runtime) -> dict[str, datetime]:
    with rt.engine.connect() as conn:
        return ckan.modified(conn, rt)


def catalog(rt: Runtime, site: ckan.Site, page: int = 1,
            modified_since: datetime | None = None, page_size: int = PAGE_SIZE) -> Page:
    """One page of the catalog (datasets in id order, those modified at or after
    ``modified_since`` when given), with Hydra's view: first, last, previous, next, total."""
    when = _modified(rt)
    chosen = [d for d in sorted(ds.DATASETS.values(), key=lambda d: d.id)
              if modified_since is None or when[d.id] >= ckan.utc(modified_since)]
    pages = max(1, math.ceil(len(chosen) / page_size))
    if page < 1 or page > pages:
        raise DcatError(f"page: give a page from 1 to {pages}")
    g = _graph()
    cat = URIRef(f"{site.base_url}/catalog")
    publisher = _publisher(g, site)
    g.add((cat, RDF.type, DCAT.Catalog))
    g.add((cat, DCTERMS.title, Literal("Dữ liệu mở chỉ số chuyển đổi số Hà Nội", lang="vi")))
    g.add((cat, DCTERMS.title, Literal("Hanoi digital-transformation open data", lang="en")))
    g.add((cat, DCTERMS.description, Literal(
        "Giá trị chỉ số, điểm và thứ hạng, trách nhiệm cung cấp dữ liệu do chiso tính từ "
        "dữ liệu của các hệ thống nghiệp vụ của Thành phố.", lang="vi")))
    g.add((cat, DCTERMS.description, Literal(
        "Indicator values, scores and ranks, and data accountability that chiso computes "
        "from the data of the city's operational systems.", lang="en")))
    g.add((cat, DCTERMS.publisher, publisher))
    g.add((cat, DCTERMS.license, URIRef(site.licence_url)))
    g.add((cat, FOAF.homepage, URIRef(f"{site.base_url}/du-lieu-mo")))
    for d in chosen[(page - 1) * page_size:page * page_size]:
        g.add((cat, DCAT.dataset, _dataset(g, site, d, when[d.id], publisher)))
    since = f"&modified_since={modified_since.isoformat()}" if modified_since else ""

    def at(n: int) -> URIRef:
        return URIRef(f"{site.base_url}/catalog?page={n}{since}")

    view = at(page)
    g.add((cat, HYDRA.totalItems, Literal(len(chosen), datatype=XSD.integer)))
    g.add((cat, HYDRA.view, view))
    g.add((view, RDF.type, HYDRA.PartialCollectionView))
    g.add((view, HYDRA.first, at(1)))
    g.add((view, HYDRA.last, at(pages)))
    if page > 1:
        g.add((view, HYDRA.previous, at(page - 1)))
    if page < pages:
        g.add((view, HYDRA.next, at(page + 1)))
    return Page(g, page, pages, max(when.values()))


def dataset(rt: Runtime, site: ckan.Site, dataset_id: str) -> tuple[Graph, datetime]:
    """One dataset, its distributions and its publisher; and when it was last modified."""
    if dataset_id not in ds.DATASETS:
        raise DcatError(f"no dataset {dataset_id!r}; the datasets are "
                        f"{', '.join(sorted(ds.DATASETS))}")
    g = _graph()
    when = _modified(rt)[dataset_id]
    _dataset(g, site, ds.DATASETS[dataset_id], when, _publisher(g, site))
    return g, when


def serialize(g: Graph, fmt: str) -> tuple[bytes, str]:
    """The graph in ``fmt`` (ttl, jsonld, xml) and its media type."""
    if fmt not in FORMATS:
        raise DcatError(f"format: give one of {', '.join(FORMATS)}")
    name, media = FORMATS[fmt]
    return g.serialize(format=name, encoding="utf-8"), media

