"""Door helpers shared by the web and the CLI: JSON / NDJSON bodies and file uploads."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine

from chiso.catalog.feeds import Contract
from chiso.intake import mappings
from chiso.intake.files import FileRefusedError, parse_file, redacted_csv
from chiso.intake.pipeline import Outcome, Provenance, archive, ingest, pseudonymise, record_refusal
from chiso.intake.settings import IntakeSettings
from chiso.intake.validate import Problem, Scope
from chiso.text import Said, read_json


@dataclass
class BodyError(ValueError):
    problems: list[Problem]


def parse_body(body: bytes, content_type: str, max_records: int) -> list[Any]:
    """A JSON array (or ``{"records": [...]}``) or NDJSON (one record per line)."""
    if "ndjson" in content_type or "jsonl" in content_type:
        records: list[Any] = []
        problems = []
        for line_no, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(read_json(line))
            except ValueError as exc:
                problems.append(Problem(len(records), None,
                                        f"line {line_no} is not valid JSON: {exc}", row=line_no))
                records.append(None)
        if problems:
            raise BodyError(problems)
    else:
        try:
            data = read_json(body)
        except ValueError as exc:
            raise BodyError([Problem(-1, None, f"the body is not valid JSON: {exc}")]) from exc
        if isinstance(data, dict) and isinstance(data.get("records"), list):
            data = data["records"]
        if not isinstance(data, list):
            raise BodyError([Problem(-1, None, "the body must be a JSON array of records or "
                                               '{"records": [...]}')])
        records = data
    if not records:
        raise BodyError([Problem(-1, None, "the batch has no records")])
    if len(records) > max_records:
        raise BodyError([Problem(-1, None, f"{len(records)} records in one batch; the limit is "
                                           f"{max_records}, split the batch")])
    return records


def ingest_body(
    engine: Engine, contract: Contract, body: bytes, content_type: str, prov: Provenance,
    scope: Scope, settings: IntakeSettings,
) -> Outcome:
    """Push and pull: parse the body, then the one path. Malformed bodies are kept too."""
    media = "application/x-ndjson" if "ndjson" in content_type else "application/json"
    try:
        records = parse_body(body, content_type, settings.max_batch_records)
    except BodyError as exc:
        return record_refusal(engine, contract, prov, body, media, exc.problems,
                              keep=settings.archive_personal)
    return ingest(engine, contract, records, prov, body, media, scope=scope, settings=settings)


def evidence_media(name: str | None) -> str:
    """The archive's media type for an evidence file: its name percent-encoded (HTTP headers
    and the column are ASCII) and cut to fit the column."""
    quoted = quote(name or "", safe=" ._-()")
    return f"evidence; name={quoted}"[:100]


def upload_source(door: str, unit: str) -> str:
    """The source name a file is stored under: one per door and unit, so that one unit's
    uploads never share record ids (and so never collide) with another unit's."""
    return f"{door}:{unit}"


def ingest_file(
    engine: Engine, contract: Contract, data: bytes, filename: str, unit: str,
    known_units: frozenset[str], settings: IntakeSettings, *, source: str | None = None,
    evidence: bytes | None = None, evidence_name: str | None = None,
    encoding: str | None = None, mapping_source: str = "upload",
) -> tuple[Outcome, dict[str, Any]]:
    """The file door: returns the outcome and what was read (kind, encoding, columns, the
    columns no field reads with the field proposed for each, the rows laid out around the
    data and read as no record, the mapping version used).
    Records are stored under ``source`` (default ``upload:<unit>``, ``upload_source``); the
    headings are read with the latest column mapping of (feed, unit, ``mapping_source``)
    when a steward saved one, and the batch records its id."""
    source = source or upload_source("upload", unit)
    media = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
             if data[:4] == b"PK\x03\x04" else "text/csv")
    manual = contract.publishes_values  # a figure typed into a file is a hand-typed figure
    prov = Provenance(source, "file", unit=unit, filename=filename, manual=manual)
    info: dict[str, Any] = {}
    if manual:
        if not evidence:
            problem = Problem(-1, None, Said("values typed by hand need an evidence file (the "
                                             "signed report or release they come from); "
                                             "attach it"))
            return record_refusal(engine, contract, prov, data, media, [problem],
                                  keep=settings.archive_personal), info
        with engine.begin() as conn:
            prov.evidence_sha256 = archive(conn, evidence, evidence_media(evidence_name))
    if unit not in known_units:
        problem = Problem(-1, "unit", Said("unknown unit code '%(unit)s'", unit=unit))
        return record_refusal(engine, contract, prov, data, media, [problem],
                              keep=settings.archive_personal), info
    with engine.connect() as conn:
        mapping = mappings.latest(conn, contract.feed, unit, mapping_source)
    if mapping is not None:
        prov.mapping_id = mapping.id
        info["mapping"] = {"id": mapping.id, "source": mapping.source,
                           "version": mapping.version}
    try:
        parsed = parse_file(data, filename, contract, settings, encoding, known_units,
                            mapping.headers() if mapping else None)
    except FileRefusedError as exc:
        return record_refusal(engine, contract, prov, data, media, [exc.problem],
                              keep=settings.archive_personal), info
    info |= {"kind": parsed.kind, "encoding": parsed.encoding, "columns": parsed.columns,
             "unmapped_columns": parsed.unmapped,
             "proposals": [asdict(p) for p in parsed.proposals],
             "read_columns": [asdict(p) for p in parsed.read],
             "layout_rows": [asdict(x) for x in parsed.layout]}
    payload = data
    if (parsed.personal_columns or parsed.unmapped_columns) and not settings.archive_personal:
        key = settings.key()
        payload = redacted_csv(parsed, lambda v: pseudonymise(v, key))
        media = "text/csv; redacted"
    if parsed.header_problems:
        return record_refusal(engine, contract, prov, payload, media, parsed.header_problems,
                              len(parsed.records)), info
    if not parsed.records:
        problem = Problem(-1, None, Said("the file has a header but no data rows"))
        return record_refusal(engine, contract, prov, payload, media, [problem]), info
    outcome = ingest(engine, contract, parsed.records, prov, payload, media, mode="text",
                     scope=Scope(known_units=known_units, default_unit=unit,
                                 fill_unit="unit" not in parsed.columns),
                     locate=parsed.locate(), settings=settings, redact=False)
    return outcome, info
