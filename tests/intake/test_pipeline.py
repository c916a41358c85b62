"""Storage with provenance: versions, history, idempotence, raw archive, pseudonyms."""

from __future__ import annotations

import gzip
import json

from sqlalchemy import Engine, func, select
from tests.factories import dossier, feed_contract, uid

from chiso.intake.pipeline import Provenance, ingest, pseudonymise, read_raw
from chiso.intake.settings import IntakeSettings
from chiso.intake.validate import Scope
from chiso.store.tables import (
    feed_tthc_dossier,
    feed_tthc_dossier_versions,
    intake_batches,
    intake_raw,
)

DOSSIER = feed_contract("tthc.dossier")
SETTINGS = IntakeSettings(pseudonym_key="test-key")  # type: ignore[arg-type]


def _push(engine: Engine, source: str, records: list[dict[str, object]]) -> object:
    payload = json.dumps(records).encode()
    return ingest(engine, DOSSIER, records, Provenance(source, "push"), payload,
                  "application/json", scope=Scope(known_units=frozenset({"00070", "00082"})),
                  settings=SETTINGS)


def _count(engine: Engine, table: object, source: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)  # type: ignore[arg-type]
                                .where(table.c.source == source)).scalar_one())  # type: ignore[attr-defined]


def test_latest_version_wins_and_late_versions_are_history(engine: Engine) -> None:
    src = uid("src")
    v1 = dossier(1, updated_at="2026-03-02T09:00:00+07:00")
    v3 = dossier(1, status="resolved", resolved_at="2026-03-04T10:00:00+07:00",
                 updated_at="2026-03-04T10:00:00+07:00")
    v2 = dossier(1, status="supplement", supplement_requests=1,
                 updated_at="2026-03-03T09:00:00+07:00")
    out1 = _push(engine, src, [v1])
    out3 = _push(engine, src, [v3])
    out2 = _push(engine, src, [v2])  # arrives late
    assert (out1.new_versions, out1.latest_changed) == (1, 1)  # type: ignore[attr-defined]
    assert (out3.new_versions, out3.latest_changed) == (1, 1)  # type: ignore[attr-defined]
    assert (out2.new_versions, out2.latest_changed) == (1, 0)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        row = conn.execute(select(feed_tthc_dossier).where(
            feed_tthc_dossier.c.source == src)).one()
    assert row.status == "resolved"
    assert row.door == "push"
    assert row.unit == "00070"
    assert _count(engine, feed_tthc_dossier_versions, src) == 3


def test_identical_resend_changes_nothing(engine: Engine) -> None:
    src = uid("src")
    batch = [dossier(i) for i in range(50)]
    first = _push(engine, src, batch)
    again = _push(engine, src, batch)
    assert first.new_versions == 50  # type: ignore[attr-defined]
    assert (again.new_versions, again.latest_changed) == (0, 0)  # type: ignore[attr-defined]
    assert _count(engine, feed_tthc_dossier, src) == 50
    assert _count(engine, feed_tthc_dossier_versions, src) == 50
    assert first.raw_sha256 == again.raw_sha256  # type: ignore[attr-defined]


def test_same_record_twice_in_one_batch_keeps_the_newest(engine: Engine) -> None:
    src = uid("src")
    old = dossier(7, updated_at="2026-03-02T09:00:00+07:00")
    new = dossier(7, status="received", updated_at="2026-03-02T10:00:00+07:00")
    out = _push(engine, src, [new, old, new])
    assert (out.new_versions, out.latest_changed) == (2, 1)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.execute(select(feed_tthc_dossier.c.status).where(
            feed_tthc_dossier.c.source == src)).scalar_one() == "received"


def test_a_refused_batch_writes_no_record_but_keeps_the_payload(engine: Engine) -> None:
    src = uid("src")
    out = _push(engine, src, [dossier(1), dossier(2, channel="fax")])
    assert out.status == "refused"  # type: ignore[attr-defined]
    assert _count(engine, feed_tthc_dossier_versions, src) == 0
    with engine.connect() as conn:
        batch = conn.execute(select(intake_batches).where(intake_batches.c.source == src)).one()
        raw = read_raw(conn, batch.raw_sha256)
        stored = conn.execute(select(intake_raw.c.content).where(
            intake_raw.c.sha256 == batch.raw_sha256)).scalar_one()
    assert batch.status == "refused"
    assert batch.problems == [{"index": 1, "field": "channel", "record_id": "HS-000002",
                               "message": "'fax' is not one of: online, direct, postal"}]
    assert raw is not None
    assert json.loads(raw)[1]["channel"] == "fax"
    assert gzip.decompress(stored) == raw


def test_personal_identifiers_are_pseudonymised_everywhere(engine: Engine) -> None:
    src = uid("src")
    rec = dossier(1, applicant_name="Nguyễn Văn An", applicant_id="001088012345",
                  applicant_phone="0912345678")
    out = _push(engine, src, [rec])
    key = SETTINGS.key()
    with engine.connect() as conn:
        row = conn.execute(select(feed_tthc_dossier).where(
            feed_tthc_dossier.c.source == src)).one()
        raw = read_raw(conn, out.raw_sha256)  # type: ignore[attr-defined]
    assert row.applicant_id == pseudonymise("001088012345", key)
    assert row.applicant_name == pseudonymise("nguyễn  văn an", key)  # same person, same hash
    assert raw is not None
    assert b"001088012345" not in raw
    assert "Nguyễn".encode() not in raw
    assert pseudonymise("001088012345", b"other-key") != row.applicant_id


def test_the_archive_never_keeps_an_identifier_the_records_do_not_show(
        engine: Engine) -> None:
    """A key sent twice (a reader keeps the last) or a key the contract does not have: the
    archive keeps the records as read, pseudonymised, never the bytes as sent."""
    rec = dossier(1)
    body = json.dumps(rec)[:-1]
    payloads = [
        f'[{body}, "applicant_id": "001088077777", "applicant_id": ""}}]',
        f'[{body}, "applicant_id": "001088077777", "applicant_id": null}}]',
        f'[{body}, "so_cccd": "001088077777"}}]',
    ]
    for payload in payloads:
        raws = json.loads(payload)
        out = ingest(engine, DOSSIER, raws, Provenance(uid("src"), "push"), payload.encode(),
                     "application/json", settings=SETTINGS)
        with engine.connect() as conn:
            kept = read_raw(conn, out.raw_sha256)  # type: ignore[attr-defined]
        assert kept is not None
        assert b"001088077777" not in kept, payload


def test_operator_may_keep_identifiers_in_the_raw_archive(engine: Engine) -> None:
    settings = IntakeSettings(pseudonym_key="k", archive_personal=True)  # type: ignore[arg-type]
    rec = dossier(1, applicant_id="001088099999")
    payload = json.dumps([rec]).encode()
    out = ingest(engine, DOSSIER, [rec], Provenance(uid("src"), "push"), payload,
                 "application/json", settings=settings)
    with engine.connect() as conn:
        assert read_raw(conn, out.raw_sha256) == payload


def test_production_refuses_the_development_key() -> None:
    import pytest

    from chiso.intake.settings import InsecureConfigurationError

    with pytest.raises(InsecureConfigurationError):
        IntakeSettings(env="production", pseudonym_key=None).key()
