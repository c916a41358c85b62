"""Every source-defect note has a Vietnamese text beside its English one, and a page shows the
note in the reader's language."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from chiso.catalog.errors import CatalogError
from chiso.catalog.loader import DEFAULT_DATA_DIR, Catalog, iter_notes, load_catalog

# Letters that only Vietnamese writing uses (tone marks, ă, â, đ, ơ, ư): an English text has none.
VIETNAMESE = re.compile(r"[ăâđêôơưạảãáàặẳẵắằậẩẫấầẹẻẽéèệểễếềịỉĩíìọỏõóòộổỗốồợởỡớờụủũúùựửữứừỵỷỹýỳ]")


def test_every_note_has_a_vietnamese_text(catalog: Catalog) -> None:
    notes = [note for entry in catalog.plans.values() for _, note in iter_notes(entry)]
    assert len(notes) == sum(counts["notes"] for counts in catalog.stats().values())
    assert len(notes) >= 140
    for note in notes:
        assert note.text_vi.strip(), note.text
        assert note.text_vi != note.text
        # The Vietnamese text is written in Vietnamese, not the English with quotes kept.
        quoted = re.sub(r"[\"'“”‘’«»][^\"'“”‘’«»]*[\"'“”‘’«»]", "", note.text_vi)
        assert VIETNAMESE.search(quoted), note.text_vi


def test_a_note_without_vietnamese_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    path = data / "plans" / "131-KH-UBND-2026" / "plan.yaml"
    plan = yaml.safe_load(path.read_text(encoding="utf-8"))
    del plan["plan"]["notes"][0]["text_vi"]
    path.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog(data)
    assert caught.value.file == str(path)
    assert caught.value.field is not None
    assert "text_vi" in caught.value.field


def test_the_plan_page_shows_notes_in_the_readers_language(client: TestClient,
                                                           catalog: Catalog) -> None:
    entry = catalog.plans["131/KH-UBND"]
    note = entry.plan.notes[0]
    vi = client.get("/plans/131-KH-UBND?lang=vi").text
    assert note.text_vi.replace('"', "&#34;").replace("'", "&#39;") in vi
    assert note.text.replace('"', "&#34;").replace("'", "&#39;") not in vi
    en = client.get("/plans/131-KH-UBND?lang=en").text
    assert note.text.replace('"', "&#34;").replace("'", "&#39;") in en
    assert note.text_vi.replace('"', "&#34;").replace("'", "&#39;") not in en
