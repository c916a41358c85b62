"""Column mappings over HTTP: a steward scoped to one unit reads and writes only its unit's
mappings; a save is a new version (201) and audited; a bad mapping is a 422 naming the
heading or field; the page saves one from what an upload read (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.factories import PASSWORD, UNIT_A, UNIT_B, bearer, dossier, sign_in, uid
from tests.intake.mapping_support import EXPECTED, full_mapping, own_words_csv

from chiso.store.tables import audit_log

MAPPINGS = "/api/v1/intake/mappings"


def test_a_unit_steward_reads_and_writes_only_its_units_mappings(
    app_client: TestClient, fresh_engine: Engine, make_user: Callable[..., tuple[str, str]]
) -> None:
    mine = bearer(make_user("data_steward", UNIT_A)[1])
    city = bearer(make_user("data_steward")[1])
    body = {"source": "motcua", "columns": full_mapping()}
    first = app_client.post(f"{MAPPINGS}/tthc.dossier/{UNIT_A}", json=body, headers=mine)
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1
    assert app_client.post(f"{MAPPINGS}/tthc.dossier/{UNIT_B}", json=body,
                           headers=mine).status_code == 404
    assert app_client.post(f"{MAPPINGS}/tthc.dossier/{UNIT_B}", json=body,
                           headers=city).status_code == 201
    second = app_client.post(f"{MAPPINGS}/tthc.dossier/{UNIT_A}", json=body, headers=mine)
    assert second.json()["version"] == 2
    assert {m["unit"] for m in app_client.get(MAPPINGS, headers=mine).json()} == {UNIT_A}
    assert app_client.get(MAPPINGS, params={"unit": UNIT_B}, headers=mine).status_code == 403
    assert {m["unit"] for m in app_client.get(MAPPINGS, headers=city).json()} == {UNIT_A,
                                                                                  UNIT_B}
    read = app_client.get(f"{MAPPINGS}/tthc.dossier/{UNIT_A}", params={"source": "motcua"},
                          headers=mine)
    assert (read.status_code, read.json()["version"]) == (200, 2)
    assert app_client.get(f"{MAPPINGS}/tthc.dossier/{UNIT_B}", params={"source": "motcua"},
                          headers=mine).status_code == 404
    versions = app_client.get(f"{MAPPINGS}/tthc.dossier/{UNIT_A}/versions",
                              params={"source": "motcua"}, headers=mine).json()
    assert [v["version"] for v in versions] == [2, 1]
    with fresh_engine.connect() as conn:
        saved = conn.execute(select(audit_log.c.unit).where(
            audit_log.c.action == "column mapping saved")).scalars().all()
    assert sorted(saved) == [UNIT_A, UNIT_A, UNIT_B]


def test_a_bad_mapping_is_a_422_naming_it(
    app_client: TestClient, make_user: Callable[..., tuple[str, str]]
) -> None:
    headers = bearer(make_user("data_steward")[1])
    url = f"{MAPPINGS}/tthc.dossier/{UNIT_A}"
    unknown = app_client.post(url, json={"columns": {**full_mapping(), "Ghi chú": "remarks"}},
                              headers=headers)
    assert unknown.status_code == 422
    assert "“Ghi chú”" in unknown.json()["detail"]
    assert "'remarks'" in unknown.json()["detail"]
    twice = app_client.post(url, json={"columns": {**full_mapping(), "Ngày TN": "id"}},
                            headers=headers)
    assert twice.status_code == 422
    assert "both map to field 'id'" in twice.json()["detail"]
    missing = {h: f for h, f in full_mapping().items() if f != "due_at"}
    lacking = app_client.post(url, json={"columns": missing}, headers=headers)
    assert lacking.status_code == 422
    assert "'due_at' is required" in lacking.json()["detail"]
    assert app_client.get(f"{url}/versions", headers=headers).json() == []


def test_proposals_over_the_api(
    app_client: TestClient, make_user: Callable[..., tuple[str, str]]
) -> None:
    headers = bearer(make_user("unit_officer", UNIT_A)[1])
    answer = app_client.post("/api/v1/intake/proposals/tthc.dossier",
                             json={"headings": [*EXPECTED, "Ghi chú"]}, headers=headers)
    assert answer.status_code == 200
    assert {p["heading"]: p["field"] for p in answer.json()} == {**EXPECTED, "Ghi chú": None}


def test_the_page_saves_a_mapping_from_an_upload_and_the_next_file_is_read_with_it(
    app_client: TestClient, make_user: Callable[..., tuple[str, str]]
) -> None:
    name, _ = make_user("data_steward", UNIT_A, password=PASSWORD)
    assert sign_in(app_client, name, PASSWORD).status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"',
                     app_client.get("/intake/upload").text)
    assert csrf
    form = {"feed": "tthc.dossier", "unit": UNIT_A, "source": "motcua",
            "csrf": csrf.group(1)}

    def upload() -> tuple[int, str]:
        data = own_words_csv([dossier(0, id=uid("HS"), unit=UNIT_A)])
        r = app_client.post("/intake/upload", data=form,
                            files={"file": ("hs.csv", io.BytesIO(data))})
        return r.status_code, r.text

    status, page = upload()
    assert status == 422
    pairs = re.findall(r'name="heading" value="([^"]+)">.*?<select name="field"[^>]*>(.*?)'
                       r'</select>', page, re.S)
    chosen = {h: (re.search(r'<option value="([^"]*)" selected>', opts) or [None, ""])[1]
              for h, opts in pairs}
    assert {h: chosen[h] for h in EXPECTED} == EXPECTED
    bad = app_client.post("/intake/mappings", data={
        **form, "heading": list(chosen), "field": ["id" for _ in chosen]})
    assert bad.status_code == 422
    assert 'id="mapping-error"' in bad.text
    # Said in the reader's language (Vietnamese by default), naming the field.
    assert "cùng gán vào trường &#39;id&#39;" in bad.text
    saved = app_client.post("/intake/mappings", data={
        **form, "heading": list(chosen), "field": list(chosen.values())})
    assert saved.status_code == 200, saved.text
    assert 'id="mapping-saved"' in saved.text
    status, page = upload()
    assert status == 200, page
