"""The DTI exporter kind on both databases: chosen by configuration beside EMC, it sends each
unit's digital-transformation index (total, rank, pillars, criteria, the indicator values
behind them) as the documented ``chiso.dti/1`` payload, a new version only when a figure
changes, signed and delivered through the outbox to the simulated receiver."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError
from tests.exports.emc_support import BA_DINH, HOAN_KIEM, send

from chiso.config import Exporter, Settings
from chiso.context import Runtime
from chiso.exports import channels, exporters
from chiso.store import outbox
from chiso_sim.receiver import Receiver, receiver_app
from chiso_sim.servers import ServerThread

SECRET = "dti-shared-secret-0123456789"
TODAY = date(2026, 4, 10)
NOW = datetime(2026, 4, 10, 3, 0, tzinfo=UTC)


def dti(url: str, units: list[str]) -> Exporter:
    return Exporter(name="dti", kind="dti", url=url, secret=SECRET, units=units,
                    indicators=["tthc.on_time_rate"])


def test_the_kind_is_a_setting() -> None:
    settings = Settings(exporters=[  # as CHISO_EXPORTERS gives them
        {"name": "emc", "url": "https://emc.example/api", "secret": SECRET},
        {"name": "dti", "kind": "dti", "url": "https://dti.example/api", "secret": SECRET,
         "units": ["all"]}])
    assert {n: e.kind for n, e in channels.exporters(settings).items()} == {
        "emc": "emc", "dti": "dti"}
    assert channels.exporters(settings)["dti"].method == "dx-5279"
    with pytest.raises(ValidationError, match="kind"):
        Exporter(name="x", kind="fax", url="https://x", secret=SECRET)  # type: ignore[arg-type]


def test_the_dti_payload_versions_and_delivery(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    send(rt.engine, HOAN_KIEM, range(10), on_time=True)
    send(rt.engine, BA_DINH, range(10), on_time=False)
    rx = Receiver(SECRET)
    with ServerThread(receiver_app(rx)) as server:
        ex = dti(server.url + "/dti", ["UBNDTP", HOAN_KIEM, BA_DINH])
        first = exporters.export(rt, ex, "2026-03", TODAY, NOW)
        # the city is not ranked by the index: left out
        assert sorted((s.unit, s.version) for s in first) == [(BA_DINH, 1), (HOAN_KIEM, 1)]
        with rt.engine.connect() as conn:
            sent = outbox.messages(conn, channel="export:dti")
        assert {m.event for m in sent} == {"dti.report"}
        body = json.loads(next(m.body for m in sent if HOAN_KIEM in m.idempotency_key))
        assert body["schema"] == "chiso.dti/1"
        assert body["idempotency_key"] == f"dti:2026-03:{HOAN_KIEM}:v1"
        index = body["index"]
        assert (index["method"], index["kind"], index["max_points"]) == (
            "dx-5279", "commune", 100)
        assert 1 <= index["rank"] <= index["of"]
        assert body["pillars"]
        assert sum(p["points"] for p in body["pillars"]) == pytest.approx(index["points"])
        assert sum(p["max_points"] for p in body["pillars"]) == pytest.approx(100)
        assert all(p["criteria"] for p in body["pillars"])
        assert index["missing"] == sum(p["missing"] for p in body["pillars"])
        (ind,) = body["indicators"]
        assert (ind["indicator"], ind["value"]) == ("tthc.on_time_rate", 100.0)

        assert exporters.export(rt, ex, "2026-03", TODAY, NOW) == []
        send(rt.engine, HOAN_KIEM, range(100, 110), on_time=False)  # late records for March
        again = exporters.export(rt, ex, "2026-03", TODAY, NOW)
        assert (HOAN_KIEM, 2) in [(s.unit, s.version) for s in again]

        settings = Settings(database_url=rt.settings.database_url, exporters=[ex])
        worker = channels.deliverer(settings, rt.engine)
        while worker.deliver_due():
            pass
        state = rx.state()
        assert state["rejected"] == 0
        assert state["applied"] == len(first) + len(again)
        assert {b["schema"] for b in rx.applied.values()} == {"chiso.dti/1"}


def test_an_unknown_method_is_one_line(fresh_runtime: Runtime) -> None:
    bad = dti("http://127.0.0.1:9/dti", ["all"]).model_copy(update={"method": "nope"})
    with pytest.raises(exporters.ExportError, match="no scoring method 'nope'"):
        exporters.export(fresh_runtime, bad, "2026-03", TODAY)
