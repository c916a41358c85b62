"""The push API end to end through the real FastAPI app (TestClient), on both databases."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from tests.factories import dossier, uid

from chiso.intake.pipeline import read_raw
from chiso.intake.sources import add_source
from chiso.store.tables import feed_tthc_dossier_versions, intake_batches

URL = "/api/v1/feeds/tthc.dossier/records"


@pytest.fixture
def source(engine: Engine) -> tuple[str, str]:
    name = uid("dvc")
    return name, add_source(engine, name, ["tthc.dossier"], ["00070", "00082"])


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _versions(engine: Engine, source: str) -> int:
    t = feed_tthc_dossier_versions
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t)
                                .where(t.c.source == source)).scalar_one())


def test_a_batch_is_accepted_after_commit_and_a_resend_counts_nothing(
    client: TestClient, engine: Engine, source: tuple[str, str]
) -> None:
    name, token = source
    batch = [dossier(i, unit="00082" if i % 2 else "00070") for i in range(20)]
    first = client.post(URL, json=batch, headers=_auth(token))
    assert first.status_code == 200, first.text
    assert first.json()["new_versions"] == 20
    assert _versions(engine, name) == 20
    again = client.post(URL, json={"records": batch}, headers=_auth(token))
    assert again.status_code == 200
    assert (again.json()["new_versions"], again.json()["latest_changed"]) == (0, 0)
    assert _versions(engine, name) == 20


def test_ndjson_batches(client: TestClient, engine: Engine, source: tuple[str, str]) -> None:
    name, token = source
    body = "\n".join(json.dumps(dossier(i)) for i in range(30)) + "\n"
    r = client.post(URL, content=body, headers={**_auth(token),
                                                "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    assert _versions(engine, name) == 30


def test_a_bad_batch_is_refused_whole_listing_every_record(
    client: TestClient, engine: Engine, source: tuple[str, str]
) -> None:
    name, token = source
    batch = [dossier(0), dossier(1, supplement_requests="two"), dossier(2),
             dossier(3, unit="SKHCN"), dossier(4, resolved_at="2026-01-01T00:00:00+07:00")]
    r = client.post(URL, json=batch, headers=_auth(token))
    assert r.status_code == 422
    problems = {(p["index"], p["field"]) for p in r.json()["problems"]}
    assert problems == {(1, "supplement_requests"), (3, "unit"), (4, "resolved_at")}
    assert "refused whole" in r.json()["detail"]
    assert _versions(engine, name) == 0
    with engine.connect() as conn:
        sha = conn.execute(select(intake_batches.c.raw_sha256).where(
            intake_batches.c.source == name, intake_batches.c.status == "refused")).scalar_one()
        raw = read_raw(conn, sha)
    assert raw is not None
    assert json.loads(raw)[1]["supplement_requests"] == "two"


def test_malformed_json_is_a_400_and_kept(
    client: TestClient, engine: Engine, source: tuple[str, str]
) -> None:
    name, token = source
    r = client.post(URL, content=b'[{"id": "HS-1",', headers={**_auth(token),
                                                              "Content-Type": "application/json"})
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["problems"][0]["message"]
    bad_line = json.dumps(dossier(1)) + "\n{oops\n"
    r = client.post(URL, content=bad_line, headers={**_auth(token),
                                                    "Content-Type": "application/x-ndjson"})
    assert r.status_code == 422
    assert r.json()["problems"][0]["row"] == 2
    with engine.connect() as conn:
        kept = conn.execute(select(func.count()).select_from(intake_batches).where(
            intake_batches.c.source == name, intake_batches.c.status == "refused")).scalar_one()
    assert kept == 2


def test_tokens_are_checked_and_scoped(
    client: TestClient, engine: Engine, source: tuple[str, str]
) -> None:
    _name, token = source
    assert client.post(URL, json=[dossier()]).status_code == 401
    assert client.post(URL, json=[dossier()], headers=_auth("chiso_wrong")).status_code == 401
    other = client.post("/api/v1/feeds/ihanoi.feedback/records", json=[{}],
                        headers=_auth(token))
    assert other.status_code == 403
    assert "may not send feed 'ihanoi.feedback'" in other.json()["detail"]
    assert client.post("/api/v1/feeds/nope.feed/records", json=[{}],
                       headers=_auth(token)).status_code == 404


def test_contracts_and_batches_are_readable(client: TestClient, source: tuple[str, str],
                                            steward_headers: dict[str, str]) -> None:
    feeds = client.get("/api/v1/feeds").json()
    assert {f["feed"] for f in feeds} >= {"tthc.dossier", "stats.value"}
    name, token = source
    client.post(URL, json=[dossier()], headers=_auth(token))
    batches = client.get("/api/v1/intake/batches", params={"source": name},
                         headers=steward_headers).json()
    assert batches[0]["status"] == "accepted"
    assert batches[0]["door"] == "push"


def test_refused_payload_can_be_inspected(client: TestClient, source: tuple[str, str],
                                          steward_headers: dict[str, str]) -> None:
    _name, token = source
    body = b'[{"id": "HS-1", "unit": "00070"'
    r = client.post(URL, content=body, headers={**_auth(token),
                                                "Content-Type": "application/json"})
    # refused before it could be parsed: only its hash and size are kept (no clear identifiers)
    raw = client.get(f"/api/v1/intake/raw/{r.json()['raw_sha256']}", headers=steward_headers)
    assert raw.status_code == 410
    assert "hash and size" in raw.json()["detail"]
    assert client.get("/api/v1/intake/raw/" + "0" * 64,
                      headers=steward_headers).status_code == 404
