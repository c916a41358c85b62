"""The audit log: append-only in the database, and `verify` names the first entry altered,
removed or reordered, even when someone who can drop the triggers did it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, exc, text
from typer.testing import CliRunner

from chiso.access import audit
from chiso.access.settings import AccessSettings


def _fill(engine: Engine, n: int = 30) -> None:
    for i in range(n):
        audit.record(engine, actor=f"user:u{i % 3}", roles="operator", action="test",
                     result="ok", unit="00070" if i % 2 else "00082", target=f"rec-{i}")


def _superuser(conn: Connection, sql: str, **params: object) -> None:
    """As a DB owner would: around the triggers."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
    else:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    conn.execute(text(sql), params)


@pytest.fixture
def sealed(fresh_engine: Engine, access_settings: AccessSettings) -> tuple[Engine, Path, object]:
    _fill(fresh_engine, 20)
    audit.checkpoint(fresh_engine, access_settings.audit_key_file,
                     access_settings.audit_checkpoint_file)
    _fill(fresh_engine, 10)
    audit.checkpoint(fresh_engine, access_settings.audit_key_file,
                     access_settings.audit_checkpoint_file)
    key = audit.load_public_key(audit.public_path(access_settings.audit_key_file))
    return fresh_engine, access_settings.audit_checkpoint_file, key


def _verify(sealed: tuple[Engine, Path, object]) -> audit.Report:
    engine, file, key = sealed
    return audit.verify(engine, file, key)  # type: ignore[arg-type]


def test_intact_log_verifies(sealed: tuple[Engine, Path, object]) -> None:
    report = _verify(sealed)
    assert report.ok, report.problem
    assert (report.entries, report.checkpoints) == (30, 2)


def test_triggers_refuse_update_and_delete(fresh_engine: Engine) -> None:
    _fill(fresh_engine, 2)
    for sql in ("UPDATE audit_log SET result = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(exc.DatabaseError, match="append-only"), fresh_engine.begin() as c:
            c.execute(text(sql))


def test_altered_entry_is_named(sealed: tuple[Engine, Path, object]) -> None:
    with sealed[0].begin() as conn:
        _superuser(conn, "UPDATE audit_log SET actor = 'user:nobody' WHERE seq = 7")
    report = _verify(sealed)
    assert not report.ok
    assert report.first_bad == 7
    assert "entry 7" in (report.problem or "")


def test_removed_entry_is_named(sealed: tuple[Engine, Path, object]) -> None:
    with sealed[0].begin() as conn:
        _superuser(conn, "DELETE FROM audit_log WHERE seq = 12")
    report = _verify(sealed)
    assert not report.ok
    assert report.first_bad == 12
    assert "removed" in (report.problem or "")


def test_reordered_entries_are_named(sealed: tuple[Engine, Path, object]) -> None:
    with sealed[0].begin() as conn:
        _superuser(conn, "UPDATE audit_log SET seq = -1 WHERE seq = 5")
        _superuser(conn, "UPDATE audit_log SET seq = 5 WHERE seq = 6")
        _superuser(conn, "UPDATE audit_log SET seq = 6 WHERE seq = -1")
    report = _verify(sealed)
    assert not report.ok
    assert report.first_bad == 5


def test_cut_tail_is_caught_by_the_checkpoint(sealed: tuple[Engine, Path, object]) -> None:
    with sealed[0].begin() as conn:
        _superuser(conn, "DELETE FROM audit_log WHERE seq > 25")
    report = _verify(sealed)
    assert not report.ok
    assert report.first_bad == 26
    assert "26..30 were removed" in (report.problem or "")


def test_rewritten_chain_is_caught_by_the_checkpoint(sealed: tuple[Engine, Path, object]
                                                     ) -> None:
    """Someone alters entry 25 and recomputes every hash after it: the chain is consistent
    again, but the signed tree head of 30 entries no longer matches."""
    engine = sealed[0]
    with engine.begin() as conn:
        _superuser(conn, "UPDATE audit_log SET actor = 'user:nobody' WHERE seq = 25")
        rows = [dict(r) for r in conn.execute(text(
            "SELECT * FROM audit_log WHERE seq >= 24 ORDER BY seq")).mappings()]
        prev = rows[0]["hash"]
        for row in rows[1:]:
            row["prev_hash"] = prev
            row["hash"] = audit.entry_hash(row)
            _superuser(conn, "UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s",
                       p=row["prev_hash"], h=row["hash"], s=row["seq"])
            prev = row["hash"]
    report = _verify(sealed)
    assert not report.ok
    assert report.first_bad == 21  # after the last checkpoint that still matches (20)
    assert "checkpoint 30" in (report.problem or "")


def test_tree_head_matches_rfc6962_recursion() -> None:
    def mth(leaves: list[bytes]) -> bytes:
        if len(leaves) == 1:
            return hashlib.sha256(b"\x00" + leaves[0]).digest()
        k = 1 << ((len(leaves) - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()

    for n in (1, 2, 3, 5, 8, 13, 31):
        hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(n)]
        assert audit.tree_head(hashes) == mth([bytes.fromhex(h) for h in hashes]).hex()


def test_cli_verify(sealed: tuple[Engine, Path, object], access_settings: AccessSettings,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    from chiso.cli import app

    engine = sealed[0]
    monkeypatch.setenv("CHISO_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CHISO_ACCESS_AUDIT_KEY_FILE", str(access_settings.audit_key_file))
    monkeypatch.setenv("CHISO_ACCESS_AUDIT_CHECKPOINT_FILE",
                       str(access_settings.audit_checkpoint_file))
    from chiso.config import get_settings

    get_settings.cache_clear()
    try:
        good = CliRunner().invoke(app, ["audit", "verify"])
        assert good.exit_code == 0, good.output
        assert "intact" in good.output
        with engine.begin() as conn:
            _superuser(conn, "DELETE FROM audit_log WHERE seq = 3")
        bad = CliRunner().invoke(app, ["audit", "verify"])
        assert bad.exit_code == 1
        assert "entry 3" in bad.output
    finally:
        get_settings.cache_clear()
