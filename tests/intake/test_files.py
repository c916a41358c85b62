"""The file door: agency CSV/XLSX in every encoding and layout, generated here; hostile files."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from tests.factories import dossier, feed_contract, uid

from chiso.catalog.loader import Catalog
from chiso.intake.doors import ingest_file
from chiso.intake.pipeline import pseudonymise, read_raw
from chiso.intake.settings import IntakeSettings
from chiso.store.tables import feed_tthc_dossier, intake_batches
from chiso_sim.files import billion_laughs_xlsx, dossier_csv, dossier_xlsx, zip_bomb

DOSSIER = feed_contract("tthc.dossier")
SETTINGS = IntakeSettings(pseudonym_key="file-test-key")  # type: ignore[arg-type]


def _records(n: int = 12) -> list[dict[str, object]]:
    out = []
    for i in range(n):
        resolved = i % 3 == 0
        out.append(dossier(
            i, id=uid("HS"), status="resolved" if resolved else "processing",
            resolved_at="2026-03-05T15:45:00+07:00" if resolved else None,
            supplement_days=1.5 if i % 4 == 0 else 0, components_total=1200 if i == 1 else 4,
            result_electronic=True if resolved else None, applicant_name="Trần Thị Ánh Nguyệt"))
    return out


def _ingest(engine: Engine, catalog: Catalog, data: bytes, name: str, source: str,
            settings: IntakeSettings = SETTINGS, unit: str = "00070") -> object:
    outcome, _info = ingest_file(engine, DOSSIER, data, name, unit,
                                 frozenset(catalog.units.units), settings, source=source)
    return outcome


LAYOUTS = {
    "utf8.csv": lambda r: dossier_csv(r, encoding="utf-8"),
    "utf8-bom.csv": lambda r: dossier_csv(r, encoding="utf-8-sig", delimiter=";"),
    "cp1258.csv": lambda r: dossier_csv(r, encoding="cp1258", delimiter="\t", title=False),
    "two-headers.xlsx": lambda r: dossier_xlsx(r, two_header_rows=True),
    "one-header-text.xlsx": lambda r: dossier_xlsx(r, two_header_rows=False, typed_cells=False),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_agency_layout_is_read(engine: Engine, catalog: Catalog, layout: str) -> None:
    records = _records()
    src = uid("file")
    outcome = _ingest(engine, catalog, LAYOUTS[layout](records), layout, src)
    assert outcome.accepted, [str(p) for p in outcome.problems]  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(feed_tthc_dossier).where(
            feed_tthc_dossier.c.source == src))}
    assert len(rows) == len(records)
    first, second = rows[str(records[0]["id"])], rows[str(records[1]["id"])]
    assert first.status == "resolved"
    assert first.supplement_days == 1.5
    assert second.components_total == 1200  # "1.200": dot thousands
    assert first.result_electronic is True
    assert second.result_electronic is None
    assert first.received_at.replace(tzinfo=None).isoformat().startswith("2026-03-02T01:30")
    assert first.applicant_name == pseudonymise("Trần Thị Ánh Nguyệt", SETTINGS.key())
    assert first.door == "file"
    assert first.unit == "00070"


def test_identifiers_do_not_reach_the_raw_archive(engine: Engine, catalog: Catalog) -> None:
    outcome = _ingest(engine, catalog, dossier_xlsx(_records(3)), "a.xlsx", uid("file"))
    with engine.connect() as conn:
        raw = read_raw(conn, outcome.raw_sha256)  # type: ignore[attr-defined]
    assert raw is not None
    assert "Nguyệt".encode() not in raw


def test_errors_name_the_spreadsheet_row_and_column(engine: Engine, catalog: Catalog) -> None:
    records = _records(6)
    records[2]["supplement_requests"] = -3
    records[4]["received_at"] = "2026-03-10T08:00:00+07:00"  # after resolved? no: after due
    records[4]["due_at"] = "2026-03-09T08:00:00+07:00"
    src = uid("file")
    outcome = _ingest(engine, catalog, dossier_xlsx(records), "bad.xlsx", src)
    assert not outcome.accepted  # type: ignore[attr-defined]
    where = {(p.row, p.column) for p in outcome.problems}  # type: ignore[attr-defined]
    # title row 1, blank row 2, header rows 3-4, data from row 5
    assert (7, "I (Số lần bổ sung)") in where
    assert any(row == 9 and col and col.startswith("D") for row, col in where)
    csv_outcome = _ingest(engine, catalog, dossier_csv(records), "bad.csv", src)
    rows = {p.row for p in csv_outcome.problems}  # type: ignore[attr-defined]
    assert 6 in rows  # title, blank, header, then data rows 4..: record 2 is row 6
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(feed_tthc_dossier).where(
            feed_tthc_dossier.c.source == src)).scalar_one()
    assert stored == 0


def test_missing_column_and_unknown_encoding_are_refused(engine: Engine,
                                                         catalog: Catalog) -> None:
    records = _records(2)
    no_due = dossier_csv(records, fields=["id", "procedure", "received_at",
                                                      "status", "updated_at"])
    out = _ingest(engine, catalog, no_due, "x.csv", uid("file"))
    assert any(p.field == "due_at" and "Ngày hẹn trả" in p.message
               for p in out.problems)  # type: ignore[attr-defined]
    binary = b"\x00\x01\x02\x03" + bytes(range(256)) * 4
    out = _ingest(engine, catalog, binary, "x.csv", uid("file"))
    assert "binary" in out.problems[0].message  # type: ignore[attr-defined]
    # TCVN3-like bytes: decodes as Windows-1258 garbage, so no header is recognised
    garbage = "Mã hå s¬,Ngµy tiÕp nhËn\n1,2\n".encode("latin-1", errors="replace")
    out = _ingest(engine, catalog, garbage, "x.csv", uid("file"))
    assert "encoding" in out.problems[0].message  # type: ignore[attr-defined]
    broken = dossier_xlsx(records)[:1500]
    out = _ingest(engine, catalog, broken, "x.xlsx", uid("file"))
    assert not out.accepted
    assert "XLSX" in out.problems[0].message


@pytest.mark.parametrize("hostile", ["zip-bomb", "billion-laughs", "too-big"])
def test_hostile_files_are_refused_fast(engine: Engine, catalog: Catalog, hostile: str) -> None:
    settings = SETTINGS
    if hostile == "zip-bomb":
        data = zip_bomb(150)
    elif hostile == "billion-laughs":
        data = billion_laughs_xlsx(_records(2))
    else:
        data = dossier_csv(_records(50))
        settings = IntakeSettings(pseudonym_key="k", max_upload_bytes=1000)  # type: ignore[arg-type]
    start = time.perf_counter()
    out = _ingest(engine, catalog, data, "evil.xlsx", uid("file"), settings)
    elapsed = time.perf_counter() - start
    assert not out.accepted  # type: ignore[attr-defined]
    assert elapsed < 2.0
    message = out.problems[0].message  # type: ignore[attr-defined]
    assert {"zip-bomb": "zip bomb", "billion-laughs": "DTD", "too-big": "limit"}[hostile] in message


def test_stats_typed_by_hand_needs_evidence_and_is_marked_manual(
    engine: Engine, catalog: Catalog
) -> None:
    csv_text = ("Mã chỉ tiêu;Kỳ;Giá trị;Nguồn;Ngày công bố\n"
                "ihanoi_accounts;2026-10;1.234.567;Báo cáo 12/BC-UBND;05/11/2026\n")
    contract = feed_contract("stats.value")
    units = frozenset(catalog.units.units)
    src = uid("steward")
    refused, _ = ingest_file(engine, contract, csv_text.encode(), "v.csv", "00070", units,
                             SETTINGS, source=src)
    assert not refused.accepted
    assert "evidence" in refused.problems[0].message
    ok, _ = ingest_file(engine, contract, csv_text.encode(), "v.csv", "00070", units, SETTINGS,
                        source=src, evidence=b"%PDF-1.4 signed report", evidence_name="bc.pdf")
    assert ok.accepted, [str(p) for p in ok.problems]
    with engine.connect() as conn:
        row = conn.execute(select(intake_batches).where(intake_batches.c.id == ok.batch_id)).one()
        value = conn.execute(select(feed_tthc_dossier.metadata.tables["feed_stats_value"])
                             .where(feed_tthc_dossier.metadata.tables["feed_stats_value"]
                                    .c.source == src)).one()
    assert row.manual is True
    assert row.evidence_sha256
    assert value.manual is True
    assert value.value == 1234567


def test_upload_page(client: TestClient, engine: Engine,
                     steward_headers: dict[str, str]) -> None:
    page = client.get("/intake/upload", headers=steward_headers)
    assert page.status_code == 200
    assert "Tải tệp dữ liệu" in page.text
    good = client.post("/intake/upload", data={"feed": "tthc.dossier", "unit": "00070"},
                       files={"file": ("hs.xlsx", io.BytesIO(dossier_xlsx(_records(4))))},
                       headers=steward_headers)
    assert good.status_code == 200, good.text
    assert "Đã tiếp nhận 4 dòng" in good.text
    records = _records(3)
    records[1]["channel"] = "fax"
    bad = client.post("/intake/upload", data={"feed": "tthc.dossier", "unit": "00070"},
                      files={"file": ("hs.csv", io.BytesIO(dossier_csv(records)))},
                      headers=steward_headers)
    assert bad.status_code == 422
    # said in the reader's language: where, then what, with the value and the allowed ones
    assert ("Dòng 5, cột G (Kênh nộp), trường &#39;channel&#39;: &#39;fax&#39; không thuộc "
            "các giá trị: online (Trực tuyến; Nộp trực tuyến;") in bad.text
    assert "direct (Trực tiếp;" in bad.text  # each code with the words files use for it
    english = client.post("/intake/upload?lang=en",
                          data={"feed": "tthc.dossier", "unit": "00070"},
                          files={"file": ("hs.csv", io.BytesIO(dossier_csv(records)))},
                          headers=steward_headers)
    assert "Row 5, column G (Kênh nộp), field &#39;channel&#39;: &#39;fax&#39; is not one of" \
        in english.text


def test_cli_ingest(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    env = {"CHISO_DATABASE_URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin", "CHISO_ENV": "test"}
    good = tmp_path / "hs.csv"
    good.write_bytes(dossier_csv(_records(5), encoding="cp1258"))
    chiso = str(Path(sys.executable).parent / "chiso")
    run = [chiso, "ingest", str(good), "--feed", "tthc.dossier", "--unit", "00070"]
    ok = subprocess.run(run, env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "Accepted 5 rows" in ok.stdout
    assert "windows-1258" in ok.stdout
    records = _records(2)
    records[1]["components_reused"] = 1300
    bad = tmp_path / "bad.csv"
    bad.write_bytes(dossier_csv(records))
    run[2] = str(bad)
    refused = subprocess.run(run, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 1
    assert "row 5, column N (Thành phần tái sử dụng)" in refused.stderr
