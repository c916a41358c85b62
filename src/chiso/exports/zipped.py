"""Zip-based files (DOCX, XLSX) written byte for byte the same on every rebuild: every member
dated by a time the content fixes (a report's cut-off day, a dataset's last change) instead
of the time of writing, in the order written."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo


def write_fixed(raw: bytes, path: Path, stamp: datetime) -> Path:
    """Write the zip archive ``raw`` to ``path`` with each member dated ``stamp`` (a zip keeps
    local times to two seconds, from 1980); the members' names, order and bytes unchanged."""
    path.write_bytes(fixed(raw, stamp))
    return path


def fixed(raw: bytes, stamp: datetime) -> bytes:
    """The zip archive ``raw`` with each member dated ``stamp``, as :func:`write_fixed`."""
    when = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute,
            stamp.second)
    buffer = BytesIO()
    with ZipFile(BytesIO(raw)) as source, ZipFile(buffer, "w", ZIP_DEFLATED) as out:
        for info in source.infolist():
            member = ZipInfo(info.filename, date_time=when)
            member.compress_type = ZIP_DEFLATED
            member.external_attr = info.external_attr
            out.writestr(member, source.read(info))
    return buffer.getvalue()
