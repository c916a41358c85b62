"""A data steward's column mapping per (feed, unit, source): proposals for headings the
contract does not list, versions, the batch recording the version that read it, and 422-style
refusals naming the wrong heading or field (on SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select
from tests.factories import UNIT_A, UNIT_B, dossier, feed_contract, uid
from tests.intake.mapping_support import EXPECTED, full_mapping, own_words_csv

from chiso.catalog.loader import Catalog
from chiso.intake import mappings
from chiso.intake.doors import ingest_file
from chiso.intake.pipeline import Outcome
from chiso.intake.proposals import THRESHOLD, propose, similarity
from chiso.intake.settings import IntakeSettings
from chiso.store.tables import audit_log, intake_batches

DOSSIER = feed_contract("tthc.dossier")
SETTINGS = IntakeSettings(pseudonym_key="mapping-key")  # type: ignore[arg-type]


def _upload(engine: Engine, catalog: Catalog, data: bytes, unit: str, source: str
            ) -> tuple[Outcome, dict[str, Any]]:
    return ingest_file(engine, DOSSIER, data, "xa.csv", unit, frozenset(catalog.units.units),
                       SETTINGS, source=uid("file"), mapping_source=source)


def _save(engine: Engine, unit: str, source: str, columns: dict[str, str]
          ) -> mappings.Mapping:
    return mappings.save(engine, DOSSIER, unit, source, columns, actor="user:steward",
                         roles="data_steward")


def test_similarity_ignores_tone_marks_case_word_order_and_abbreviations() -> None:
    assert similarity("NGAY TIEP NHAN", "Ngày tiếp nhận") == 100
    assert similarity("Hồ sơ số", "Số hồ sơ") == 100
    assert similarity("Ngày TN", "Ngày tiếp nhận") == 100
    assert similarity("Số lần yêu cầu bổ sung", "Số lần bổ sung") >= THRESHOLD
    assert similarity("Ghi chú", "Ngày tiếp nhận") < 50
    assert similarity("STT", "Toàn trình") == 0  # three letters: only an exact abbreviation


def test_each_field_is_proposed_once_and_never_one_another_column_fills() -> None:
    found = propose(DOSSIER, ["Ngày TN", "Ngày tiếp nhận hồ sơ", "Ghi chú"])
    assert [(p.heading, p.field) for p in found] == [
        ("Ngày TN", "received_at"), ("Ngày tiếp nhận hồ sơ", None), ("Ghi chú", None)]
    assert propose(DOSSIER, ["NGAY TN"], taken=["received_at"])[0].field is None


def test_an_export_in_its_own_words_is_refused_with_a_proposal_for_every_heading(
    engine: Engine, catalog: Catalog
) -> None:
    data = own_words_csv([dossier(0, id=uid("HS"), unit=UNIT_A)])
    outcome, info = _upload(engine, catalog, data, UNIT_A, uid("src"))
    assert not outcome.accepted
    assert {p.field for p in outcome.problems} == {"id", "procedure", "received_at",
                                                   "supplement_requests"}
    assert {p["heading"]: p["field"] for p in info["proposals"]} == EXPECTED
    assert {p["heading"]: p["column"] for p in info["proposals"]} == {
        "Hồ sơ số": "A", "Mã TTHC": "C", "NGAY TN": "D", "Số lần yêu cầu bổ sung": "J"}


def test_a_saved_mapping_reads_every_later_file_and_the_batch_names_its_version(
    engine: Engine, catalog: Catalog
) -> None:
    source = uid("src")
    first = _save(engine, UNIT_A, source, full_mapping())
    data = own_words_csv([dossier(0, id=uid("HS"), unit=UNIT_A)])
    outcome, info = _upload(engine, catalog, data, UNIT_A, source)
    assert outcome.accepted, outcome.problems
    assert info["mapping"] == {"id": first.id, "source": source, "version": 1}
    second = _save(engine, UNIT_A, source, {**full_mapping(), "Ngày hoàn thành": "resolved_at"})
    again, _ = _upload(engine, catalog, own_words_csv([dossier(1, id=uid("HS"), unit=UNIT_A)]),
                       UNIT_A, source)
    assert again.accepted
    assert second.version == 2
    with engine.connect() as conn:
        used = dict(conn.execute(select(intake_batches.c.id, intake_batches.c.mapping_id).where(
            intake_batches.c.id.in_([outcome.batch_id, again.batch_id]))).all())
        assert [m.version for m in mappings.versions(conn, "tthc.dossier", UNIT_A, source)] \
            == [2, 1]
        assert mappings.latest(conn, "tthc.dossier", UNIT_A, source) == second
        entries = conn.execute(select(audit_log.c.action, audit_log.c.unit, audit_log.c.target)
                               .where(audit_log.c.target == f"mapping:tthc.dossier/{UNIT_A}/"
                                      f"{source}")).all()
    assert used == {outcome.batch_id: first.id, again.batch_id: second.id}
    assert [tuple(e) for e in entries] == [("column mapping saved", UNIT_A,
                                            f"mapping:tthc.dossier/{UNIT_A}/{source}")] * 2


def test_one_units_mapping_never_reads_another_units_files(
    engine: Engine, catalog: Catalog
) -> None:
    source = uid("src")
    _save(engine, UNIT_A, source, full_mapping())
    outcome, info = _upload(engine, catalog,
                            own_words_csv([dossier(0, id=uid("HS"), unit=UNIT_B)]), UNIT_B,
                            source)
    assert not outcome.accepted
    assert "mapping" not in info


@pytest.mark.parametrize(("change", "heading", "field", "words"), [
    ({"Ghi chú": "remarks"}, "Ghi chú", "remarks", "has no field 'remarks'"),
    ({"Ngày TN": "id"}, "Ngày TN", "id", "both map to field 'id'"),
    ({"Hồ sơ số": None}, None, "id", "Field 'id' is required"),
    ({"hồ sơ SỐ": "status"}, "hồ sơ SỐ", "status", "read the same"),
])
def test_a_bad_mapping_names_the_heading_or_field(
    change: dict[str, str | None], heading: str | None, field: str, words: str
) -> None:
    columns = full_mapping()
    for h, f in change.items():
        if f is None:
            columns.pop(h)
        else:
            columns[h] = f
    if field == "status":
        columns.pop("Trạng thái")
    with pytest.raises(mappings.MappingError) as caught:
        mappings.check(DOSSIER, columns)
    assert words in str(caught.value)
    assert (caught.value.heading, caught.value.field) == (heading, field)


def test_an_export_with_no_header_the_contract_knows_still_gets_proposals(
    engine: Engine, catalog: Catalog
) -> None:
    data = "Hồ sơ số,Mã TTHC,NGAY TN,Số lần yêu cầu bổ sung\nHS-1,1.001,02/03/2026,0\n"
    outcome, info = _upload(engine, catalog, data.encode(), UNIT_A, uid("src"))
    assert not outcome.accepted
    assert {p["heading"]: p["field"] for p in info["proposals"]} == EXPECTED


def test_a_heading_with_a_control_character_is_refused() -> None:
    columns = {**full_mapping(), "Ghi\x00chú": "applicant_name"}
    with pytest.raises(mappings.MappingError, match="control character"):
        mappings.check(DOSSIER, columns)
