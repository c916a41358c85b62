"""Files as agencies export them: every column mapped or reported, a row's unit never replaced
by the upload's default when the file has a unit column, and malformed files refused with a
4xx naming row, column and field in bounded time (on SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.factories import dossier, feed_contract, uid

from chiso.catalog.loader import Catalog
from chiso.intake.doors import ingest_file
from chiso.intake.files import MAX_CELL
from chiso.intake.pipeline import Outcome
from chiso.intake.settings import IntakeSettings
from chiso.store.tables import intake_batches
from chiso_sim.files import DOSSIER_HEADERS, dossier_csv

DOSSIER = feed_contract("tthc.dossier")
SETTINGS = IntakeSettings(pseudonym_key="file-columns-key")  # type: ignore[arg-type]
WITH_UNIT = [f for f in DOSSIER_HEADERS if f != "applicant_name"]


def _upload(engine: Engine, catalog: Catalog, data: bytes,
            unit: str = "00070") -> tuple[Outcome, dict[str, Any]]:
    return ingest_file(engine, DOSSIER, data, "xa.csv", unit, frozenset(catalog.units.units),
                       SETTINGS, source=uid("file"))


def _two_units() -> list[dict[str, Any]]:
    return [dossier(0, id=uid("HS"), unit="00070"), dossier(1, id=uid("HS"), unit="00082")]


@pytest.mark.parametrize("heading", ["Xã/phường thực hiện", "Nơi tiếp nhận"])
def test_a_unit_column_under_an_unknown_heading_is_not_ignored(
    engine: Engine, catalog: Catalog, heading: str
) -> None:
    data = dossier_csv(_two_units(), fields=WITH_UNIT).decode().replace("Mã đơn vị", heading)
    outcome, _ = _upload(engine, catalog, data.encode())
    assert not outcome.accepted  # before: both rows filed under 00070
    [problem] = outcome.problems
    assert (problem.field, problem.row, problem.column) == ("unit", 3, f"B ({heading})")
    assert "'Mã đơn vị'" in problem.message


def test_a_blank_unit_cell_is_not_filled_with_the_uploads_unit(
    engine: Engine, catalog: Catalog
) -> None:
    rows = _two_units()
    rows[1]["unit"] = ""
    outcome, _ = _upload(engine, catalog, dossier_csv(rows, fields=WITH_UNIT))
    assert not outcome.accepted
    assert [(p.row, p.field) for p in outcome.problems] == [(5, "unit")]


def test_a_column_no_field_reads_is_reported(engine: Engine, catalog: Catalog) -> None:
    data = dossier_csv([dossier(0, id=uid("HS"))]).decode().splitlines()
    data[2] += ",Ghi chú"
    data[3] += ",đã gọi điện"
    outcome, info = _upload(engine, catalog, "\n".join(data).encode())
    assert outcome.accepted, [str(p) for p in outcome.problems]
    assert info["unmapped_columns"] == ["Q (Ghi chú)"]


def test_an_over_long_cell_names_row_column_and_field(engine: Engine,
                                                      catalog: Catalog) -> None:
    lines = dossier_csv([dossier(0, id=uid("HS")), dossier(1, id=uid("HS"))]).decode()\
        .splitlines()
    cells = lines[4].split(",")
    cells[6] = "x" * (MAX_CELL + 10)  # column G, Kênh nộp
    lines[4] = ",".join(cells)
    outcome, _ = _upload(engine, catalog, "\n".join(lines).encode())
    [problem] = outcome.problems
    assert (problem.row, problem.column, problem.field) == (5, "G (Kênh nộp)", "channel")


def test_a_file_of_commas_is_refused_fast(engine: Engine, catalog: Catalog) -> None:
    start = time.perf_counter()
    outcome, _ = _upload(engine, catalog, b"x" + b"," * 2_000_000 + b"y\n")
    assert time.perf_counter() - start < 1.5
    [problem] = outcome.problems
    assert problem.row == 1
    assert problem.column == "SG"  # the first column past the limit of 500
    assert "500" in problem.message


def test_the_page_answers_4xx_for_malformed_files_and_evidence_names_download(
    client: TestClient, engine: Engine, steward_headers: dict[str, str]
) -> None:
    huge = b"Ma ho so,Ghi chu\n1," + b"x" * (MAX_CELL + 1) + b"\n"
    for data in (huge, b"," * 2_000_000):
        r = client.post("/intake/upload", data={"feed": "tthc.dossier", "unit": "00070"},
                        files={"file": ("x.csv", io.BytesIO(data))}, headers=steward_headers)
        assert r.status_code == 422, r.text[:300]
        assert "dòng " in r.text.lower()  # the problem names its row, in Vietnamese
    stats = ("Mã chỉ tiêu;Kỳ;Giá trị;Nguồn;Ngày công bố\n"
             "ihanoi_accounts;2026-10;1.234;Báo cáo 12/BC-UBND;05/11/2026\n").encode()
    name = "Biên bản nghiệm thu số 12 của Ủy ban nhân dân phường Hoàn Kiếm " * 3 + ".pdf"
    r = client.post("/intake/upload", data={"feed": "stats.value", "unit": "00070"},
                    files={"file": ("v.csv", io.BytesIO(stats)),
                           "evidence": (name, io.BytesIO(b"%PDF-1.4 " + uid().encode()))},
                    headers=steward_headers)
    assert r.status_code == 200, r.text
    with engine.connect() as conn:
        sha = conn.execute(select(intake_batches.c.evidence_sha256).order_by(
            intake_batches.c.id.desc()).limit(1)).scalar_one()
    raw = client.get(f"/api/v1/intake/raw/{sha}", headers=steward_headers)
    assert raw.status_code == 200
    assert raw.content.startswith(b"%PDF-1.4")
    assert "Bi%C3%AAn" in raw.headers["x-chiso-archive"]
