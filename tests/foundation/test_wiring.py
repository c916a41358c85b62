"""Only the runtime wires: importing any chiso module registers nothing, and
``open_runtime`` registers what the rooms need (the ingest path keeps the day state without
anybody importing ``chiso.measurement`` for its side effects)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import importlib, json, pkgutil, sys
from sqlalchemy import create_engine
import chiso
from chiso.intake import pipeline

for mod in pkgutil.walk_packages(chiso.__path__, "chiso."):
    if ".migrations." in mod.name:  # Alembic scripts run inside Alembic, not imported
        continue
    importlib.import_module(mod.name)

def listeners(engine):
    d, p = engine.dispatch, engine.pool.dispatch
    return {"commit": len(d.commit), "rollback": len(d.rollback),
            "before_cursor_execute": len(d.before_cursor_execute),
            "after_execute": len(d.after_execute), "checkin": len(p.checkin)}

plain = create_engine("sqlite://")
before = {"hooks": len(pipeline._AFTER_STORE), "listeners": listeners(plain)}

from chiso.config import Settings
from chiso.intake.pipeline import Provenance, ingest
from chiso.runtime import open_runtime
from tests.factories import feed_contract
from sqlalchemy import text

rt = open_runtime(Settings(database_url="sqlite:///" + sys.argv[1]))
record = {"id": "HS-1", "unit": "00070", "procedure": "1.001", "channel": "online",
          "received_at": "2026-03-02T08:00:00+07:00", "due_at": "2026-03-06T17:00:00+07:00",
          "resolved_at": None, "status": "received", "fully_online": True,
          "supplement_requests": 0, "supplement_days": 0, "result_electronic": None,
          "paid_online": None, "components_total": 1, "components_reused": 0,
          "updated_at": "2026-03-02T08:00:00+07:00"}
out = ingest(rt.engine, feed_contract("tthc.dossier"), [record], Provenance("t", "push"), b"{}",
             "application/json")
with rt.engine.connect() as conn:
    rows = conn.execute(text("SELECT count(*) FROM m_day")).scalar_one()
after = {"hooks": len(pipeline.store_hooks(rt.engine)), "listeners": listeners(rt.engine),
         "accepted": out.accepted, "day_rows": rows,
         "measurement_imported_by_runtime": "chiso.measurement" in sys.modules}
print(json.dumps({"before": before, "after": after}))
"""


def test_imports_register_nothing_until_the_runtime_opens(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "w.db")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["before"] == {"hooks": 0, "listeners": {
        "commit": 0, "rollback": 0, "checkin": 0, "before_cursor_execute": 0,
        "after_execute": 0}}
    after = got["after"]
    # measurement's day state, then the webhooks' changed values, registered by open_runtime
    assert after["hooks"] == 2
    assert after["listeners"]["commit"] >= 1  # the change stream, on this engine only
    assert after["accepted"] is True
    assert after["day_rows"] > 0  # the ingest path kept the day state


def test_the_architecture_names_every_web_module() -> None:
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "architecture.md").read_text(encoding="utf-8")
    web = root / "src" / "chiso" / "web"
    modules = sorted(p.relative_to(web.parent).as_posix() for p in web.rglob("*.py")
                     if p.name != "__init__.py")
    unnamed = [m for m in modules if f"`{m}`" not in doc]
    assert not unnamed, f"docs/architecture.md does not name {unnamed}: say what each does"
