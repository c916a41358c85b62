"""Alerts (docs/outlook.md, "Alerts"): the target outlooks and task warnings of each owning
unit, raised once per (kind, item, unit, status), delivered in the app, by e-mail and by a
signed webhook; escalated once to the tracking agency and the operator when an alert's status
has not changed for the configured time.

E-mails and the webhook call are outbox messages (channels :data:`MAIL_CHANNEL` and
:data:`WEBHOOK_CHANNEL`) written in the transaction that raises or escalates the alert, so the
outbox's worker sends them, retries them with back-off and dead-letters what keeps failing
(docs/outbox.md); ``alert_deliveries`` links each to its message.

Rules are configuration (``data/alerts/rules.yaml`` or ``CHISO_ALERT_RULES``); endpoints and
the webhook secret are settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, Engine, select

from chiso.catalog.loader import Catalog, load_catalog
from chiso.config import Settings
from chiso.context import Answer
from chiso.measurement import values as mv
from chiso.measurement.progress import record_units
from chiso.outlook import live
from chiso.store import outbox, webhooks
from chiso.store.catalog_sync import plan_key
from chiso.store.tables import alert_deliveries, alerts, assignments, outbox_messages

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "data" / "alerts" / "rules.yaml"
#: The outbox channel of alert e-mails: each message's URL is ``mailto:<recipient>`` and its
#: body the e-mail (``from``, ``to``, ``subject``, ``text``, ``headers``).
MAIL_CHANNEL = "mail:alerts"
#: The outbox channel of the alert webhook (``CHISO_ALERT_WEBHOOK_URL``), signed with
#: ``CHISO_ALERT_WEBHOOK_SECRET``.
WEBHOOK_CHANNEL = "alerts:webhook"


@dataclass(frozen=True)
class Rules:
    target_statuses: tuple[str, ...] = ("có nguy cơ", "chậm tiến độ")
    target_roles: tuple[str, ...] = ("tracking", "implementing")
    task_kinds: tuple[str, ...] = ("overdue", "due_soon_no_evidence", "milestone_slipping")
    task_roles: tuple[str, ...] = ("lead",)
    due_within_days: int = 30
    escalate_after_days: int = 14
    task_tracking_agency: str = "SKHCN"
    unit_email: str = "{unit}@donvi.hanoi.gov.vn"
    operator_email: str = "chiso-vanhanh@skhcn.hanoi.gov.vn"
    units: tuple[str, ...] = field(default_factory=tuple)
    contacts: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def mailboxes(self, unit: str) -> list[str]:
        """Where a unit's alerts go: its listed contacts, else its mailbox by the pattern."""
        return list(self.contacts.get(unit) or (self.unit_email.format(unit=unit),))


def load_rules(path: Path | None = None) -> Rules:
    raw = yaml.safe_load((path or DEFAULT_RULES).read_text(encoding="utf-8")) or {}
    known = set(Rules.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown alert rule keys: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    contacts = raw.get("contacts") or {}
    if not isinstance(contacts, dict) or not all(
            isinstance(to, list) and to and all(isinstance(a, str) and "@" in a for a in to)
            for to in contacts.values()):
        raise ValueError("alert rules: contacts maps a unit code to a list of e-mail addresses")
    values["contacts"] = {str(unit): tuple(to) for unit, to in contacts.items()}
    return Rules(**values)


@dataclass(frozen=True)
class Candidate:
    kind: str  # target | task
    plan_key: str
    item_id: str
    unit: str
    status: str
    message: str
    detail: dict[str, Any]

    @property
    def subject(self) -> str:
        return f"{self.kind}|{self.plan_key}|{self.item_id}|{self.unit}"

    @property
    def dedup_key(self) -> str:
        return f"{self.subject}|{self.status}"


def _owners(conn: Connection, kind: str, roles: tuple[str, ...]
            ) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for key, item, unit in conn.execute(select(
            assignments.c.plan_key, assignments.c.item_id, assignments.c.unit_code).where(
            assignments.c.item_kind == kind, assignments.c.role.in_(roles))):
        out.setdefault((key, item), set()).add(unit)
    return out


def candidates(conn: Connection, catalog: Catalog, rules: Rules, today: date
               ) -> list[Candidate]:
    """What should be alerted now: flagged target outlooks at their owning units and task
    warnings at their lead units, as the rules select them."""
    wanted = set(rules.units)
    out: list[Candidate] = []
    m = catalog.measurement
    target_owners = _owners(conn, "target", rules.target_roles)
    for number, entry in catalog.plans.items():
        key = plan_key(number)
        pb = m.plans.get(number) if m else None
        for target in entry.targets:
            binding = pb.bindings.get(target.id) if pb else None
            if binding is None or not binding.indicators:
                continue
            owners = set(target_owners.get((key, target.id), set()))
            if binding.level == "records" and m is not None:  # the units on the records act
                periods = mv.judged_periods(binding, target.deadline, today)
                owners |= set(record_units(conn, m, binding.indicators[0], periods, today))
            for unit in sorted(owners):
                if wanted and unit not in wanted:
                    continue
                got = live.target_outlook(conn, catalog, number, target.id, unit, today)
                status = got.get("status")
                if status in rules.target_statuses:
                    out.append(Candidate(
                        "target", key, target.id, unit, str(status), got["sentence"]["vi"],
                        {"sentence": got["sentence"], "forecast": got["forecast"],
                         "deadline": got["deadline"], "plan": number}))
    task_owners = _owners(conn, "task", rules.task_roles)
    units = sorted({u for us in task_owners.values() for u in us})
    for unit in units:
        if wanted and unit not in wanted:
            continue
        got = live.unit_task_warnings(conn, catalog, unit, today, rules.due_within_days)
        for w in got["warnings"]:
            key = plan_key(w["plan"])
            if w["kind"] not in rules.task_kinds or unit not in task_owners.get(
                    (key, w["task"]), set()):
                continue
            item = w["task"] if w["milestone"] is None else f"{w['task']}#{w['milestone']}"
            message = (f"Nhiệm vụ {w['task']} ({w['plan']}): {w['kind_vi']}, "
                       f"hạn {date.fromisoformat(w['due']).strftime('%d/%m/%Y')}")
            out.append(Candidate("task", key, item, unit, w["kind"], message,
                                 {**w, "title": w["title"]}))
    return out


def _record(conn: Connection, alert_id: int, purpose: str, channel: str, recipient: str,
            ok: bool, detail: str, at: datetime, message_id: int | None = None) -> None:
    conn.execute(alert_deliveries.insert().values(
        alert_id=alert_id, purpose=purpose, channel=channel, recipient=recipient, ok=ok,
        detail=detail[:2000], at=at, message_id=message_id))


def _payload(row: dict[str, Any], purpose: str, recipients: list[str]) -> dict[str, Any]:
    return {"event": purpose, "alert": row["id"], "kind": row["kind"],
            "plan_key": row["plan_key"], "item": row["item_id"], "unit": row["unit"],
            "status": row["status"], "message": row["message"],
            "raised_on": row["raised_on"].isoformat(), "recipients": recipients,
            "detail": row["detail"]}


def mail(settings: Settings, row: dict[str, Any], purpose: str, to: str) -> dict[str, Any]:
    """The e-mail about alert ``row`` for ``purpose`` (alert | escalation), as the outbox
    carries it."""
    prefix = "[chiso] Cảnh báo" if purpose == "alert" else "[chiso] Chuyển cấp cảnh báo"
    return {"from": settings.mail_from, "to": to,
            "subject": f"{prefix}: {row['item_id']} – {row['status']} ({row['unit']})",
            "headers": {"X-Chiso-Alert": f"{row['id']}:{purpose}"},
            "text": f"{row['message']}\n\nĐơn vị: {row['unit']}\nKế hoạch: "
                    f"{row['plan_key']}\nMã cảnh báo: {row['id']}\n"}


def _deliver(conn: Connection, settings: Settings, row: dict[str, Any], purpose: str,
             emails: list[str], now: datetime) -> None:
    """Write the e-mails to ``emails`` and the webhook call to the outbox, in the caller's
    transaction; each linked from ``alert_deliveries``. The idempotency key names the alert,
    the purpose and the recipient, so one alert is one message per recipient."""
    for to in emails:
        mid = outbox.enqueue(conn, channel=MAIL_CHANNEL, event=f"alert.{purpose}",
                             url=f"mailto:{to}", key=f"alert:{row['id']}:{purpose}:{to}",
                             payload=mail(settings, row, purpose, to), now=now)
        if mid is not None:
            _record(conn, row["id"], purpose, "email", to, False, "queued", now, mid)
    url = settings.alert_webhook_url
    if url:
        mid = outbox.enqueue(conn, channel=WEBHOOK_CHANNEL, event=f"alert.{purpose}", url=url,
                             key=f"alert:{row['id']}:{purpose}",
                             payload=_payload(row, purpose, emails), now=now)
        if mid is not None:
            _record(conn, row["id"], purpose, "webhook", url, False, "queued", now, mid)


def _target(row: dict[str, Any]) -> str:
    return f"{row['plan_key']}:{row['item_id']}:{row['unit']}"


def _target_data(row: dict[str, Any], previous: str | None, status: str | None
                 ) -> dict[str, Any]:
    return {"plan": row["plan_key"], "target": row["item_id"], "unit": row["unit"],
            "previous_status": previous, "status": status}


def _announce(conn: Connection, row: dict[str, Any], old: dict[str, Any] | None,
              now: datetime) -> None:
    """Tell webhook subscribers, in the alert's transaction: the alert, and for a target
    the change of its status (``None``: not flagged by a rule)."""
    webhooks.publish(conn, webhooks.ALERT_RAISED, f"alert:{row['id']}", {
        "alert": row["id"], "kind": row["kind"], "plan": row["plan_key"],
        "item": row["item_id"], "unit": row["unit"], "status": row["status"],
        "message": row["message"], "raised_on": row["raised_on"].isoformat()}, now)
    if row["kind"] == "target":
        webhooks.publish(conn, webhooks.TARGET_STATUS_CHANGED, _target(row), _target_data(
            row, None if old is None else old["status"], row["status"]), now)


def _tracking(conn: Connection, rules: Rules, row: dict[str, Any]) -> list[str]:
    if row["kind"] == "task":
        return [rules.task_tracking_agency] if rules.task_tracking_agency else []
    return sorted({u for (u,) in conn.execute(select(assignments.c.unit_code).where(
        assignments.c.plan_key == row["plan_key"], assignments.c.item_kind == "target",
        assignments.c.item_id == row["item_id"], assignments.c.role == "tracking"))})


def run_alerts(engine: Engine, settings: Settings, today: date,
               catalog: Catalog | None = None, rules: Rules | None = None) -> dict[str, Any]:
    """Raise new alerts (new subject, or its status changed), write their e-mails and webhook
    call to the outbox, and escalate the ones unchanged past ``escalate_after_days``, all in
    one transaction. Returns counts."""
    catalog = catalog or load_catalog(settings.data_dir)
    rules = rules or load_rules(settings.alert_rules)
    now = datetime.now(UTC)
    raised = escalated = 0
    with engine.begin() as conn:
        found = candidates(conn, catalog, rules, today)
        current = {r["subject"]: dict(r) for r in conn.execute(
            select(alerts).where(alerts.c.superseded.is_(False))).mappings()}
        live_subjects = set()
        for c in found:
            live_subjects.add(c.subject)
            old = current.get(c.subject)
            if old is not None and old["dedup_key"] == c.dedup_key:
                continue
            if old is not None:
                conn.execute(alerts.update().where(alerts.c.id == old["id"])
                             .values(superseded=True))
            values = {"subject": c.subject, "dedup_key": c.dedup_key, "kind": c.kind,
                      "plan_key": c.plan_key, "item_id": c.item_id, "unit": c.unit,
                      "status": c.status, "message": c.message,
                      "detail": json.loads(json.dumps(c.detail, default=str)),
                      "raised_on": today, "superseded": False, "escalated_on": None,
                      "created_at": now}
            new_id = conn.execute(alerts.insert().values(**values)).inserted_primary_key[0]  # type: ignore[index]
            row = {**values, "id": new_id}
            current[c.subject] = row
            raised += 1
            _record(conn, new_id, "alert", "app", c.unit, True, "shown in the app", now)
            _announce(conn, row, old, now)
            _deliver(conn, settings, row, "alert", rules.mailboxes(c.unit), now)
        # an alert whose condition is gone is closed (superseded, nothing sent but the
        # target's change of status to subscribers)
        for subject, row in current.items():
            if subject not in live_subjects:
                conn.execute(alerts.update().where(alerts.c.id == row["id"])
                             .values(superseded=True))
                if row["kind"] == "target":
                    webhooks.publish(conn, webhooks.TARGET_STATUS_CHANGED, _target(row),
                                     _target_data(row, row["status"], None), now)
        due = today - timedelta(days=rules.escalate_after_days)
        for subject, row in current.items():
            if (subject in live_subjects and row["escalated_on"] is None
                    and row["raised_on"] <= due):
                conn.execute(alerts.update().where(alerts.c.id == row["id"])
                             .values(escalated_on=today))
                to = [a for u in _tracking(conn, rules, row) for a in rules.mailboxes(u)]
                to.append(rules.operator_email)
                _record(conn, row["id"], "escalation", "app", ",".join(to), True,
                        "shown in the app", now)
                _deliver(conn, settings, row, "escalation", to, now)
                escalated += 1
    return {"today": today.isoformat(), "candidates": len(found), "raised": raised,
            "escalated": escalated}


class Delivery(Answer):
    """One way an alert was delivered: in the app, an e-mail to one recipient, the webhook."""

    purpose: str  # alert | escalation
    channel: str  # app | email | webhook
    recipient: str
    ok: bool
    detail: str
    at: str  # ISO time: written, or delivered
    message: int | None  # the outbox message (e-mail, webhook)
    state: str | None  # pending | delivered | dead (e-mail, webhook)
    attempts: int


class Alert(Answer):
    """An alert raised for a unit: a target's outlook or a task's warning, with the sentence
    the unit can act on and every delivery."""

    id: int
    kind: str  # target | task
    plan_key: str
    item_id: str
    unit: str
    status: str
    message: str
    detail: dict[str, Any]
    raised_on: str
    superseded: bool  # closed: its condition is gone, or its status changed
    escalated_on: str | None
    created_at: str
    deliveries: list[Delivery]


def listing(conn: Connection, unit: str | None, limit: int = 500,
            open_only: bool = False) -> list[Alert]:
    """Alerts (newest first) with their deliveries; an e-mail's or webhook's ``ok``,
    ``detail`` and ``at`` are its outbox message's now (``state``: pending, delivered, dead;
    ``attempts``), so a failed delivery shows while it is retried. ``open_only``: those whose
    condition still holds."""
    q = select(alerts).order_by(alerts.c.id.desc()).limit(limit)
    if unit is not None:
        q = q.where(alerts.c.unit == unit)
    if open_only:
        q = q.where(alerts.c.superseded.is_(False))
    rows = [dict(r) for r in conn.execute(q).mappings()]
    ids = [r["id"] for r in rows]
    sent: dict[int, list[dict[str, Any]]] = {}
    if ids:
        d, m = alert_deliveries, outbox_messages
        for got in conn.execute(
                select(d, m.c.state, m.c.attempts, m.c.last_error, m.c.delivered_at)
                .outerjoin(m, m.c.id == d.c.message_id)
                .where(d.c.alert_id.in_(ids)).order_by(d.c.id)).mappings():
            item = {"purpose": got["purpose"], "channel": got["channel"],
                    "recipient": got["recipient"], "ok": got["ok"], "detail": got["detail"],
                    "at": outbox.utc(got["at"]).isoformat(), "message": got["message_id"],
                    "state": None, "attempts": 0}
            if got["message_id"] is not None and got["state"] is not None:
                delivered = got["state"] == outbox.DELIVERED
                item |= {"ok": delivered, "state": got["state"], "attempts": got["attempts"],
                         "detail": "sent" if delivered else (got["last_error"] or got["state"])}
                if got["delivered_at"] is not None:
                    item["at"] = outbox.utc(got["delivered_at"]).isoformat()
            sent.setdefault(got["alert_id"], []).append(item)
    for r in rows:
        for k in ("raised_on", "escalated_on", "created_at"):
            if r[k] is not None:
                r[k] = r[k].isoformat()
        r["deliveries"] = sent.get(r["id"], [])
    return [Alert.model_validate(r) for r in rows]
