"""Building a report's files: gather its figures, word them, write them. The command line
and (later) the scheduler call :func:`build`; it returns the paths it wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from chiso.context import Runtime
from chiso.reports.content import CITY, ReportData, ReportError, gather
from chiso.reports.docx import write_docx
from chiso.reports.pdf import write_pdf
from chiso.reports.wording import Letter, Locale, compose
from chiso.reports.xlsx import write_xlsx


@dataclass(frozen=True)
class Built:
    data: ReportData
    letter: Letter
    paths: list[Path]


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


def build(rt: Runtime, kind: str, period: str, unit: str, out_dir: Path, *,
          issued: date, locale: Locale = "vi") -> Built:
    """Write report ``kind`` for ``period`` and ``unit`` ("city" or a unit code) into
    ``out_dir``, dated ``issued``; raises :class:`~chiso.reports.content.ReportError` for
    a report that cannot be built as asked."""
    data = gather(rt, kind, period, unit)
    letter = compose(data, rt.catalog, locale, issued)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "" if locale == "vi" else f".{locale}"
    stem = file_stem(data) + suffix
    stamp = datetime.combine(data.as_of, time())
    docx = write_docx(letter, out_dir / f"{stem}.docx", stamp)
    annex = write_xlsx(data, rt.catalog, out_dir / f"{file_stem(data)}.xlsx", stamp)
    pdf = write_pdf(letter, out_dir / f"{stem}.pdf", stamp)
    return Built(data, letter, [docx, annex, pdf])
