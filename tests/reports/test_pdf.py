"""The PDF of a report: its text (pdftotext) carries the DOCX's numbers, its fonts are
embedded, and its first page is rendered to PNG under artifacts/reports/ for people to look
at (not committed)."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from docx import Document

from chiso.context import Runtime
from chiso.reports.build import build

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "reports"
NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


@pytest.mark.parametrize("unit", ["city", "00070"])
def test_the_pdf_says_what_the_docx_says(runtime: Runtime, tmp_path: Path, unit: str) -> None:
    got = build(runtime, "monthly", "2026-11", unit, tmp_path, issued=date(2027, 1, 5))
    docx_path, pdf_path = got.paths[0], got.paths[2]
    pages = subprocess.run(["pdftotext", str(pdf_path), "-"], check=True,
                           capture_output=True, text=True).stdout
    # A paragraph may run across a page break, where the page's number is printed.
    text = _flat(re.sub(r"(?:\n\s*\d+\s*)?\f(?:\s*\d+\s*\n)?", " ", pages))
    doc = Document(str(docx_path))
    paragraphs = [_flat(p.text) for p in doc.paragraphs if p.text.strip()]
    for needle in ("BÁO CÁO", "Hà Nội, ngày 05 tháng 01 năm 2027", "Nơi nhận:",
                   "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"):
        assert needle in text
    number = _flat(doc.tables[0].rows[0].cells[0].paragraphs[-1].text)
    assert number.startswith("Số:")
    assert number.split("/")[-1] in text
    tally = next(p for p in paragraphs if p.startswith("Tổng số"))
    assert tally in text
    # Table cells wrap in the PDF: each number of the targets table (value, threshold,
    # forecast) is found as written in the DOCX.
    numbers = {n for row in doc.tables[1].rows[1:] for cell in row.cells[2:5]
               for n in NUMBER.findall(cell.text)}
    assert numbers
    words = set(text.split())
    assert all(any(w.startswith(n) for w in words) for n in numbers)
    fonts = subprocess.run(["pdffonts", str(pdf_path)], check=True, capture_output=True,
                           text=True).stdout.splitlines()[2:]
    assert fonts
    assert all("LiberationSerif" in f and " yes yes yes " in f for f in fonts)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = ARTIFACTS / f"{pdf_path.stem}-{runtime.engine.dialect.name}"
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf_path), str(stem)], check=True)
    assert stem.with_suffix(".png").stat().st_size > 10_000
