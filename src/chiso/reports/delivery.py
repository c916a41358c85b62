"""Sending an issued report: one e-mail to each of its kind's recipients, with the DOCX, XLSX
and PDF attached, through the SMTP server of the settings (``CHISO_SMTP_HOST``,
``CHISO_SMTP_PORT``, ``CHISO_MAIL_FROM``). Each attempt is recorded on the report
(``delivery``: to whom, sent or why not, when); a failure never undoes the issue."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import update

from chiso.context import Runtime
from chiso.reports import archive
from chiso.store.tables import reports

ATTACHED = (".docx", ".xlsx", ".pdf")


def message(rt: Runtime, report: archive.StoredReport, to: str) -> EmailMessage:
    """The e-mail of an issued report to ``to``: subject, a short body, its files."""
    kind = rt.catalog.reports.get(report.kind)
    title = kind.title_vi if kind else report.kind
    unit = rt.catalog.units.units.get(report.unit)
    name = "Thành phố Hà Nội" if report.unit == "city" else (unit.name if unit else report.unit)
    msg = EmailMessage()
    msg["From"] = rt.settings.mail_from
    msg["To"] = to
    msg["Subject"] = f"[chiso] {title} {report.period} – {name} (số {report.number})"
    msg["X-Chiso-Report"] = str(report.id)
    day = f"{report.issued_on:%d/%m/%Y}" if report.issued_on else ""
    msg.set_content(f"{title} kỳ {report.period} của {name}, số {report.number}, ban hành ngày "
                    f"{day}, người ký: {report.signer}.\nCác tệp báo cáo được gửi kèm theo "
                    f"thư này.\nMã kiểm tra nội dung (SHA-256): {report.content_sha256}\n")
    with rt.engine.connect() as conn:
        for f in report.files:
            if Path(f.name).suffix not in ATTACHED:
                continue
            got = archive.file(conn, report.id, f.name)
            assert got is not None
            main, sub = f.media_type.split("/", 1)
            msg.add_attachment(got[1], maintype=main, subtype=sub, filename=f.name)
    return msg


def deliver(rt: Runtime, report_id: int) -> list[archive.Delivery]:
    """Send issued report ``report_id`` to its kind's recipients and record each attempt."""
    with rt.engine.connect() as conn:
        report = archive.get(conn, report_id)
    if report is None or report.status != "issued":
        return []
    kind = rt.catalog.reports.get(report.kind)
    done: list[archive.Delivery] = []
    for to in kind.recipients if kind else []:
        try:
            with smtplib.SMTP(rt.settings.smtp_host, rt.settings.smtp_port, timeout=10) as smtp:
                smtp.send_message(message(rt, report, to))
            done.append(archive.Delivery(to=to, sent=True, detail="sent", at=datetime.now(UTC)))
        except (OSError, smtplib.SMTPException) as exc:
            done.append(archive.Delivery(to=to, sent=False, detail=repr(exc)[:300],
                                         at=datetime.now(UTC)))
    with rt.engine.begin() as conn:
        conn.execute(update(reports).where(reports.c.id == report_id).values(
            delivery=[d.model_dump(mode="json") for d in [*report.delivery, *done]]))
    return done
