"""What is kept of a payload that could not be parsed: its hash and size, never its personal
data in clear (on SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.factories import dossier, feed_contract, uid

from chiso.catalog.loader import Catalog
from chiso.intake.doors import ingest_file
from chiso.intake.pipeline import read_raw
from chiso.intake.settings import IntakeSettings
from chiso.intake.sources import add_source
from chiso.store.tables import intake_raw
from chiso_sim.files import dossier_csv

CCCD = "001088012345"
SETTINGS = IntakeSettings(pseudonym_key="refused-privacy-key")  # type: ignore[arg-type]
URL = "/api/v1/feeds/tthc.dossier/records"


def _stored(engine: Engine, sha: str) -> tuple[int, bytes, bytes | None]:
    with engine.connect() as conn:
        row = conn.execute(select(intake_raw.c.size, intake_raw.c.content).where(
            intake_raw.c.sha256 == sha)).one()
        return row.size, bytes(row.content), read_raw(conn, sha)


@pytest.mark.parametrize("body", [
    "[" + json.dumps(dossier(0, applicant_id=CCCD)) + ",",  # not JSON
    json.dumps({"data": [dossier(0, applicant_id=CCCD)]}),  # not a list of records
])
def test_an_unparsable_push_keeps_hash_and_size_only(client: TestClient, engine: Engine,
                                                     body: str) -> None:
    token = add_source(engine, uid("dvc"), ["tthc.dossier"], None)
    raw = (body + uid()).encode()  # a payload of this test's own
    r = client.post(URL, content=raw, headers={"Authorization": f"Bearer {token}",
                                               "Content-Type": "application/json"})
    assert r.status_code == 400
    sha = r.json()["raw_sha256"]
    assert sha == hashlib.sha256(raw).hexdigest()
    size, content, readable = _stored(engine, sha)
    assert (size, readable) == (len(raw), None)
    assert CCCD.encode() not in content


def test_a_file_refused_before_parsing_keeps_hash_and_size_then_its_content_when_read(
    engine: Engine, catalog: Catalog
) -> None:
    known = frozenset(catalog.units.units)
    contract = feed_contract("tthc.dossier")
    data = dossier_csv([dossier(0, id=uid("HS"), applicant_name="Trần Thị Ánh")])
    unknown, _ = ingest_file(engine, contract, data, "x.csv", "99999", known, SETTINGS)
    assert not unknown.accepted
    size, content, readable = _stored(engine, unknown.raw_sha256)
    assert (size, readable) == (len(data), None)
    assert "Trần".encode() not in content
    garbage = b"\x00\x01" + "Nguyễn Văn An 001088012345".encode("utf-16")
    broken, _ = ingest_file(engine, contract, garbage, "y.csv", "00070", known, SETTINGS)
    assert not broken.accepted
    assert CCCD.encode("utf-16") not in _stored(engine, broken.raw_sha256)[1]
    # the same bytes once readable: the archive keeps its (pseudonymised) copy as usual
    plain = dossier_csv([dossier(0, id=uid("HS"))], fields=["id", "received_at"])
    first, _ = ingest_file(engine, contract, plain, "z.csv", "99999", known, SETTINGS)
    again, _ = ingest_file(engine, contract, plain, "z.csv", "00070", known, SETTINGS)
    assert not again.accepted  # missing required columns: refused after parsing, kept
    assert first.raw_sha256 == again.raw_sha256
    assert _stored(engine, again.raw_sha256)[2] == plain
