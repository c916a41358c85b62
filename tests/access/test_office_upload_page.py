"""The upload page tells a steward, in Vietnamese, which rows of an office export it read as
the export's layout (group headings, totals, footer) rather than as records."""

from __future__ import annotations

import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from tests.factories import UNIT_A, bearer, dossier, uid

from chiso_sim.files import office_xls


def _records() -> list[dict[str, object]]:
    channels = ["online", "online", "direct", "online", "postal", "direct"]
    return [dossier(i, id=uid("HS"), unit=UNIT_A, channel=c) for i, c in enumerate(channels)]


def test_the_upload_page_names_the_rows_it_read_as_layout(
        app_client: TestClient, make_user: Callable[..., tuple[str, str]]) -> None:
    _name, steward = make_user("data_steward", UNIT_A)
    r = app_client.post("/intake/upload", data={"feed": "tthc.dossier", "unit": UNIT_A},
                        files={"file": ("BaoCao.xls", io.BytesIO(office_xls(_records())))},
                        headers=bearer(steward))
    assert r.status_code == 200, r.text
    assert 'id="layout-rows"' in r.text
    assert "dòng tổng cộng: “Tổng cộng: 6 hồ sơ | 24”" in r.text  # the components summed
    assert "tiêu đề nhóm: “I | I. Hồ sơ nộp trực tuyến”" in r.text
