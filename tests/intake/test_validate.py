from __future__ import annotations

from datetime import UTC, datetime

from tests.factories import dossier, feed_contract

from chiso.intake.validate import Scope, validate_batch

DOSSIER = feed_contract("tthc.dossier")
UNITS = frozenset({"00070", "00082", "SKHCN"})


def test_a_good_record_comes_out_typed_in_utc() -> None:
    result = validate_batch(DOSSIER, [dossier()], scope=Scope(known_units=UNITS))
    assert result.ok, result.problems
    rec = result.records[0]
    assert rec["received_at"] == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    assert rec["fully_online"] is True
    assert rec["supplement_days"] == 0.0


def test_every_problem_is_listed_by_index_and_field() -> None:
    records = [
        dossier(0),
        dossier(1, supplement_requests=-1, channel="fax"),
        dossier(2, resolved_at="2026-03-01T08:00:00+07:00", status="resolved"),
        dossier(3, components_reused=9),
        dossier(4, received_at="2026-03-02 08:30"),
        dossier(5, unit="99999"),
        dossier(6, fully_online="yes", status="resolved"),
        "not an object",
    ]
    del records[0]["procedure"]
    result = validate_batch(DOSSIER, records, scope=Scope(known_units=UNITS))
    got = {(p.index, p.field) for p in result.problems}
    assert got == {
        (0, "procedure"), (1, "supplement_requests"), (1, "channel"), (2, "resolved_at"),
        (3, "components_reused"), (4, "received_at"), (5, "unit"), (6, "fully_online"),
        (6, "resolved_at"), (7, None),
    }
    messages = {(p.index, p.field): p.message for p in result.problems}
    assert "below the minimum 0" in messages[(1, "supplement_requests")]
    assert "online, direct, postal" in messages[(1, "channel")]
    assert "UTC offset" in messages[(4, "received_at")]
    assert "unknown unit code '99999'" in messages[(5, "unit")]
    assert result.records == []


def test_a_token_scoped_to_other_units_is_refused_per_record() -> None:
    scope = Scope(units=frozenset({"00082"}), known_units=UNITS)
    result = validate_batch(DOSSIER, [dossier(0), dossier(1, unit="00082")], scope=scope)
    assert [(p.index, p.field) for p in result.problems] == [(0, "unit")]
    assert "may not send data for unit '00070'" in result.problems[0].message


def test_text_mode_reads_vietnamese_spreadsheet_conventions() -> None:
    row = {"id": "HS-1", "unit": "", "procedure": "1.0001", "received_at": "02/03/2026 08:30",
           "due_at": "09/03/2026", "resolved_at": "", "status": "Đang xử lý",
           "channel": "Trực tuyến", "fully_online": "Có", "supplement_requests": "0",
           "supplement_days": "1,5", "result_electronic": "x", "paid_online": "Không",
           "components_total": "1.000", "components_reused": "12",
           "updated_at": "02/03/2026 09:00"}
    result = validate_batch(DOSSIER, [row], mode="text",
                            scope=Scope(known_units=UNITS, default_unit="00070"))
    assert result.ok, result.problems
    rec = result.records[0]
    assert rec["unit"] == "00070"
    assert rec["status"] == "processing"
    assert rec["channel"] == "online"
    assert rec["supplement_days"] == 1.5
    assert rec["components_total"] == 1000
    assert rec["result_electronic"] is True
    assert rec["paid_online"] is False
    assert rec["received_at"] == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def test_text_mode_names_impossible_dates_and_bad_numbers() -> None:
    row = dossier(0, received_at="31/02/2026", supplement_days="mười")
    result = validate_batch(DOSSIER, [row], mode="text", scope=Scope(known_units=UNITS))
    messages = {p.field: p.message for p in result.problems}
    assert "not a real date" in messages["received_at"]
    assert "not a number" in messages["supplement_days"]


def test_stats_period_shapes() -> None:
    stats = feed_contract("stats.value")
    base = {"indicator": "population", "unit": "00070", "value": 1.5,
            "source_ref": "NGTK 2025", "published_at": "2026-01-05T00:00:00+07:00"}
    periods = ["2026", "2026-Q3", "2026-H1", "2026-10", "2026-13", "26-Q1", "2026-Q5"]
    result = validate_batch(stats, [{**base, "period": p} for p in periods],
                            scope=Scope(known_units=UNITS))
    assert [p.index for p in result.problems] == [4, 5, 6]
