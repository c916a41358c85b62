"""Server-rendered pages: Vietnamese first, English on request, Vietnamese number forms."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.conftest import role_headers

from chiso.web import format, i18n


def test_plans_page_is_vietnamese_by_default(client: TestClient) -> None:
    page = client.get("/plans")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert "Các kế hoạch chuyển đổi số của thành phố Hà Nội" in page.text
    assert "131/KH-UBND" in page.text


def test_english_is_switchable_and_remembered(client: TestClient) -> None:
    page = client.get("/plans", params={"lang": "en"})
    assert "Digital-transformation plans of Hanoi" in page.text
    assert page.cookies.get("chiso_lang") == "en"
    again = client.get("/plans/131-KH-UBND")
    assert '<html lang="en">' in again.text
    client.cookies.clear()


def test_plan_page_lists_targets_and_tasks(client: TestClient) -> None:
    page = client.get("/plans/131-KH-UBND", params={"lang": "vi"})
    assert "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn" in page.text
    assert "Chỉ tiêu (61)" in page.text
    assert "31/12/2026" in page.text
    client.cookies.clear()


def test_unit_page_shows_what_the_unit_owns(client: TestClient) -> None:
    page = client.get("/units/09556")
    assert "Phường Hà Đông" in page.text
    assert "I.11" in page.text


def test_unit_search_page(client: TestClient) -> None:
    page = client.get("/units", params={"q": "khoa hoc cong nghe"})
    assert "Sở Khoa học và Công nghệ" in page.text


def test_missing_page_is_404(client: TestClient) -> None:
    assert client.get("/plans/NOPE").status_code == 404


def test_numbers_and_dates_in_vietnamese_form() -> None:
    token = i18n.current_locale.set("vi")
    try:
        assert format.number(1234567, 0) == "1.234.567"
        assert format.percent(Decimal("98.5")) == "98,5%"
        # one decimal at most, and none when it rounds to a whole number: 88% not 88,0%
        assert format.percent(88) == "88%"
        assert format.percent(87.96) == "88%"
        assert format.percent(85.63) == "85,6%"
        assert format.number(0.05) == "0,1"
        from datetime import date

        assert format.day(date(2026, 12, 31)) == "31/12/2026"
    finally:
        i18n.current_locale.reset(token)
    token = i18n.current_locale.set("vi")
    try:
        assert format.period("2026-Q3") == "Quý III/2026"
        assert format.period("2026-10") == "Tháng 10/2026"
        assert format.period("2026-01-01..2026-11-24") == "01/01/2026 – 24/11/2026"
        assert format.period("2026-H1") == "6 tháng đầu năm 2026"
        assert format.period("2026") == "Năm 2026"
    finally:
        i18n.current_locale.reset(token)
    token = i18n.current_locale.set("en")
    try:
        assert format.number(1234567, 0) == "1,234,567"
    finally:
        i18n.current_locale.reset(token)


def test_split_targets_show_their_own_threshold_words(client: TestClient) -> None:
    page = client.get("/plans/131-KH-UBND", params={"lang": "vi"}).text
    client.cookies.clear()
    assert "«≥ 60% hồ sơ thuộc các nhóm này" in page  # I.13b, not only the whole row


def test_target_page_marks_its_own_threshold_in_the_row(client: TestClient) -> None:
    page = client.get("/plans/131-KH-UBND/targets/I.13b", params={"lang": "vi"}).text
    client.cookies.clear()
    assert "<mark>≥ 60% hồ sơ thuộc các nhóm này" in page


def test_unknown_page_is_a_vietnamese_404_page(client: TestClient) -> None:
    page = client.get("/units/XYZ")
    assert page.status_code == 404
    assert "Không tìm thấy" in page.text
    api = client.get("/api/v1/units/XYZ")
    assert api.status_code == 404
    assert api.json()["detail"] == "unit XYZ not found"


@pytest.mark.parametrize(("path", "said"), [
    ("/units/XYZ", "Không tìm thấy đơn vị có mã “XYZ”."),
    ("/plans/NOPE", "Không tìm thấy kế hoạch có mã “NOPE”."),
    ("/plans/131-KH-UBND/targets/Z.9", "Không tìm thấy chỉ tiêu có mã “Z.9”."),
    ("/indicators/nope.code", "Không tìm thấy chỉ số có mã “nope.code”."),
    ("/canh-bao?unit=zzz", "Không tìm thấy đơn vị có mã “zzz”."),
    ("/rankings/no-such-method", "Không tìm thấy phương pháp chấm điểm có mã “no-such-method”."),
    ("/intake/data-quality?feed=no.feed", "Không tìm thấy luồng dữ liệu có mã “no.feed”."),
])
def test_a_page_about_something_that_does_not_exist_names_it_in_vietnamese(
        client: TestClient, engine: Engine, path: str, said: str) -> None:
    join = "&" if "?" in path else "?"
    operator = role_headers(engine, "operator")  # some of the pages are not public
    page = client.get(f"{path}{join}lang=vi", headers=operator)
    assert page.status_code == 404
    assert said in page.text
    assert 'lang="en"' not in page.text.split("<main", 1)[1]  # no English left in the body
    english = client.get(f"{path}{join}lang=en", headers=operator)
    assert "There is no" in english.text
    client.cookies.clear()


def test_a_refused_page_says_why_in_vietnamese(client: TestClient, engine: Engine) -> None:
    page = client.get("/audit", params={"lang": "vi"},
                      headers=role_headers(engine, "viewer"))
    assert page.status_code == 403
    body = page.text.split("<main", 1)[1]
    assert "Vai trò của tài khoản không cho phép việc này." in body
    assert "your roles" not in body
    client.cookies.clear()


def test_unit_kinds_and_groups_are_named_in_vietnamese(client: TestClient) -> None:
    page = client.get("/units/09556").text
    assert "UBND cấp xã" in page
    assert "G-UBNDXA<" not in page
    assert "phường" in page
    units = client.get("/units", params={"kind": "department"}).text
    assert ">Sở<" in units


@pytest.mark.parametrize("path", ["/rankings/dvc-766", "/indicators/tthc.on_time_rate"])
def test_a_period_that_cannot_be_read_is_said_in_vietnamese(client: TestClient,
                                                            path: str) -> None:
    page = client.get(path, params={"period": "2026-13", "lang": "vi"})
    body = page.text.split("<main", 1)[1]
    assert "'2026-13' không phải là kỳ có thật" in body.replace("&#39;", "'")
    assert "is not a real period" not in body
    english = client.get(path, params={"period": "2026-13", "lang": "en"})
    assert "is not a real period" in english.text.replace("&#39;", "'")
    client.cookies.clear()
