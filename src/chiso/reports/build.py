"""Building a report's files: gather its figures, word them, write them. The command line
and (later) the scheduler call :func:`build`; it returns the paths it wrote."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from chiso.context import Runtime
from chiso.reports.as_of import cut_off_for, view
from chiso.reports.content import CITY, ReportData, ReportError, gather, report_period
from chiso.reports.docx import write_docx
from chiso.reports.pdf import write_pdf
from chiso.reports.wording import Letter, Locale, compose
from chiso.reports.xlsx import write_xlsx


@dataclass(frozen=True)
class Built:
    data: ReportData
    letter: Letter
    paths: list[Path]  # DOCX, XLSX, PDF, then the manifest
    content_hash: str


def content_hash(data: ReportData) -> str:
    """The SHA-256 of the report's figures (canonical JSON): equal figures, equal hash."""
    return hashlib.sha256(data.model_dump_json().encode()).hexdigest()


def manifest(rt: Runtime, data: ReportData, files: list[Path],
             cut_off: datetime | None = None) -> dict[str, object]:
    """What a report was built from: its request, cut-off day and time (records received up
    to then), catalog version, the version of its ranking method in force, its content hash
    and each file's hash."""
    kind = rt.catalog.reports[data.kind]
    methods = rt.catalog.methods
    method = methods.in_force(kind.ranking.method, data.as_of) if methods else None
    return {"kind": data.kind, "period": data.period, "unit": data.unit or "city",
            "as_of": data.as_of.isoformat(),
            "cut_off": cut_off.astimezone(UTC).isoformat() if cut_off else None,
            "catalog": rt.catalog.digest,
            "methods": {method.code: method.version} if method else {},
            "content_sha256": content_hash(data),
            "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}}


def issuing_units(rt: Runtime, kind: str) -> list[str]:
    """'city' and every scored unit whose kind issues report ``kind``, in registry order."""
    found = rt.catalog.reports.get(kind)
    if found is None:
        raise ReportError(f"no report kind {kind!r}; known kinds: "
                          f"{', '.join(sorted(rt.catalog.reports)) or 'none'}")
    units = [u.code for u in rt.catalog.units.units.values()
             if u.scored and str(u.kind) in found.scopes]
    return ([CITY] if "city" in found.scopes else []) + units


def file_stem(data: ReportData) -> str:
    """'monthly-2026-11-city', 'monthly-2026-11-00070': one name per kind, period and unit."""
    return f"{data.kind}-{data.period}-{data.unit or 'city'}"


def gather_as_of(rt: Runtime, kind: str, period: str, unit: str, now: datetime,
                 cut_off: datetime | None = None) -> tuple[ReportData, datetime]:
    """The report's figures read from the records received up to its cut-off (``cut_off``
    when given, else the start of its due day, or ``now`` before then), and that cut-off."""
    found = rt.catalog.reports.get(kind)
    if found is None:
        return gather(rt, kind, period, unit), now  # gather names the known kinds
    cut = cut_off.astimezone(UTC) if cut_off is not None else \
        cut_off_for(found, report_period(found, period).end, now)
    with view(rt, cut) as seen:
        return gather(seen, kind, period, unit), cut


def build(rt: Runtime, kind: str, period: str, unit: str, out_dir: Path, *,
          issued: date, locale: Locale = "vi", now: datetime | None = None,
          cut_off: datetime | None = None) -> Built:
    """Write report ``kind`` for ``period`` and ``unit`` ("city" or a unit code) into
    ``out_dir``, dated ``issued``, from the records received up to its cut-off (see
    :func:`gather_as_of`; ``now`` defaults to the clock; ``cut_off``, an aware time,
    reproduces a report as of then); raises :class:`~chiso.reports.content.ReportError` for
    a report that cannot be built as asked."""
    if cut_off is not None and cut_off.tzinfo is None:
        raise ReportError("cut_off: give the time with its offset, e.g. 2026-12-20T00:00+07:00")
    data, cut = gather_as_of(rt, kind, period, unit, now or datetime.now(UTC), cut_off)
    return write(rt, data, out_dir, issued=issued, locale=locale, cut_off=cut)


def write(rt: Runtime, data: ReportData, out_dir: Path, *, issued: date,
          locale: Locale = "vi", number: str | None = None, signer: str = "",
          proposals: str | None = None, cut_off: datetime | None = None) -> Built:
    """Write the files of a report whose figures are ``data`` into ``out_dir`` (the
    letter's number, signer and proposals as :func:`~chiso.reports.wording.compose`)."""
    letter = compose(data, rt.catalog, locale, issued, number=number, signer=signer,
                     proposals=proposals)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "" if locale == "vi" else f".{locale}"
    stem = file_stem(data) + suffix
    stamp = datetime.combine(data.as_of, time())
    docx = write_docx(letter, out_dir / f"{stem}.docx", stamp)
    annex = write_xlsx(data, rt.catalog, out_dir / f"{file_stem(data)}.xlsx", stamp)
    pdf = write_pdf(letter, out_dir / f"{stem}.pdf", stamp)
    files = [docx, annex, pdf]
    facts = manifest(rt, data, files, cut_off)
    record = out_dir / f"{stem}.manifest.json"
    record.write_text(json.dumps(facts, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                      encoding="utf-8")
    return Built(data, letter, [*files, record], str(facts["content_sha256"]))
