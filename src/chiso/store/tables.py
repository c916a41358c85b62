"""The schema, as SQLAlchemy Core tables. Migrations under ``migrations/`` create it.

Catalog tables mirror the catalog files (the files are the source of truth; ``sync_catalog``
rewrites these rows when the catalog's digest changes). Fact tables, added by later rooms,
carry the unit code as a column so that a national deployment can shard on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
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



# ==========================================================================================
# intake: sources, raw archive, batches, pull cursors, and one pair of typed tables
# per feed. See docs/intake.md. Every fact table carries ``unit``.
#
# ``feed_<feed>_versions`` keeps every distinct version a source sent (history; primary key
# (source, record_id, version) makes a re-send a no-op); ``feed_<feed>`` keeps the latest
# version of each record (primary key (source, record_id); replaced only by a newer
# version). Measurement reads ``feed_<feed>`` set-based. The typed columns are the contract's
# fields (``data/feeds/<feed>.yaml``, checked by a test), personal identifiers pseudonymised.
# Provenance columns: source, door (push | pull | file | bulk), batch_id (-> intake_batches,
# which names the connector and the raw payload's sha256) and ingested_at.
# ==========================================================================================

intake_sources = Table(
    "intake_sources", metadata,
    Column("name", String(64), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the token
    Column("feeds", JSON, nullable=False),  # list of feed names
    Column("units", JSON),  # list of unit codes, or null for any unit
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

intake_raw = Table(
    "intake_raw", metadata,
    Column("sha256", String(64), primary_key=True),  # of the uncompressed bytes
    Column("media_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),  # gzip-compressed
    Column("first_seen", DateTime(timezone=True), nullable=False),
)

intake_batches = Table(
    "intake_batches", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("feed", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("door", String(8), nullable=False),  # push | pull | file | bulk
    Column("connector", String(64)),
    Column("unit", String(32)),  # file uploads: the unit the steward uploaded for
    Column("filename", Text),
    Column("raw_sha256", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("status", String(10), nullable=False),  # accepted | refused
    Column("records", Integer, nullable=False, default=0),
    Column("new_versions", Integer, nullable=False, default=0),
    Column("latest_changed", Integer, nullable=False, default=0),
    Column("problems", JSON),
    Column("manual", Boolean, nullable=False, default=False),
    Column("evidence_sha256", String(64)),
    Column("mapping_id", Integer),  # file uploads: the column mapping version that read it
    Index("ix_intake_batches_feed_received", "feed", "received_at"),
)

#: A data steward's column mapping of one source's files for one unit and feed, versioned:
#: every save is a new row (never updated); a file is read with the latest version.
intake_mappings = Table(
    "intake_mappings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("feed", String(64), nullable=False),
    Column("unit", String(32), nullable=False),
    Column("source", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("columns", JSON, nullable=False),  # heading as the file writes it -> field
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
    UniqueConstraint("feed", "unit", "source", "version"),
)

intake_cursors = Table(
    "intake_cursors", metadata,
    Column("connector", String(64), primary_key=True),
    Column("feed", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("cursor", Text),
    Column("pages", Integer, nullable=False, default=0),
    Column("records", Integer, nullable=False, default=0),
    Column("last_ok_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("last_error_at", DateTime(timezone=True)),
)

# Pull sources the operator manages in the app: what to pull and how often (the connector of
# the same name keeps its cursor in ``intake_cursors``), the credentials sealed with the
# deployment's secrets key (never read back out), and how its runs went.
pull_sources = Table(
    "pull_sources", metadata,
    Column("name", String(64), primary_key=True),
    Column("feed", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("base_url", String(2000), nullable=False),
    Column("path", String(500), nullable=False),
    Column("paging", String(16), nullable=False),
    Column("page_size", Integer, nullable=False),
    Column("interval_seconds", Float, nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("credentials", LargeBinary),  # AES-GCM sealed JSON of header name -> value
    Column("credential_names", JSON),  # the header names only, to show which are set
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("last_run_at", DateTime(timezone=True)),
    Column("last_drained_at", DateTime(timezone=True)),  # read everything the source had
    Column("last_records", Integer),
    Column("failing_since", DateTime(timezone=True)),  # the current outage began
    Column("outages", Integer, nullable=False, default=0),
    Column("last_recovered_at", DateTime(timezone=True)),
)


def _ts(name: str, nullable: bool = True) -> Column[Any]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _pseudonym(name: str) -> Column[Any]:
    return Column(name, String(64))  # keyed hash (HMAC-SHA256, hex) of the identifier


def _feed_tables(
    key: str, version: str, event: str, columns: Callable[[], list[Column[Any]]]
) -> tuple[Table, Table]:
    """The latest table and the versions table of one feed, with the same typed columns."""

    def provenance() -> list[Column[Any]]:
        return [
            Column("source", String(64), primary_key=True),
            Column("record_id", String(160), primary_key=True),
            Column("unit", String(32), nullable=False),
            Column("door", String(8), nullable=False),
            Column("batch_id", Integer, nullable=False),
            Column("ingested_at", DateTime(timezone=True), nullable=False),
        ]

    def typed(versioned: bool) -> list[Column[Any]]:
        cols = columns()
        for col in cols:
            if versioned and col.name == version:
                col.primary_key = True
        return cols

    latest = Table(
        f"feed_{key}", metadata, *provenance(), *typed(False),
        Index(f"ix_feed_{key}_unit_event", "unit", event),
    )
    versions = Table(
        f"feed_{key}_versions", metadata, *provenance(), *typed(True),
        Index(f"ix_feed_{key}_versions_batch", "batch_id"),
    )
    return latest, versions


feed_tthc_dossier, feed_tthc_dossier_versions = _feed_tables(
    "tthc_dossier", "updated_at", "received_at",
    lambda: [
        Column("id", String(64), nullable=False),
        Column("procedure", String(64), nullable=False),
        _ts("received_at", False),
        _ts("due_at", False),
        _ts("resolved_at"),
        Column("status", String(16), nullable=False),
        Column("channel", String(8), nullable=False),
        Column("fully_online", Boolean, nullable=False),
        Column("supplement_requests", Integer, nullable=False),
        Column("supplement_days", Float, nullable=False),
        Column("result_electronic", Boolean),
        Column("paid_online", Boolean),
        Column("components_total", Integer, nullable=False),
        Column("components_reused", Integer, nullable=False),
        Column("components_digitised", Integer),
        Column("payment_method", String(8)),
        Column("complaints", Integer),
        _pseudonym("applicant_name"),
        _pseudonym("applicant_id"),
        _pseudonym("applicant_phone"),
        _ts("updated_at", False),
    ],
)

feed_ihanoi_feedback, feed_ihanoi_feedback_versions = _feed_tables(
    "ihanoi_feedback", "updated_at", "received_at",
    lambda: [
        Column("id", String(64), nullable=False),
        _ts("received_at", False),
        _ts("due_at", False),
        _ts("closed_at"),
        Column("published", Boolean, nullable=False),
        Column("satisfied", Boolean),
        _pseudonym("citizen_name"),
        _pseudonym("citizen_phone"),
        _ts("updated_at", False),
    ],
)

feed_eoffice_document, feed_eoffice_document_versions = _feed_tables(
    "eoffice_document", "updated_at", "sent_at",
    lambda: [
        Column("id", String(64), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("electronic", Boolean, nullable=False),
        Column("signed_digitally", Boolean, nullable=False),
        _ts("sent_at", False),
        _ts("updated_at", False),
    ],
)

feed_meetings_meeting, feed_meetings_meeting_versions = _feed_tables(
    "meetings_meeting", "updated_at", "starts_at",
    lambda: [
        Column("id", String(64), nullable=False),
        _ts("starts_at", False),
        Column("minutes", Integer, nullable=False),
        Column("mode", String(10), nullable=False),
        _ts("updated_at", False),
    ],
)

feed_stats_value, feed_stats_value_versions = _feed_tables(
    "stats_value", "published_at", "period",
    lambda: [
        Column("indicator", String(64), nullable=False),
        Column("period", String(8), nullable=False),
        Column("value", Float, nullable=False),
        Column("numerator", Float),
        Column("denominator", Float),
        Column("source_ref", String(200), nullable=False),
        _ts("published_at", False),
        Column("manual", Boolean, nullable=False, default=False),  # typed by hand (evidence)
    ],
)

feed_sme_support, feed_sme_support_versions = _feed_tables(
    "sme_support", "updated_at", "supported_at",
    lambda: [
        Column("id", String(64), nullable=False),
        _pseudonym("tax_code"),
        Column("size_class", String(8), nullable=False),
        Column("sector", String(1), nullable=False),
        Column("kind", String(24), nullable=False),
        Column("provider", String(200), nullable=False),
        _ts("supported_at", False),
        Column("readiness_before", Integer),
        Column("readiness_after", Integer),
        Column("solution", String(200)),
        Column("contract_signed", Boolean),
        _ts("updated_at", False),
    ],
)

feed_sme_consultant, feed_sme_consultant_versions = _feed_tables(
    "sme_consultant", "updated_at", "admitted_at",
    lambda: [
        Column("id", String(64), nullable=False),
        Column("name", String(200), nullable=False),
        Column("member_kind", String(16), nullable=False),
        Column("qualification", String(200)),
        _ts("admitted_at", False),
        Column("status", String(16), nullable=False),
        _ts("withdrawn_at"),
        _ts("updated_at", False),
    ],
)

feed_sme_exemplary, feed_sme_exemplary_versions = _feed_tables(
    "sme_exemplary", "updated_at", "recognised_at",
    lambda: [
        Column("id", String(64), nullable=False),
        _pseudonym("tax_code"),
        Column("sector", String(1), nullable=False),
        _ts("recognised_at", False),
        Column("status", String(16), nullable=False),
        _ts("updated_at", False),
    ],
)

feed_stats_grdp, feed_stats_grdp_versions = _feed_tables(
    "stats_grdp", "released_at", "released_at",
    lambda: [
        Column("period", String(8), nullable=False),
        Column("sector", String(8), nullable=False),
        Column("price_basis", String(12), nullable=False),
        Column("value", Float, nullable=False),
        Column("release", String(200), nullable=False),
        _ts("released_at", False),
    ],
)

FEED_TABLES: dict[str, tuple[Table, Table]] = {
    "tthc.dossier": (feed_tthc_dossier, feed_tthc_dossier_versions),
    "ihanoi.feedback": (feed_ihanoi_feedback, feed_ihanoi_feedback_versions),
    "eoffice.document": (feed_eoffice_document, feed_eoffice_document_versions),
    "meetings.meeting": (feed_meetings_meeting, feed_meetings_meeting_versions),
    "stats.value": (feed_stats_value, feed_stats_value_versions),
    "sme.support": (feed_sme_support, feed_sme_support_versions),
    "sme.consultant": (feed_sme_consultant, feed_sme_consultant_versions),
    "sme.exemplary": (feed_sme_exemplary, feed_sme_exemplary_versions),
    "stats.grdp": (feed_stats_grdp, feed_stats_grdp_versions),
}
"""feed name -> (latest table, versions table)"""


# ==========================================================================================
# access and audit: local and single-sign-on accounts, grants of roles (optionally
# scoped to a unit), sessions, API tokens, and the append-only, hash-chained audit log with
# its signed checkpoints. See docs/access.md. Secrets are stored only as hashes.
# ==========================================================================================

access_users = Table(
    "access_users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),  # sign-in name
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text),  # argon2id; null: single sign-on only
    Column("oidc_subject", String(255), unique=True),  # "<issuer> <sub>"
    Column("failed_signins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
)

access_grants = Table(
    "access_grants", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False),
    Column("role", String(16), nullable=False),
    Column("unit", String(32)),  # null: city-wide; a unit code: that unit only
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Index("ix_access_grants_user", "user_id"),
)

access_sessions = Table(
    "access_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the cookie value
    Column("user_id", Integer, nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ip", String(64)),
    Column("method", String(8), nullable=False),  # password | oidc
    Column("revoked_at", DateTime(timezone=True)),
)

# Failed sign-ins per (account name, client address): the lock-out is time-boxed and per
# client, so guesses from one address never lock the account out for everyone. Unknown names
# are counted the same way as known ones (the answer tells nothing).
access_signin_failures = Table(
    "access_signin_failures", metadata,
    Column("name", String(64), primary_key=True),
    Column("client", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: Sign-in attempts per client address (an IPv6 address by its /64), shared by every process:
#: the current window's count and the previous window's (a sliding-window counter). Rows of
#: addresses silent for two windows are deleted as attempts come, so the table holds at most
#: the addresses seen within two windows.
access_signin_rate = Table(
    "access_signin_rate", metadata,
    Column("client", String(64), primary_key=True),
    Column("window_start", BigInteger, nullable=False, index=True),  # epoch seconds
    Column("hits", Integer, nullable=False),
    Column("previous", Integer, nullable=False),
)

access_tokens = Table(
    "access_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the token
    Column("user_id", Integer, nullable=False),
    Column("label", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

# Append-only: triggers refuse UPDATE and DELETE on both backends (migration 0003_access).
# ``seq`` is dense (1, 2, 3, …); ``hash`` = sha256(prev_hash + canonical form of the entry).
audit_log = Table(
    "audit_log", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),  # ISO 8601 UTC, microseconds: part of the hash
    Column("actor", String(128), nullable=False),  # user:<name> | source:<name> | anonymous
    Column("roles", Text, nullable=False),  # comma-separated
    Column("action", String(255), nullable=False),  # "POST /api/v1/feeds/{feed}/records" …
    Column("target", Text),  # the record or item concerned
    Column("unit", String(32)),
    Column("subjects", Text),  # pseudonyms of persons whose data was read, comma-separated
    Column("ip", String(64)),
    Column("result", String(32), nullable=False),  # ok | denied | failed | locked | …
    Column("detail", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_actor", "actor"),
    Index("ix_audit_log_unit", "unit"),
)

audit_checkpoints = Table(
    "audit_checkpoints", metadata,
    Column("size", BigInteger, primary_key=True),  # tree size: entries 1..size
    Column("root", String(64), nullable=False),  # RFC 6962 Merkle tree head, hex
    Column("signed_at", String(32), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", Text, nullable=False),  # Ed25519, base64
)


# ==========================================================================================
# measurement: the day state. See docs/measurement.md. Every table carries ``unit``.
#
# ``m_day`` is additive: per (indicator, unit, day) the records the value rests on, ``num``
# (the count or sum; a ratio's numerator) and ``den`` (a ratio's denominator). Each accepted
# batch adds its records' contributions and subtracts those of the versions they replaced
# (signed deltas, same transaction); any period and the city are sums of days and units.
# ``m_distinct`` keeps, for distinct counts, every key per (indicator, unit, day) with how
# many latest records carry it. ``m_published`` keeps the published values that ``latest``
# measures read (stats.value), one row per record and measure side, with the period's span.
# ``as_of`` is when a row last changed (not part of the recompute-equals-incremental check).
# ==========================================================================================

m_day = Table(
    "m_day", metadata,
    Column("indicator", String(96), primary_key=True),
    Column("unit", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("records", BigInteger, nullable=False),
    Column("num", Float, nullable=False),
    Column("den", Float, nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Index("ix_m_day_indicator_day", "indicator", "day"),
)

# ``m_month`` is ``m_day`` summed by calendar month (``month``: its first day): per (indicator,
# unit, month) the same ``records``, ``num`` and ``den``, and ``as_of`` the latest change of the
# month's days. Kept by the same signed deltas in the same transaction, rebuilt from ``m_day`` by
# the recompute; values of whole months (a month, quarter, year, the year to date) read it
# instead of every day row.
m_month = Table(
    "m_month", metadata,
    Column("indicator", String(96), primary_key=True),
    Column("unit", String(32), primary_key=True),
    Column("month", Date, primary_key=True),
    Column("records", BigInteger, nullable=False),
    Column("num", Float, nullable=False),
    Column("den", Float, nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Index("ix_m_month_indicator_month", "indicator", "month"),
)

# ``m_pending`` holds the part of ``m_day`` that has not come due yet, for indicators placed by
# a due time (``comes_due``): per (indicator, unit, day, due_day) the records not yet settled,
# where ``due_day`` is the Vietnamese day after which they count (9999-12-31: clock stopped,
# waiting for the citizen). A value as of time t subtracts the rows whose due_day is t's day
# or later.
m_pending = Table(
    "m_pending", metadata,
    Column("indicator", String(96), primary_key=True),
    Column("unit", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("due_day", Date, primary_key=True),
    Column("records", BigInteger, nullable=False),
    Column("num", Float, nullable=False),
    Column("den", Float, nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Index("ix_m_pending_indicator_day", "indicator", "day"),
)

# ``workdays`` is the Vietnamese working-day calendar (chiso.catalog.workdays), written with the
# catalog: per day, how many working days precede it since the calendar's first day, and
# whether it is worked. Working-day arithmetic in SQL reads it (chiso.measurement.compile).
workdays = Table(
    "workdays", metadata,
    Column("day", Date, primary_key=True),
    Column("n_before", Integer, nullable=False),
    Column("working", Boolean, nullable=False),
    Index("ix_workdays_n_before", "n_before", "day"),
)

m_distinct = Table(
    "m_distinct", metadata,
    Column("indicator", String(96), primary_key=True),
    Column("unit", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("key", String(160), primary_key=True),
    Column("records", BigInteger, nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Index("ix_m_distinct_indicator_day", "indicator", "day"),
)

m_published = Table(
    "m_published", metadata,
    Column("indicator", String(96), primary_key=True),
    Column("side", String(12), primary_key=True),  # value | numerator | denominator
    Column("source", String(64), primary_key=True),
    Column("record_id", String(160), primary_key=True),
    Column("unit", String(32), nullable=False),
    Column("period", String(24), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("value", Float, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    # typed by hand through the file door: never outranks a system's figure for the period
    Column("manual", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_m_published_indicator_unit", "indicator", "unit", "period_end"),
)

# The incremental path finds a batch's latest rows by batch_id.
for _latest, _ in FEED_TABLES.values():
    Index(f"ix_{_latest.name}_batch", _latest.c.batch_id)


# ==========================================================================================
# scoring: scores and ranks per (method, version, unit, period). See docs/scoring.md.
#
# ``scores`` holds the current score of each unit: points, rank among the units of its kind
# (1 = best; ties share a rank), the whole tree (points, formula, inputs, missing markers) and
# when it was computed, under which catalog digest. ``score_history`` is append-only: a row each
# time a unit's points or rank for a period changed, so that the past can be replayed and a
# rank change explained (which criteria moved, by how much: compare the two trees).
# ==========================================================================================

scores = Table(
    "scores", metadata,
    Column("method", String(64), primary_key=True),
    Column("version", String(32), primary_key=True),
    Column("unit", String(32), primary_key=True),
    Column("period", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("points", Float, nullable=False),
    Column("max_points", Float, nullable=False),
    Column("rank", Integer),
    Column("of", Integer),
    Column("missing", Integer, nullable=False),  # criteria with no current input
    Column("tree", JSON, nullable=False),
    Column("catalog", String(32), nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Index("ix_scores_method_period_kind", "method", "period", "kind"),
)

score_history = Table(
    "score_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("method", String(64), nullable=False),
    Column("version", String(32), nullable=False),
    Column("unit", String(32), nullable=False),
    Column("period", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("points", Float, nullable=False),
    Column("rank", Integer),
    Column("of", Integer),
    Column("tree", JSON, nullable=False),
    Column("reason", String(64), nullable=False),  # compute | values changed
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Index("ix_score_history_key", "method", "unit", "period", "computed_at"),
)

# ==========================================================================================
# tasks and alerts: evidence attached to tasks, and the early-warning alerts with
# every delivery attempt. See docs/outlook.md ("Evidence", "Alerts").
#
# ``task_evidence``: a file (its bytes, SHA-256 and size) or a link attached by a unit officer
# of a lead unit to a task (``milestone`` null) or one of its milestones (index into the
# catalog's milestones). ``alerts``: one row per raised alert; ``subject`` is kind + plan +
# item + unit, ``dedup_key`` is subject + status: a new row only when the subject is new or its
# status changed (the previous row is then ``superseded``). ``escalated_on`` is set once, when
# the alert is escalated to the tracking agency and the operator. ``alert_deliveries`` records
# each delivery (in-app, e-mail, webhook); an e-mail or webhook is an outbox message
# (``message_id``), whose state and attempts are the outbox's.
# ==========================================================================================

task_evidence = Table(
    "task_evidence", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_key", String(64), nullable=False),
    Column("task_id", String(32), nullable=False),
    Column("milestone", Integer),
    Column("kind", String(8), nullable=False),  # file | link
    Column("filename", Text),
    Column("content_type", String(128)),
    Column("url", Text),
    Column("note", Text),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary),
    Column("completes", Boolean, nullable=False, default=False),
    Column("unit", String(32)),
    Column("uploaded_by", String(128), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    Index("ix_task_evidence_task", "plan_key", "task_id"),
)

alerts = Table(
    "alerts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(160), nullable=False),
    Column("dedup_key", String(224), nullable=False),
    Column("kind", String(16), nullable=False),  # target | task
    Column("plan_key", String(64), nullable=False),
    Column("item_id", String(32), nullable=False),
    Column("unit", String(32), nullable=False),
    Column("status", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("raised_on", Date, nullable=False),
    Column("superseded", Boolean, nullable=False, default=False),
    Column("escalated_on", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_alerts_subject", "subject"),
    Index("ix_alerts_unit", "unit"),
)

alert_deliveries = Table(
    "alert_deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, nullable=False),
    Column("purpose", String(16), nullable=False),  # alert | escalation
    Column("channel", String(16), nullable=False),  # app | email | webhook
    Column("recipient", Text, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("detail", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("message_id", Integer),  # the outbox message carrying it (e-mail, webhook)
    Index("ix_alert_deliveries_alert", "alert_id"),
)

# ==========================================================================================
# the decision log (task 2.1.1 of plan 131): a decision a leader took from a dashboard
# tile. See docs/dashboard-decisions.md.
#
# Append-only (triggers refuse UPDATE and DELETE): a correction is a new row whose ``corrects``
# names the row it replaces (unique: a decision is corrected once; correct the correction to
# change it again). ``month`` (YYYY-MM of ``taken_at`` in Vietnam time) is what the counts group
# by; ``seen`` holds the tile's values as the leader saw them (value, target, status, as_of,
# period, unit_of_measure). ``unit`` is the recorder's unit when their grant is unit-limited,
# else null.
# ==========================================================================================

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tile", String(64), nullable=False),
    Column("taken_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("month", String(7), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("role", String(32), nullable=False),
    Column("unit", String(32)),
    Column("text", Text, nullable=False),
    Column("seen", JSON, nullable=False),
    Column("follow_up", Date),
    Column("plan_key", String(64)),
    Column("target_id", String(32)),
    Column("task_id", String(32)),
    Column("corrects", Integer, unique=True),
    Column("acting_unit", String(32)),  # the unit that must act, by ``follow_up``
    Index("ix_decisions_tile_month", "tile", "month"),
    Index("ix_decisions_month", "month"),
    Index("ix_decisions_acting_unit", "acting_unit"),
)

# The acting unit's acknowledgement of a decision, by one of its officers: one per decision,
# append-only like the log itself (the guard's audit entry records the request too).
decision_acks = Table(
    "decision_acks", metadata,
    Column("decision", Integer, ForeignKey("decisions.id"), primary_key=True),
    Column("unit", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True), nullable=False),
    Column("note", Text),
)

# ==========================================================================================
# target milestones: the yearly milestones an operator sets for a target whose plan gives only
# the final figure (plan 232's 2030 targets). A year with no row takes the linear default
# (chiso.outlook.milestones). One row per (plan, target, year); changing it overwrites the
# row, and the audit log keeps who changed what.
# ==========================================================================================

target_milestones = Table(
    "target_milestones", metadata,
    Column("plan_key", String(64), primary_key=True),
    Column("target_id", String(32), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("value", Float, nullable=False),
    Column("set_by", String(128), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)

# ==========================================================================================
# reports: every report built (chiso.reports.archive), one row per edition of a kind, period
# and unit ("city" for the city). A draft is rebuilt in place; an issued edition is never
# changed again: when later data changes its figures, the next edition is a draft that
# restates it (``restates``, ``changes``). ``data`` holds the figures it used, ``cut_off``
# the time up to which records were read.
# ==========================================================================================

reports = Table(
    "reports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("period", String(32), nullable=False),
    Column("unit", String(32), nullable=False),
    Column("edition", Integer, nullable=False),
    Column("status", String(8), nullable=False),  # draft | issued
    Column("as_of", Date, nullable=False),
    Column("cut_off", DateTime(timezone=True), nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("catalog", String(64), nullable=False),
    Column("methods", JSON, nullable=False),
    Column("data", JSON, nullable=False),
    Column("restates", Integer),
    Column("changes", JSON),
    Column("number", String(64)),
    Column("issued_on", Date),
    Column("signer", String(200)),
    Column("proposals", Text),
    Column("issued_by", String(128)),
    Column("issued_at", DateTime(timezone=True)),
    Column("delivery", JSON),  # after issue: each recipient, sent or why not, and when
    UniqueConstraint("kind", "period", "unit", "edition"),
    Index("ix_reports_unit", "unit"),
)

report_files = Table(
    "report_files", metadata,
    Column("report_id", Integer, primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("media_type", String(100), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
)

# One row per scheduled run of a report kind, period and stage (chiso.reports.schedule): the
# process that inserts it does the run, so a run happens once however many processes serve.
report_runs = Table(
    "report_runs", metadata,
    Column("kind", String(32), primary_key=True),
    Column("period", String(32), primary_key=True),
    # opened | closed | refresh (its claimed_at: the last rebuild of the open period's drafts)
    Column("stage", String(8), primary_key=True),
    Column("claimed_by", String(128), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    # the claim holds until then, renewed after each report; an unfinished run whose lease
    # has passed was left by a process that died, and the next look takes it over
    Column("lease_until", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("built", Integer),
)

# ==========================================================================================
# the outbox: messages to other systems (the Ministry's EMC, webhook subscribers), written in
# the same transaction as the change they announce and delivered by one worker
# (chiso.exports.delivery). ``body`` holds the exact bytes sent (the signature covers them);
# ``idempotency_key`` is unique per channel, so enqueuing the same content twice is one
# message and a receiver can apply each message once. ``state``: pending, delivered or dead
# (dead-lettered after the last attempt; an operator may requeue it). Every attempt is a row
# of ``outbox_attempts``, written before the request goes out (outcome ``sending``) and
# finished after; one still ``sending`` when a worker starts was cut off by a crash.
# See docs/outbox.md.
# ==========================================================================================

outbox_messages = Table(
    "outbox_messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),  # emc:<exporter> | webhook:<id>
    Column("event", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("state", String(12), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("delivered_at", DateTime(timezone=True)),
    UniqueConstraint("channel", "idempotency_key"),
    Index("ix_outbox_messages_state_next", "state", "next_at"),
)

outbox_attempts = Table(
    "outbox_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", String(12), nullable=False),  # sending | ok | failed | interrupted
    Column("status_code", Integer),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_outbox_attempts_message", "message_id"),
)

# Every content version an exporter produced for a (period, unit): a new version, with its
# outbox message, is written in one transaction when the payload's figures' digest differs
# from the latest version's (chiso.exports.emc; docs/emc.md).
export_versions = Table(
    "export_versions", metadata,
    Column("exporter", String(32), primary_key=True),
    Column("period", String(24), primary_key=True),
    Column("unit", String(32), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("message_id", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Webhook subscriptions (chiso.store.webhooks; docs/webhooks.md): an operator's URL, secret
# and events. A subscription whose message is dead-lettered is disabled (``disabled_at``,
# ``disabled_reason``) until an operator turns it on again.
webhook_subscriptions = Table(
    "webhook_subscriptions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("events", JSON, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
    Column("disabled_reason", Text),
)

# The open datasets' change log (chiso.exports.changelog; docs/opendata.md). ``dataset_published``
# holds each row's figures as last published, keyed by the dataset's key fields joined with
# "|"; ``dataset_changes`` one row per figure that changed after it was first published: old
# and new value (as JSON text), when, and why (late_records, correction, new_method_version).
dataset_published = Table(
    "dataset_published", metadata,
    Column("dataset", String(32), primary_key=True),
    Column("period", String(24), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("figures", JSON, nullable=False),
    Column("records", Integer),
    Column("method_version", String(64)),
    Column("catalog_version", String(64)),
    Column("as_of", DateTime(timezone=True)),
    Column("first_published_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
)

dataset_changes = Table(
    "dataset_changes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset", String(32), nullable=False),
    Column("period", String(24), nullable=False),
    Column("key", String(300), nullable=False),
    Column("field", String(64), nullable=False),
    Column("old_value", Text),
    Column("new_value", Text),
    Column("old_as_of", DateTime(timezone=True)),
    Column("new_as_of", DateTime(timezone=True)),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("reason", String(24), nullable=False),
    Index("ix_dataset_changes_dataset_changed", "dataset", "changed_at"),
)

# -- the shared change stream: what committed batches changed, for every server process ----
change_events = Table(
    "change_events", metadata,
    # BIGINT on PostgreSQL; SQLite's INTEGER PRIMARY KEY is its row id (SQLite serves one process)
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("items", JSON, nullable=False),  # the stream's items, as the hub carries them
    Index("ix_change_events_created_at", "created_at"),
)
