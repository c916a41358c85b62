"""The PostgreSQL bulk backfill path: COPY into staging, set-based checks and upserts."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from sqlalchemy import Engine, func, inspect, select
from tests.factories import feed_contract, uid

from chiso.catalog.loader import Catalog
from chiso.intake.bulk import BulkRefusedError, backfill_csv
from chiso.store.tables import feed_stats_value, feed_tthc_dossier, feed_tthc_dossier_versions
from chiso_sim.files import contract_csv_chunks
from chiso_sim.hanoi import dossier_stream, stats_values

DOSSIER = feed_contract("tthc.dossier")


def test_backfill_is_set_based_idempotent_and_all_or_nothing(
    engine: Engine, backend: str, catalog: Catalog
) -> None:
    if backend != "postgresql":
        with pytest.raises(BulkRefusedError, match="PostgreSQL"):
            backfill_csv(engine, DOSSIER, "x", [b""])
        return
    units = frozenset(catalog.units.units)
    records = list(itertools.islice(dossier_stream(5, date(2026, 5, 4), 2), 5000))
    source = uid("backfill")
    fields = list(DOSSIER.fields)
    first = backfill_csv(engine, DOSSIER, source, contract_csv_chunks(records, fields, 1000),
                         known_units=units)
    versions = len({(r["id"], r["updated_at"]) for r in records})
    assert (first.rows, first.new_versions) == (5000, versions)
    assert first.latest_changed == len({r["id"] for r in records})
    again = backfill_csv(engine, DOSSIER, source, contract_csv_chunks(records, fields),
                         known_units=units)
    assert (again.new_versions, again.latest_changed) == (0, 0)
    with engine.connect() as conn:
        latest = dict(conn.execute(select(feed_tthc_dossier.c.id, feed_tthc_dossier.c.status)
                                   .where(feed_tthc_dossier.c.source == source)).all())
    final = {r["id"]: r["status"] for r in sorted(records, key=lambda r: r["updated_at"])}
    assert latest == final
    bad = [dict(r) for r in records[:50]]
    bad[7]["supplement_requests"] = -1
    bad[9]["unit"] = "99999"
    other = uid("backfill")
    with pytest.raises(BulkRefusedError, match=r"line 9: 'supplement_requests' below 0; "
                                               r"line 11: unknown unit"):
        backfill_csv(engine, DOSSIER, other, contract_csv_chunks(bad, fields), known_units=units)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(feed_tthc_dossier_versions)
                            .where(feed_tthc_dossier_versions.c.source == other)
                            ).scalar_one() == 0


def test_backfill_of_statistics_marks_them_not_typed_by_hand(
    engine: Engine, backend: str
) -> None:
    if backend != "postgresql":
        return
    stats = feed_contract("stats.value")
    records = list(itertools.islice(stats_values(7, 2026, 2), 40))
    source = uid("backfill-stats")
    done = backfill_csv(engine, stats, source, contract_csv_chunks(records, list(stats.fields)))
    assert done.new_versions == len(records)
    with engine.connect() as conn:
        manual = conn.execute(select(feed_stats_value.c.manual).where(
            feed_stats_value.c.source == source)).scalars().all()
    assert len(manual) == len(records)
    assert not any(manual)


@pytest.mark.parametrize("repeated", [0, 400])
def test_an_initial_load_builds_keys_and_indexes_after_its_rows(
    fresh_engine: Engine, backend: str, catalog: Catalog, repeated: int
) -> None:
    """Into empty tables the rows go in with no index to keep up; the keys it then builds hold
    one row per version and per record, as the upserts of a later load would have, also when
    the file repeats versions (``repeated`` rows sent twice)."""
    if backend != "postgresql":
        pytest.skip("the bulk path is PostgreSQL's")
    records = list(itertools.islice(dossier_stream(7, date(2026, 5, 4), 2), 3000))
    sent = [*records, *records[:repeated]]
    fields = list(DOSSIER.fields)
    units = frozenset(catalog.units.units)
    first = backfill_csv(fresh_engine, DOSSIER, "so-a", contract_csv_chunks(sent, fields, 500),
                         known_units=units)
    assert first.rows == len(sent)
    assert first.new_versions == len({(r["id"], r["updated_at"]) for r in records})
    assert first.latest_changed == len({r["id"] for r in records})
    inspector = inspect(fresh_engine)
    for table in (feed_tthc_dossier, feed_tthc_dossier_versions):
        assert inspector.get_pk_constraint(table.name)["name"] == table.primary_key.name
        assert {i["name"] for i in inspector.get_indexes(table.name)} == \
            {i.name for i in table.indexes}
    with fresh_engine.connect() as conn:
        latest = dict(conn.execute(select(feed_tthc_dossier.c.id, feed_tthc_dossier.c.status)
                                   ).all())
    assert latest == {r["id"]: r["status"] for r in sorted(records,
                                                           key=lambda r: r["updated_at"])}
    # the keys are there: the same file again finds every version and record stored
    again = backfill_csv(fresh_engine, DOSSIER, "so-a", contract_csv_chunks(sent, fields),
                         known_units=units)
    assert (again.new_versions, again.latest_changed) == (0, 0)


def test_an_initial_load_of_statistics_marks_them_not_typed_by_hand(
    fresh_engine: Engine, backend: str
) -> None:
    """The initial load's own statements carry the statistics' ``manual`` mark as well."""
    if backend != "postgresql":
        pytest.skip("the bulk path is PostgreSQL's")
    stats = feed_contract("stats.value")
    records = list(itertools.islice(stats_values(7, 2026, 2), 40))
    done = backfill_csv(fresh_engine, stats, "so-b", contract_csv_chunks(records,
                                                                        list(stats.fields)))
    assert done.new_versions == len(records)
    with fresh_engine.connect() as conn:
        manual = conn.execute(select(feed_stats_value.c.manual)).scalars().all()
    assert len(manual) == done.latest_changed > 0
    assert not any(manual)
