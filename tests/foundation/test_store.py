"""The schema and the catalog in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from chiso.catalog.loader import Catalog
from chiso.store import migrate
from chiso.store import tables as t
from chiso.store.catalog_sync import sync_catalog


def test_schema_is_at_head(engine: Engine) -> None:
    assert migrate.current(engine) == migrate.head()


def test_upgrade_twice_changes_nothing(fresh_engine: Engine) -> None:
    migrate.upgrade(fresh_engine)
    assert migrate.current(fresh_engine) == migrate.head()


def test_catalog_rows_match_the_files(engine: Engine, catalog: Catalog) -> None:
    with engine.connect() as conn:
        targets = conn.execute(select(func.count()).select_from(t.targets)).scalar_one()
        tasks = conn.execute(select(func.count()).select_from(t.tasks)).scalar_one()
        communes = conn.execute(
            select(func.count()).select_from(t.units).where(t.units.c.kind == "commune")
        ).scalar_one()
    assert targets == sum(len(e.targets) for e in catalog.plans.values())
    assert tasks == sum(len(e.tasks) for e in catalog.plans.values())
    assert communes == 126


def test_sync_is_idempotent_and_forced_sync_rewrites(fresh_engine: Engine,
                                                     catalog: Catalog) -> None:
    assert sync_catalog(fresh_engine, catalog) is False  # the fixture already loaded it
    with fresh_engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(t.assignments)).scalar_one()
    assert sync_catalog(fresh_engine, catalog, force=True) is True
    with fresh_engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(t.assignments)).scalar_one()
        loads = conn.execute(select(func.count()).select_from(t.catalog_loads)).scalar_one()
    assert before == after > 0
    assert loads == 1


def test_group_assignments_expand_to_communes(engine: Engine) -> None:
    """Target I.11 is implemented by 'UBND cấp xã': every commune has a role in it."""
    with engine.connect() as conn:
        units = conn.execute(
            select(t.assignments.c.unit_code).where(
                t.assignments.c.item_id == "I.11", t.assignments.c.role == "implementing",
                t.assignments.c.plan_key == "131-KH-UBND")
        ).scalars().all()
    assert "09556" in units
    assert len([u for u in units if u.isdigit()]) == 126
