"""What offices' exports really do, cell by cell and column by column: each quirk read as the
office meant it (a stale sheet size, a percentage cell, decimal points, month-first dates, a
date-only deadline, merged cells, Excel's zero guard, NFD text, tick columns, the form's row of
column numbers, a file named for another format, the data on another sheet), or refused with
what to do when it cannot be read safely (an identifier in a number cell)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, select
from tests.factories import UNIT_A, feed_contract, uid

from chiso.catalog.loader import Catalog
from chiso.intake.doors import ingest_file
from chiso.intake.pipeline import pseudonymise
from chiso.intake.settings import IntakeSettings
from chiso.intake.sheets import read_sheet
from chiso.store.tables import feed_tthc_dossier

DOSSIER = feed_contract("tthc.dossier")
SETTINGS = IntakeSettings(pseudonym_key="quirks-test-key")  # type: ignore[arg-type]
HEAD = ["Mã hồ sơ", "Mã thủ tục", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày hoàn thành",
        "Trạng thái", "Kênh nộp", "Toàn trình", "Số lần bổ sung", "Số ngày chờ bổ sung",
        "Số thành phần", "Thành phần tái sử dụng", "Họ tên người nộp", "Số CCCD",
        "Ngày cập nhật"]


def _row(i: int, **over: Any) -> list[Any]:
    cells = {"Mã hồ sơ": f"Q-{i}", "Mã thủ tục": "1.001", "Ngày tiếp nhận": "02/03/2026 08:30",
             "Ngày hẹn trả": "09/03/2026 17:00", "Ngày hoàn thành": "05/03/2026 10:00",
             "Trạng thái": "Đã giải quyết", "Kênh nộp": "Trực tuyến", "Toàn trình": "Có",
             "Số lần bổ sung": 0, "Số ngày chờ bổ sung": 0, "Số thành phần": 4,
             "Thành phần tái sử dụng": 2, "Họ tên người nộp": "Trần Thị Ánh",
             "Số CCCD": "001234567890", "Ngày cập nhật": "05/03/2026 10:00"}
    cells.update(over)
    return [cells[h] for h in HEAD]


def _xlsx(rows: list[list[Any]], *, title: bool = True) -> Workbook:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.append(["UBND PHƯỜNG HOÀN KIẾM"])
        sheet.append(["BÁO CÁO HỒ SƠ THỦ TỤC HÀNH CHÍNH"])
        sheet.append([])
    sheet.append(HEAD)
    for row in rows:
        sheet.append(row)
    return book


def _bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEAD)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _load(engine: Engine, catalog: Catalog, data: bytes, name: str) -> dict[str, Any]:
    source = uid("quirk")  # records are keyed by source and id: ids may repeat across tests
    outcome, _info = ingest_file(engine, DOSSIER, data, name, UNIT_A,
                                 frozenset(catalog.units.units), SETTINGS, source=source)
    assert outcome.accepted, [str(p) for p in outcome.problems]
    with engine.connect() as conn:
        rows = conn.execute(select(feed_tthc_dossier).where(
            feed_tthc_dossier.c.source == source)).all()
    return {r.id: r for r in rows}


def _local(value: datetime) -> str:
    """A stored time (UTC; SQLite hands it back naive) as Hanoi wall-clock time."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return (aware.astimezone(UTC).replace(tzinfo=None)
            + (datetime(2000, 1, 1, 7) - datetime(2000, 1, 1))).isoformat(sep=" ")


def test_every_row_is_read_whatever_size_the_sheet_claims(engine: Engine,
                                                           catalog: Catalog) -> None:
    data = _bytes(_xlsx([_row(i) for i in range(5)]))
    shrunk = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(shrunk, "w") as out:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":  # a template filler's stale size
                body = re.sub(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:M6"/>', body)
            out.writestr(item, body)
    assert len(_load(engine, catalog, shrunk.getvalue(), "bc.xlsx")) == 5


def test_the_data_may_be_on_a_later_sheet(engine: Engine, catalog: Catalog) -> None:
    book = _xlsx([_row(i) for i in range(3)])
    summary = book.create_sheet("Tổng hợp", 0)
    summary.append(["Tổng số hồ sơ", 3])
    assert len(_load(engine, catalog, _bytes(book), "bc.xlsx")) == 3


def test_a_percentage_cell_holds_what_it_shows() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Giá trị"])
    sheet.append([0.185])
    sheet["A2"].number_format = "0.0%"
    rows = read_sheet(_bytes(book), "s.xlsx", SETTINGS).rows
    assert rows[1] == [18.5]


def test_merged_down_cells_and_nfd_text(engine: Engine, catalog: Catalog) -> None:
    name = unicodedata.normalize("NFD", "Nguyễn Văn Ánh")
    book = _xlsx([_row(0, **{"Họ tên người nộp": name, "Mã thủ tục": "Hộ tịch-01"}),
                  _row(1, **{"Kênh nộp": None}), _row(2, **{"Kênh nộp": None})])
    sheet = book.active
    assert sheet is not None
    sheet["G5"] = "Trực tiếp"
    sheet.merge_cells("G5:G7")  # one channel for the three dossiers, as the office laid it out
    stored = _load(engine, catalog, _bytes(book), "bc.xlsx")
    assert [stored[f"Q-{i}"].channel for i in range(3)] == ["direct"] * 3
    assert stored["Q-0"].procedure == unicodedata.normalize("NFC", "Hộ tịch-01")
    assert stored["Q-0"].applicant_name == pseudonymise("Nguyễn Văn Ánh", SETTINGS.key())


def test_a_column_of_decimal_points_and_one_of_month_first_dates(engine: Engine,
                                                                 catalog: Catalog) -> None:
    us = {"Ngày tiếp nhận": "3/2/2026 08:30", "Ngày hẹn trả": "3/9/2026 17:00",
          "Ngày hoàn thành": "3/5/2026 10:00", "Ngày cập nhật": "3/5/2026 10:00"}
    rows = [_row(0, **{**us, "Số ngày chờ bổ sung": "0.500"}),
            _row(1, **{"Số ngày chờ bổ sung": "2.500", "Ngày tiếp nhận": "3/20/2026 08:30",
                       "Ngày hẹn trả": "3/27/2026 17:00", "Ngày hoàn thành": "3/25/2026 10:00",
                       "Ngày cập nhật": "3/25/2026 10:00"}),
            _row(2, **{**us, "Số ngày chờ bổ sung": "0.25"})]
    stored = _load(engine, catalog, _csv(rows), "bc.csv")
    assert [stored[f"Q-{i}"].supplement_days for i in range(3)] == [0.5, 2.5, 0.25]
    assert _local(stored["Q-0"].received_at) == "2026-03-02 08:30:00"  # 2 March, not 3 Feb
    assert _local(stored["Q-1"].resolved_at) == "2026-03-25 10:00:00"


def test_dates_written_both_ways_in_one_column_are_refused(engine: Engine,
                                                           catalog: Catalog) -> None:
    rows = [_row(0, **{"Ngày tiếp nhận": "25/02/2026 08:30"}),
            _row(1, **{"Ngày tiếp nhận": "2/25/2026 08:30"})]
    outcome, _info = ingest_file(engine, DOSSIER, _csv(rows), "bc.csv", UNIT_A,
                                 frozenset(catalog.units.units), SETTINGS, source=uid("q"))
    assert not outcome.accepted
    assert any("day first" in str(p) and "month first" in str(p) for p in outcome.problems)


def test_a_date_only_deadline_is_due_by_the_end_of_that_day(engine: Engine,
                                                            catalog: Catalog) -> None:
    stored = _load(engine, catalog, _csv([_row(0, **{
        "Ngày hẹn trả": "10/03/2026", "Ngày hoàn thành": "10/03/2026 03:00 CH"})]), "bc.csv")
    assert _local(stored["Q-0"].due_at) == "2026-03-10 23:59:59"
    assert _local(stored["Q-0"].resolved_at) == "2026-03-10 15:00:00"  # 3 in the afternoon
    assert stored["Q-0"].resolved_at <= stored["Q-0"].due_at


def test_excels_zero_guard_tick_columns_and_the_row_of_column_numbers(
        engine: Engine, catalog: Catalog) -> None:
    rows = [[f"({i})" for i in range(1, len(HEAD) + 1)],
            _row(0, **{"Mã hồ sơ": '="Q-0"', "Toàn trình": "x"}),
            _row(1, **{"Toàn trình": ""})]
    stored = _load(engine, catalog, _csv(rows), "bc.csv")
    assert stored["Q-0"].fully_online is True
    assert stored["Q-1"].fully_online is False  # a blank in a column of ticks is "no"


def test_a_text_file_named_xlsx_is_read_as_text(engine: Engine, catalog: Catalog) -> None:
    assert len(_load(engine, catalog, _csv([_row(0), _row(1)]), "bc.xlsx")) == 2


def test_an_identifier_in_a_number_cell_is_refused_with_what_to_do(
        engine: Engine, catalog: Catalog) -> None:
    contract = feed_contract("tthc.dossier")
    personal = [n for n, s in contract.fields.items() if s.personal]
    assert personal
    book = _xlsx([_row(0, **{"Số CCCD": 1234567890})])  # 001234567890 as Excel keeps it
    outcome, _info = ingest_file(engine, DOSSIER, _bytes(book), "bc.xlsx", UNIT_A,
                                 frozenset(catalog.units.units), SETTINGS, source=uid("q"))
    assert not outcome.accepted
    assert any("format the column as Text" in str(p) for p in outcome.problems)


@pytest.mark.parametrize(("text", "number"), [("18,5%", 18.5), ("0.500", 0.5),
                                               ("1.234", 1234.0), ("1.234,5", 1234.5)])
def test_a_number_as_offices_write_it(text: str, number: float) -> None:
    from chiso.intake.validate import _text_number

    assert _text_number(text) == number


def test_a_sheet_without_a_header_is_not_read_past_where_one_could_be() -> None:
    """A small XLSX can hold millions of cells: one whose first rows hold no header the
    contract knows is refused on those rows, not after reading them all."""
    from chiso.intake.sheets import HEADER_SCAN

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for i in range(3000):
        sheet.append([f"x{i}", i, i * 2])
    read = read_sheet(_bytes(book), "junk.xlsx", SETTINGS, wanted=lambda rows: False)
    assert len(read.rows) == HEADER_SCAN + 1
    whole = read_sheet(_bytes(book), "junk.xlsx", SETTINGS)
    assert len(whole.rows) == 3000


def test_a_junk_workbook_is_refused_naming_the_header_it_lacks(engine: Engine,
                                                               catalog: Catalog) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for i in range(500):
        sheet.append([f"x{i}", i])
    outcome, _info = ingest_file(engine, DOSSIER, _bytes(book), "junk.xlsx", UNIT_A,
                                 frozenset(catalog.units.units), SETTINGS, source=uid("q"))
    assert not outcome.accepted
    assert any("no header row" in str(p) for p in outcome.problems)


def test_an_address_or_the_offices_own_name_is_not_taken_for_the_rows_unit(
        engine: Engine, catalog: Catalog) -> None:
    """A file uploaded for one unit, with the applicant's commune in an address column and the
    office's name filled down another: both are read as what they are, not as a unit column
    with an unknown heading."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*HEAD, "Địa chỉ (xã/phường)", "Cơ quan thực hiện"])
    writer.writerow([*_row(0), "Phường Ba Đình", "UBND phường Hoàn Kiếm"])
    writer.writerow([*_row(1), "Phường Cửa Nam", "UBND phường Hoàn Kiếm"])
    assert len(_load(engine, catalog, out.getvalue().encode(), "bc.csv")) == 2


@pytest.mark.parametrize(("cell", "period"), [
    (datetime(2026, 3, 1), "2026-03"), ("03/2026", "2026-03"), ("Tháng 3/2026", "2026-03"),
    ("2026-Q1", "2026-Q1"), ("2026", "2026")])
def test_a_period_as_offices_write_it(cell: object, period: str) -> None:
    from chiso.catalog.feeds import FieldSpec, FieldType
    from chiso.intake.validate import convert

    assert convert(cell, FieldSpec(type=FieldType.period), "text") == period


def test_a_cell_that_cannot_be_read_is_said_once(engine: Engine, catalog: Catalog) -> None:
    """A resolved dossier whose completion date cannot be read: that cell's problem, not a
    second one from the rule that resolved dossiers need the date."""
    rows = [_row(0, **{"Ngày hoàn thành": "hôm qua"})]
    outcome, _info = ingest_file(engine, DOSSIER, _csv(rows), "bc.csv", UNIT_A,
                                 frozenset(catalog.units.units), SETTINGS, source=uid("q"))
    assert not outcome.accepted
    assert [p.field for p in outcome.problems] == ["resolved_at"]


def test_a_formula_without_its_result_is_said_where_it_is_read(engine: Engine,
                                                              catalog: Catalog) -> None:
    """Programs other than Excel write formulas without their results: one in a column no
    field reads changes nothing; one a field reads is named with what to do, never taken for
    a blank."""
    book = _xlsx([_row(0), _row(1)])
    sheet = book.active
    assert sheet is not None
    sheet["P4"] = "Ghi chú"
    sheet["P5"] = "=1+1"  # a column no field reads
    assert len(_load(engine, catalog, _bytes(book), "bc.xlsx")) == 2
    sheet["I6"] = "=0+0"  # "Số lần bổ sung", a required field
    outcome, _info = ingest_file(engine, DOSSIER, _bytes(book), "bc.xlsx", UNIT_A,
                                 frozenset(catalog.units.units), SETTINGS, source=uid("q"))
    assert not outcome.accepted
    [problem] = outcome.problems
    assert (problem.row, problem.field) == (6, "supplement_requests")
    assert "open the file in Excel and save it again" in str(problem)


def test_an_xls_workbook_read_from_its_sheet_of_records(engine: Engine,
                                                        catalog: Catalog) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    summary = book.add_sheet("Tong hop")
    summary.write(0, 0, "Tổng số hồ sơ")
    summary.write(0, 1, 2)
    sheet = book.add_sheet("Chi tiet")
    for c, heading in enumerate(HEAD):
        sheet.write(0, c, heading)
    for r in range(2):
        for c, cell in enumerate(_row(r)):
            sheet.write(r + 1, c, cell)
    out = io.BytesIO()
    book.save(out)
    assert len(_load(engine, catalog, out.getvalue(), "bc.xls")) == 2


def test_an_optional_tick_columns_blank_stays_unknown(engine: Engine, catalog: Catalog) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*HEAD, "Kết quả điện tử"])
    writer.writerow([*_row(0), "x"])
    writer.writerow([*_row(1, **{"Trạng thái": "Đang xử lý", "Ngày hoàn thành": ""}), ""])
    stored = _load(engine, catalog, out.getvalue().encode(), "bc.csv")
    assert stored["Q-0"].result_electronic is True
    assert stored["Q-1"].result_electronic is None  # not resolved yet: no result either way
