"""Issuing, re-issuing and revoking a source token are audited, never with the token
(SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from tests.factories import uid

from chiso.access import audit
from chiso.intake.sources import add_source, revoke_source
from chiso.store.tables import audit_log


def test_token_issue_and_revoke_are_audited(fresh_engine: Engine) -> None:
    name = uid("dvc")
    first = add_source(fresh_engine, name, ["tthc.dossier"], ["00070"], actor="cli:lan")
    second = add_source(fresh_engine, name, ["tthc.dossier"], None, actor="cli:lan")
    assert revoke_source(fresh_engine, name, actor="cli:minh")
    assert not revoke_source(fresh_engine, name, actor="cli:minh")  # nothing left to revoke
    with fresh_engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.target == f"source:{name}")
                            .order_by(audit_log.c.seq)).all()
    assert [(r.actor, r.action) for r in rows] == [
        ("cli:lan", "source token issued"), ("cli:lan", "source token reissued"),
        ("cli:minh", "source token revoked")]
    assert all(first not in (r.detail or "") and second not in (r.detail or "") for r in rows)
    assert '"units":["00070"]' in rows[0].detail
    assert audit.verify(fresh_engine, None, None).ok
