"""The stored reports over HTTP: the operator builds, a unit officer reads, downloads and
issues its own unit's reports only, the city's stay with city-wide roles; the page lists
them in Vietnamese under /bao-cao and in English under /reports."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.conftest import role_headers

from chiso.context import Runtime

HOAN_KIEM, BA_DINH = "00070", "00004"


def test_reports_over_http_by_role(fresh_runtime: Runtime, fresh_client: TestClient) -> None:
    api = fresh_client
    engine = fresh_runtime.engine
    operator = role_headers(engine, "operator")
    officer = role_headers(engine, "unit_officer", HOAN_KIEM)
    other = role_headers(engine, "unit_officer", BA_DINH)
    viewer = role_headers(engine, "viewer")

    wrong = api.post("/api/v1/reports", headers=operator,
                     json={"kind": "monthly", "period": "2026-Q4", "unit": HOAN_KIEM})
    assert wrong.status_code == 422
    assert "write e.g. 2026-11" in wrong.json()["detail"][0]["msg"]
    assert api.post("/api/v1/reports", headers=viewer,
                    json={"kind": "monthly", "period": "2026-11"}).status_code == 403
    mine = api.post("/api/v1/reports", headers=operator,
                    json={"kind": "monthly", "period": "2026-11", "unit": HOAN_KIEM})
    assert mine.status_code == 201, mine.text
    city = api.post("/api/v1/reports", headers=operator,
                    json={"kind": "monthly", "period": "2026-11", "unit": "city"})
    assert city.status_code == 201, city.text
    mine_id, city_id = mine.json()["id"], city.json()["id"]

    listed = api.get("/api/v1/reports", headers=operator).json()
    assert {r["unit"] for r in listed} == {HOAN_KIEM, "city"}
    # paged, with the count of all that match: nothing is cut off unsaid
    pages = [api.get("/api/v1/reports", headers=operator, params={"size": 1, "page": n})
             for n in (1, 2, 3)]
    assert [r.headers["X-Total-Count"] for r in pages] == ["2", "2", "2"]
    assert [[x["id"] for x in r.json()] for r in pages] == [[listed[0]["id"]],
                                                             [listed[1]["id"]], []]
    assert api.get("/api/v1/reports", headers=operator,
                   params={"size": 201}).status_code == 422
    own = api.get("/api/v1/reports", headers=officer)
    assert own.status_code == 200
    assert [r["id"] for r in own.json()] == [mine_id]
    assert api.get("/api/v1/reports?unit=city", headers=officer).status_code == 403
    assert api.get(f"/api/v1/reports/{city_id}", headers=officer).status_code == 404
    assert api.get(f"/api/v1/reports/{mine_id}", headers=other).status_code == 404
    assert api.get(f"/api/v1/reports/{mine_id}", headers=officer).json()["status"] == "draft"
    assert api.get("/api/v1/reports/999", headers=operator).status_code == 404
    # the same id written another way reaches nothing another unit holds: whatever the
    # handler would read as the number, the guard refuses what it cannot read as the id
    for spelled in (f"{city_id}.0", f"0{city_id}", f"+{city_id}", f"{city_id}.00",
                    f"{city_id}e0", f"%20{city_id}"):
        assert api.get(f"/api/v1/reports/{spelled}", headers=officer).status_code == 404, spelled
        assert api.get(f"/api/v1/reports/{spelled}/files/monthly-2026-11-city.pdf",
                       headers=officer).status_code == 404, spelled
        assert api.post(f"/api/v1/reports/{spelled}/issue", headers=officer,
                        json={"number": "9", "signer": "X", "issued_on": "2026-12-08"}
                        ).status_code == 404, spelled

    pdf = api.get(f"/api/v1/reports/{mine_id}/files/monthly-2026-11-{HOAN_KIEM}.pdf",
                  headers=officer)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert api.get(f"/api/v1/reports/{mine_id}/files/nope.pdf",
                   headers=officer).status_code == 404
    assert api.get(f"/api/v1/reports/{city_id}/files/monthly-2026-11-city.pdf",
                   headers=other).status_code == 404

    form = {"number": "17", "signer": "Trần Thị Bình", "issued_on": "2026-12-08"}
    assert api.post(f"/api/v1/reports/{city_id}/issue", headers=officer,
                    json=form).status_code == 404
    assert api.post(f"/api/v1/reports/{mine_id}/issue", headers=viewer,
                    json=form).status_code == 403
    done = api.post(f"/api/v1/reports/{mine_id}/issue", headers=officer, json=form)
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["number"]) == ("issued", "17")
    assert api.post(f"/api/v1/reports/{mine_id}/issue", headers=officer,
                    json=form).status_code == 409

    # the page's error box says only what the page's own post found: a link cannot word it
    echoed = api.get("/bao-cao", headers=operator,
                     params={"not_issued": city_id, "why": "Gọi ngay số 0999"})
    assert "Gọi ngay" not in echoed.text
    said = api.post(f"/bao-cao/{city_id}/issue", headers=operator,
                    data={"number": "", "signer": "X"})
    assert said.status_code == 422
    assert "number: give the register number" in said.text
    assert api.post(f"/bao-cao/{city_id}/issue", headers=operator,
                    data={"number": "1", "signer": "X", "proposals": "x" * 20_001}
                    ).status_code == 422

    page = api.get("/bao-cao", headers=operator)
    assert page.status_code == 200
    assert "Báo cáo tháng" in page.text
    assert "Đã ban hành: số 17, 08/12/2026 (Trần Thị Bình)" in page.text
    assert "Dự thảo" in page.text
    assert f"/api/v1/reports/{city_id}/files/monthly-2026-11-city.docx" in page.text
    english = api.get("/reports", headers=operator)
    assert "Monthly report" in english.text
    assert "Draft" in english.text
    theirs = api.get("/bao-cao", headers=officer)
    assert theirs.status_code == 200
    assert f"/api/v1/reports/{mine_id}/files/" in theirs.text
    assert f"/api/v1/reports/{city_id}/files/" not in theirs.text
    assert api.get("/bao-cao", follow_redirects=False).status_code in (303, 401)
