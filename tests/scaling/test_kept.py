"""Kept answers under many readers: the board's tile announcements leave them kept, a data
announcement makes one reader re-check while the others get the kept answer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from chiso.context import Hub, Runtime
from chiso.runtime import create_app
from chiso.web.kept import CHECK_SECONDS, keep, kept_answer


def test_tiles_announcements_move_no_generation() -> None:
    hub = Hub()
    hub.publish([{"type": "tiles", "ids": ["a"], "version": 3}])
    assert hub.generation == 0
    hub.publish([{"indicator": "tthc.on_time_rate", "period": "2027-01-01"}])
    assert hub.generation == 1
    hub.publish([{"type": "scores", "method": "m"}])
    assert hub.generation == 2


@pytest.fixture
def kept_runtime(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """The shared runtime with kept answers served for a minute without a re-check (the
    tests' default re-checks each time)."""
    monkeypatch.setattr(runtime, "settings",
                        runtime.settings.model_copy(update={"rankings_recheck": 60.0}))
    return runtime


def test_one_reader_rechecks_after_a_change(kept_runtime: Runtime) -> None:
    runtime = kept_runtime
    cache, key = "test.kept", ("k",)
    runtime.caches.pop(cache, None)
    runtime.caches.pop(f"{cache}.checking", None)
    made: list[bytes] = []

    def answer(body: bytes) -> bytes:
        made.append(body)
        return body

    assert kept_answer(runtime, cache, key) is None  # nothing kept yet
    keep(runtime, cache, key, ("mark", 1), runtime.hub.generation, lambda: answer(b"one"))
    assert kept_answer(runtime, cache, key) == b"one"
    runtime.hub.publish([{"indicator": "x", "period": "2027-01-01"}])  # data moved
    assert kept_answer(runtime, cache, key) is None  # this reader checks the mark …
    assert kept_answer(runtime, cache, key) == b"one"  # … the others meanwhile get the kept one
    assert kept_answer(runtime, cache, key) == b"one"
    body = keep(runtime, cache, key, ("mark", 2), runtime.hub.generation,
                lambda: answer(b"two"))
    assert body == b"two"
    assert made == [b"one", b"two"]
    assert kept_answer(runtime, cache, key) == b"two"  # checked: kept again for everyone
    runtime.hub.publish([{"type": "tiles", "ids": [], "version": 1}])
    assert kept_answer(runtime, cache, key) == b"two"  # tiles moved no data


def test_a_check_that_failed_expires(kept_runtime: Runtime) -> None:
    runtime = kept_runtime
    cache, key = "test.kept.failed", ("k",)
    keep(runtime, cache, key, ("mark", 1), runtime.hub.generation, lambda: b"one")
    runtime.hub.publish([{"indicator": "x", "period": "2027-01-01"}])
    assert kept_answer(runtime, cache, key) is None  # its check dies before keep()
    assert kept_answer(runtime, cache, key) == b"one"
    checking = runtime.caches[f"{cache}.checking"]
    checking[key] -= CHECK_SECONDS + 0.1  # the failed check's time has passed
    assert kept_answer(runtime, cache, key) is None  # another reader checks now


def test_each_cache_keeps_at_most_answers_kept_answers(runtime: Runtime,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader walking many periods cannot grow a process's memory: past ``answers_kept``
    answers the oldest goes, and a period that is not one is refused before anything is kept."""
    monkeypatch.setattr(runtime, "settings", runtime.settings.model_copy(
        update={"rankings_recheck": 60.0, "answers_kept": 3}))
    for cache in ("scoring.rankings", "web.values"):
        runtime.caches.pop(cache, None)
    months = [f"2026-{m:02d}" for m in range(1, 7)]
    with TestClient(create_app(runtime.settings, runtime)) as api:
        for month in months:
            r = api.get("/api/v1/rankings/dvc-766", params={"kind": "commune", "period": month})
            assert r.status_code == 200, r.text
            r = api.get("/api/v1/indicators/tthc.on_time_rate/values",
                        params={"period": month})
            assert r.status_code == 200, r.text
        rankings = runtime.caches["scoring.rankings"]
        values = runtime.caches["web.values"]
        assert [k[2] for k in rankings] == months[-3:]  # the newest three, oldest gone first
        assert len(values) == 3
        for bad in ("2026-13", "9999-99-99", "x" * 300):
            assert api.get("/api/v1/rankings/dvc-766",
                           params={"kind": "commune", "period": bad}).status_code == 422
        assert [k[2] for k in runtime.caches["scoring.rankings"]] == months[-3:]
