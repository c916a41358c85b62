"""Vietnamese dictionary order for lists of names (unit pickers): letters first, with ă, â
after a, đ after d, ê after e, ô, ơ after o, ư after u; then tones."""

from __future__ import annotations

import random
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.conftest import role_headers

from chiso.catalog.loader import Catalog
from chiso.text import vi_key


def test_letters_then_tones_in_dictionary_order() -> None:
    expected = ["ma", "mà", "mả", "mã", "má", "mạ", "mă", "mâ", "mb"]
    shuffled = random.Random(7).sample(expected, len(expected))
    assert sorted(shuffled, key=vi_key) == expected
    names = ["Xã An Khánh", "Xã Ăn Thử", "Xã Ba Vì", "Xã Dương Hòa", "Xã Đa Phúc",
             "Xã Ô Diên", "Xã Ơn Hòa", "Xã Uy Nỗ", "Xã Ứng Hòa", "Xã Yên Xuân"]
    assert sorted(random.Random(3).sample(names, len(names)), key=vi_key) == names
    assert sorted(["Sở Nông nghiệp và Môi trường", "Sở Nội vụ"], key=vi_key) == [
        "Sở Nội vụ", "Sở Nông nghiệp và Môi trường"]


def test_the_alerts_page_lists_the_units_in_that_order(
        catalog: Catalog, fresh_client: TestClient, fresh_engine: Engine) -> None:
    page = fresh_client.get("/canh-bao", params={"lang": "vi"},
                            headers=role_headers(fresh_engine, "operator"))
    assert page.status_code == 200
    communes = {u.name for u in catalog.units.units.values() if u.kind.value == "commune"}
    shown = [n for n in re.findall(r"<option value=\"[^\"]*\"[^>]*>([^<]+) \(\w+\)</option>",
                                   page.text) if n in communes]
    assert len(shown) == len(communes)
    assert shown == sorted(shown, key=vi_key)
