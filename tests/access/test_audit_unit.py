"""An audit entry's unit is the unit concerned, never text the client adds as ``?unit=``
(SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.factories import UNIT_A, UNIT_B, bearer, dossier

from chiso.intake.sources import add_source
from chiso.store.tables import audit_log, feed_tthc_dossier
from chiso_sim.files import dossier_csv


def test_a_forged_unit_never_reaches_the_audit_log(
    app_client: TestClient, fresh_engine: Engine, make_user: Callable[..., tuple[str, str]]
) -> None:
    token = add_source(fresh_engine, "dvc", ["tthc.dossier"], None)
    assert app_client.post("/api/v1/feeds/tthc.dossier/records",
                           json=[dossier(0, unit=UNIT_A, applicant_id="001088000001")],
                           headers=bearer(token)).status_code == 200
    with fresh_engine.connect() as conn:
        source, record_id = conn.execute(select(feed_tthc_dossier.c.source,
                                                feed_tthc_dossier.c.record_id)).one()
    name, steward = make_user("data_steward")
    r = app_client.get(f"/api/v1/records/tthc.dossier/{source}/{record_id}",
                       params={"unit": UNIT_B}, headers=bearer(steward))
    assert r.status_code == 200
    with fresh_engine.connect() as conn:
        units = conn.execute(select(audit_log.c.unit).where(
            audit_log.c.actor == f"user:{name}")).scalars().all()
    assert units
    assert UNIT_B not in units
    # a write: the unit is the form's (the data's), not the query's
    data = dossier_csv([dossier(1, id="HS-AUDIT-1")])
    r = app_client.post("/intake/upload", params={"unit": UNIT_B},
                        data={"feed": "tthc.dossier", "unit": UNIT_A},
                        files={"file": ("hs.csv", io.BytesIO(data))}, headers=bearer(steward))
    assert r.status_code == 200, r.text
    with fresh_engine.connect() as conn:
        wrote = conn.execute(select(audit_log.c.unit).where(
            audit_log.c.actor == f"user:{name}", audit_log.c.action.like("POST%"))).scalars()\
            .all()
    assert wrote == [UNIT_A]
