"""The schema, as SQLAlchemy Core tables. Migrations under ``migrations/`` create it.

Catalog tables mirror the catalog files (the files are the source of truth; ``sync_catalog``
rewrites these rows when the catalog's digest changes). Fact tables, added by later rooms,
carry the unit code as a column so that a national deployment can shard on it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

units = Table(
    "units", metadata,
    Column("code", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("parent", String(32)),
    Column("commune_type", String(16)),
    Column("ord", Integer),
    Column("scored", Boolean, nullable=False, default=False),
    Column("is_group", Boolean, nullable=False, default=False),
)

group_members = Table(
    "group_members", metadata,
    Column("group_code", String(32), primary_key=True),
    Column("unit_code", String(32), primary_key=True),
)

plans = Table(
    "plans", metadata,
    Column("key", String(64), primary_key=True),
    Column("number", Text, nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("issued", Date),
    Column("data", JSON, nullable=False),
)

plan_groups = Table(
    "plan_groups", metadata,
    Column("plan_key", String(64), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("parent", String(64)),
    Column("kind", String(16), nullable=False),
    Column("ord", Integer, nullable=False),
)

targets = Table(
    "targets", metadata,
    Column("plan_key", String(64), primary_key=True),
    Column("id", String(32), primary_key=True),
    Column("grp", String(64), nullable=False),
    Column("row", Integer),
    Column("ord", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("measure_en", Text, nullable=False),
    Column("direction", String(8), nullable=False),
    Column("threshold", Numeric(20, 6), nullable=False),
    Column("threshold_high", Numeric(20, 6)),
    Column("unit_of_measure", Text, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("data", JSON, nullable=False),
)

tasks = Table(
    "tasks", metadata,
    Column("plan_key", String(64), primary_key=True),
    Column("id", String(32), primary_key=True),
    Column("section", String(16), nullable=False),
    Column("grp", String(64), nullable=False),
    Column("row", Integer),
    Column("ord", Integer, nullable=False),
    Column("title", Text),
    Column("deadline", Date),
    Column("deadline_kind", String(16), nullable=False),
    Column("data", JSON, nullable=False),
)

# Who owns what: one row per (item, role, unit), groups expanded to their members.
# ``named`` is the code the document names (a unit or a group); ``unit_code`` the unit.
assignments = Table(
    "assignments", metadata,
    Column("plan_key", String(64), nullable=False),
    Column("item_kind", String(8), nullable=False),  # target | task
    Column("item_id", String(32), nullable=False),
    Column("role", String(16), nullable=False),
    Column("named", String(32), nullable=False),
    Column("unit_code", String(32), nullable=False),
    Index("ix_assignments_unit", "unit_code", "item_kind"),
    Index("ix_assignments_item", "plan_key", "item_kind", "item_id"),
)

catalog_loads = Table(
    "catalog_loads", metadata,
    Column("digest", String(32), primary_key=True),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("stats", JSON, nullable=False),
)
