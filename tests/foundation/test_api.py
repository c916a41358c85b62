"""The JSON API under /api/v1, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_openapi_documents_the_catalog_routes(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/plans", "/api/v1/targets", "/api/v1/tasks", "/api/v1/units",
                 "/api/v1/units/{code}", "/api/v1/plans/{key}/targets/{target_id}"):
        assert path in spec["paths"], path


def _loose(schema: dict[str, object]) -> bool:
    """A schema that says nothing: empty, or an object of any keys with no properties named."""
    return not schema or (schema.get("type") == "object" and "properties" not in schema
                          and "$ref" not in schema)


def test_openapi_has_a_schema_for_every_answer(client: TestClient) -> None:
    """Every JSON answer names its fields; every other answer names its media type."""
    spec = client.get("/api/v1/openapi.json").json()
    vague = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if "204" in op["responses"]:
                continue  # answers nothing
            ok = op["responses"].get("200") or op["responses"].get("201") or {}
            content = ok.get("content", {})
            if not content:
                vague.append(f"{method.upper()} {path}: no media type")
                continue
            schema = content.get("application/json", {}).get("schema")
            items = schema.get("items", {}) if schema and schema.get("type") == "array" else {}
            if schema is not None and (_loose(schema) or (items and _loose(items))):
                vague.append(f"{method.upper()} {path}: {schema}")
    assert not vague, vague


def test_plans_list_counts(client: TestClient) -> None:
    plans = {p["number"]: p for p in client.get("/api/v1/plans").json()}
    assert plans["131/KH-UBND"]["targets"] == 61
    assert plans["131/KH-UBND"]["tasks"] == 54 + 94
    assert plans["131/KH-UBND"]["key"] == "131-KH-UBND"


def test_plan_detail_and_404(client: TestClient) -> None:
    plan = client.get("/api/v1/plans/131-KH-UBND").json()
    assert plan["issued"] == "2026-03-31"
    assert any(g["code"] == "PL01.I" for g in plan["groups"])
    assert client.get("/api/v1/plans/999-XX").status_code == 404


def test_targets_filter_by_plan_and_unit(client: TestClient) -> None:
    all_131 = client.get("/api/v1/targets", params={"plan": "131-KH-UBND", "limit": 1000}).json()
    assert all_131["total"] == 61
    commune = client.get("/api/v1/targets", params={"unit": "09556", "limit": 1000}).json()
    assert 0 < commune["total"] < all_131["total"]
    assert "I.11" in {t["id"] for t in commune["items"]}
    tracked = client.get("/api/v1/targets",
                         params={"unit": "TTPVHCC", "role": "tracking", "limit": 1000}).json()
    assert tracked["total"] >= 10  # the Centre tracks 10 rows of Appendix 01


def test_plan_filter_takes_key_or_number_and_refuses_unknown(client: TestClient) -> None:
    by_number = client.get("/api/v1/targets", params={"plan": "131/KH-UBND"}).json()
    assert by_number["total"] == 61
    unknown = client.get("/api/v1/targets", params={"plan": "999/XX"})
    assert unknown.status_code == 404
    assert "/api/v1/plans" in unknown.json()["detail"]
    assert client.get("/api/v1/tasks", params={"unit": "NOPE"}).status_code == 404


def test_groups_with_no_members_are_still_named(client: TestClient) -> None:
    """'Đơn vị liên quan' coordinates target II.13 (seed 001 L932): it must show."""
    target = client.get("/api/v1/plans/131-KH-UBND/targets/II.13").json()
    names = [u["name"] for u in target["units"].get("coordinating", [])]
    assert names == ["Đơn vị liên quan"]


def test_target_detail_carries_threshold_and_units(client: TestClient) -> None:
    target = client.get("/api/v1/plans/131-KH-UBND/targets/I.11").json()
    assert target["direction"] == ">="
    assert target["threshold"] == "98"
    assert target["deadline"] == "2026-12-31"
    assert {"code": "TTPVHCC", "name": target["units"]["tracking"][0]["name"]} in (
        target["units"]["tracking"])
    assert client.get("/api/v1/plans/131-KH-UBND/targets/NOPE").status_code == 404


def test_tasks_filter_by_status_and_section(client: TestClient) -> None:
    body = client.get("/api/v1/tasks", params={"plan": "131-KH-UBND", "section": "body"}).json()
    assert body["total"] == 54
    statuses = ("past_due", "due_soon", "upcoming", "recurring", "per_schedule", "undated")
    totals = {s: client.get("/api/v1/tasks", params={"status": s}).json()["total"]
              for s in statuses}
    everything = client.get("/api/v1/tasks").json()["total"]
    assert sum(totals.values()) == everything  # every task has exactly one status
    recurring = client.get("/api/v1/tasks", params={"status": "recurring"}).json()["items"]
    assert all(t["status"] == "recurring" for t in recurring)
    assert client.get("/api/v1/tasks", params={"status": "bogus"}).status_code == 422


def test_units_list_detail_and_search(client: TestClient) -> None:
    communes = client.get("/api/v1/units", params={"kind": "commune"}).json()
    assert len(communes) == 126
    unit = client.get("/api/v1/units/09556").json()
    assert unit["name"] == "Phường Hà Đông"
    assert unit["owns"]["target"] > 0
    found = client.get("/api/v1/units/search", params={"q": "ha dong"}).json()
    assert found[0]["code"] == "09556"
    assert client.get("/api/v1/units/XXXXX").status_code == 404


def test_paging_past_what_a_database_holds_is_refused(client: TestClient) -> None:
    """An offset or page number beyond a 32-bit integer is a 422 naming the parameter, never
    a 500 from a database that cannot take the number."""
    huge = str(2**81)
    for path, param in (("/api/v1/targets", "offset"), ("/api/v1/tasks", "offset")):
        r = client.get(path, params={param: huge})
        assert r.status_code == 422, (path, r.status_code)
        assert param in r.text
    assert client.get("/api/v1/targets", params={"offset": str(2**31 - 1)}).status_code == 200
