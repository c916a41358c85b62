"""Reports as office systems export them, in every format they come in: the records are read,
and the rows an export lays out around them (group headings, totals, the date line and
signatures) are reported as such, never taken for records and never silently dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select
from tests.factories import UNIT_A, dossier, feed_contract, uid

from chiso.catalog.loader import Catalog
from chiso.intake.doors import ingest_file
from chiso.intake.settings import IntakeSettings
from chiso.intake.sheets import MAX_COLUMNS, MAX_SPAN, FileRefusedError, read_sheet
from chiso.store.tables import feed_tthc_dossier
from chiso_sim.files import (
    office_html_xls,
    office_report,
    office_spreadsheet_ml,
    office_text,
    office_xls,
    office_xlsx,
)

DOSSIER = feed_contract("tthc.dossier")
SETTINGS = IntakeSettings(pseudonym_key="office-test-key")  # type: ignore[arg-type]

EXPORTS: dict[str, tuple[str, Callable[[list[dict[str, Any]]], bytes], str]] = {
    # name: (file name, writer, kind chiso reads it as)
    "xlsx": ("BaoCao.xlsx", office_xlsx, "xlsx"),
    "xls": ("BaoCao.xls", office_xls, "xls"),
    "html-named-xls": ("BaoCao.xls", office_html_xls, "html"),
    "html-windows-1258": ("BaoCao.xls", lambda r: office_html_xls(r, charset="windows-1258"),
                          "html"),
    "xml-spreadsheet-2003": ("BaoCao.xml", office_spreadsheet_ml, "xml"),
    "unicode-text": ("BaoCao.txt", office_text, "csv"),
    "csv": ("BaoCao.csv", lambda r: office_text(r, encoding="utf-8", delimiter=","), "csv"),
}


def _records() -> list[dict[str, Any]]:
    channels = ["online", "online", "direct", "online", "postal", "direct"]
    return [dossier(i, id=uid("HS"), unit=UNIT_A, channel=channel,
                    supplement_days=1.5 if i == 2 else 0)
            for i, channel in enumerate(channels)]


@pytest.mark.parametrize("export", sorted(EXPORTS))
def test_an_office_export_is_read_with_its_layout_reported(
        engine: Engine, catalog: Catalog, export: str) -> None:
    records = _records()
    name, write, kind = EXPORTS[export]
    source = uid("office")
    outcome, info = ingest_file(engine, DOSSIER, write(records), name, UNIT_A,
                                frozenset(catalog.units.units), SETTINGS, source=source)
    assert outcome.accepted, [str(p) for p in outcome.problems]
    assert info["kind"] == kind
    assert outcome.records == len(records)
    head, body, _fields = office_report(records)
    # The HTML export writes its title above the table, as text: the table's own rows count.
    above = 2 if kind == "html" else len(head)
    expected_rows = {above + i + 1: row for i, row in enumerate(body)}
    layout = {(x["row"], x["kind"]) for x in info["layout_rows"]}
    groups = {r for r, row in expected_rows.items() if len(row) == 2}
    assert {(r, "group") for r in groups} <= layout
    totals = next(r for r, row in expected_rows.items()
                  if row and str(row[1]).startswith("Tổng cộng"))
    assert (totals, "totals") in layout
    assert {r for r, k in layout if k == "footer"} == {totals + 2, totals + 3, totals + 4}
    assert len(layout) == len(groups) + 4
    with engine.connect() as conn:
        stored = conn.execute(select(feed_tthc_dossier.c.record_id, feed_tthc_dossier.c.channel,
                                     feed_tthc_dossier.c.supplement_days)
                              .where(feed_tthc_dossier.c.source == source)).all()
    assert sorted(stored) == sorted((r["id"], r["channel"], r["supplement_days"])
                                    for r in records)


def test_a_broken_record_is_still_refused_by_row_and_field(engine: Engine,
                                                           catalog: Catalog) -> None:
    """Layout is only a row that leaves most required columns blank: a record missing one
    value is validated, and the file refused naming its row and column."""
    records = _records()
    records[3]["procedure"] = ""
    outcome, _info = ingest_file(engine, DOSSIER, office_xlsx(records), "BaoCao.xlsx", UNIT_A,
                                frozenset(catalog.units.units), SETTINGS, source=uid("office"))
    assert not outcome.accepted
    [problem] = outcome.problems
    assert problem.field == "procedure"
    assert problem.column
    assert "Mã thủ tục" in problem.column
    head, body, _fields = office_report(records)
    row = next(len(head) + i + 1 for i, cells in enumerate(body)
               if records[3]["id"] in cells)
    assert problem.row == row


def test_html_spans_are_laid_out_as_merged_cells() -> None:
    page = (b"<table><tr><th rowspan=2>A</th><th colspan=2>B</th><th rowspan=2>C</th></tr>"
            b"<tr><th>B1</th><th>B2</th></tr><tr><td>1</td><td>2</td><td>3</td><td>4</td></tr>"
            b"</table>")
    sheet = read_sheet(page, "x.xls", SETTINGS)
    assert sheet.rows == [["A", "B", None, "C"], [None, "B1", "B2"], ["1", "2", "3", "4"]]


def test_the_largest_table_of_a_page_is_read() -> None:
    page = (b"<html><body><table><tr><td>Logo</td></tr></table>"
            b"<table><tr><td>h1</td><td>h2</td></tr><tr><td>a</td><td>b</td></tr>"
            b"<tr><td>c</td><td>d</td></tr></table></body></html>")
    assert read_sheet(page, "x.xls", SETTINGS).rows == [["h1", "h2"], ["a", "b"], ["c", "d"]]


@pytest.mark.parametrize(("data", "said"), [
    (b"<html><body><p>Kh\xc3\xb4ng c\xc3\xb3 d\xe1\xbb\xaf li\xe1\xbb\x87u</p></body></html>",
     "without a table"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Workbook '
     b'xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet><Table><Row><Cell>'
     b"<Data>&a;</Data></Cell></Row></Table></Worksheet></Workbook>", "XML Spreadsheet"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "Excel 97-2003"),
])
def test_a_file_that_cannot_be_read_says_what_to_do(data: bytes, said: str) -> None:
    with pytest.raises(FileRefusedError, match=said):
        read_sheet(data, "BaoCao.xls", SETTINGS)


def test_spans_and_widths_of_a_hostile_page_are_bounded() -> None:
    tall = ("<table><tr><td colspan=100000 rowspan=100000>x</td></tr>"
            + "<tr><td>y</td></tr>" * 3 + "</table>")
    rows = read_sheet(tall.encode(), "x.xls", SETTINGS).rows
    assert rows[0] == ["x"]
    assert rows[1] == [None] * MAX_SPAN + ["y"]  # a span covers at most MAX_SPAN cells
    wide = "<table><tr>" + "<td colspan=100000>x</td>" * 50 + "</tr></table>"
    with pytest.raises(FileRefusedError, match=f"more than the limit {MAX_COLUMNS}"):
        read_sheet(wide.encode(), "x.xls", SETTINGS)
