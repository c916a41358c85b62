"""Sign-in lock-out and rate limit (SQLite and PostgreSQL): parallel guesses each count and at
most MAX_FAILURES are ever checked; unknown names get the same answers in similar time; a lock
is per (name, client address) and time-boxed, and failures on one name from every address
together lock it for all of them; a flood from one address is refused before any
argon2 work."""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from chiso.access import accounts
from chiso.access.settings import AccessSettings
from chiso.context import Runtime
from chiso.runtime import create_app
from chiso.store.tables import access_signin_failures, audit_log

PASSWORD = "correct horse battery"
ATTACKER, OPERATOR_DESK = "203.0.113.7", "10.1.2.3"


def test_parallel_guesses_each_count_and_at_most_five_are_checked(
    fresh_engine: Engine, make_user: Callable[..., tuple[str, str]]
) -> None:
    name, _ = make_user("operator", password=PASSWORD)
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda i: accounts.sign_in(
            fresh_engine, name, f"wrong guess {i:04d}", ATTACKER)[1], range(12)))
    tally = Counter(results)
    assert tally["failed"] + tally["failed, locked"] == accounts.MAX_FAILURES
    assert tally["failed, locked"] == 1
    assert tally["locked"] == 12 - accounts.MAX_FAILURES
    # locked for this client, even with the right password ...
    assert accounts.sign_in(fresh_engine, name, PASSWORD, ATTACKER)[1] == "locked"
    # ... but not for the operator at another address
    who, result, token = accounts.sign_in(fresh_engine, name, PASSWORD, OPERATOR_DESK)
    assert result == "ok"
    assert who is not None
    assert token



def test_guesses_spread_over_many_addresses_lock_the_name_for_every_address(
    fresh_engine: Engine, make_user: Callable[..., tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each address stays under its own lock's count; the name's count over every address
    locks it for all of them, the right password too, until an operator lifts it."""
    monkeypatch.setattr(accounts, "NAME_BUDGET", 12)  # the rule, at a size a test can pay
    name, _ = make_user("operator", password=PASSWORD)
    results = [accounts.sign_in(fresh_engine, name, f"guess {i}", f"198.51.100.{i // 3}")[1]
               for i in range(12)]
    assert results == ["failed"] * 11 + ["failed, locked"]
    assert accounts.sign_in(fresh_engine, name, PASSWORD, OPERATOR_DESK)[1] == "locked"
    with fresh_engine.connect() as conn:
        assert [lock["client"] for lock in accounts.locks_of(conn, name)] == [
            accounts.EVERY_CLIENT]
    with fresh_engine.begin() as conn:  # the operator resets the password
        accounts.reset_password(conn, name, PASSWORD + " again")
    assert accounts.sign_in(fresh_engine, name, PASSWORD + " again", OPERATOR_DESK)[1] == "ok"


def test_successful_sign_ins_do_not_count_against_the_name(
    fresh_engine: Engine, make_user: Callable[..., tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(accounts, "NAME_BUDGET", 4)
    name, _ = make_user("viewer", password=PASSWORD)
    for i in range(6):
        assert accounts.sign_in(fresh_engine, name, PASSWORD, f"10.9.0.{i}")[1] == "ok"
    for i in range(3):  # failures below the budget, then the owner again
        assert accounts.sign_in(fresh_engine, name, "wrong", f"10.8.0.{i}")[1] == "failed"
    assert accounts.sign_in(fresh_engine, name, PASSWORD, OPERATOR_DESK)[1] == "ok"


def test_a_lock_is_time_boxed(fresh_engine: Engine,
                              make_user: Callable[..., tuple[str, str]]) -> None:
    name, _ = make_user("viewer", password=PASSWORD)
    for i in range(accounts.MAX_FAILURES):
        accounts.sign_in(fresh_engine, name, f"wrong {i}", ATTACKER)
    assert accounts.sign_in(fresh_engine, name, PASSWORD, ATTACKER)[1] == "locked"
    with fresh_engine.connect() as conn:
        until = conn.execute(select(access_signin_failures.c.locked_until).where(
            access_signin_failures.c.name == name,
            access_signin_failures.c.client == ATTACKER)).scalar_one()
    until = until.replace(tzinfo=until.tzinfo or UTC)
    assert timedelta(0) < until - accounts._now() <= accounts.LOCK_FOR
    with fresh_engine.begin() as conn:  # the lock's time runs out
        conn.execute(update(access_signin_failures).values(
            locked_until=accounts._now() - timedelta(seconds=1)))
    assert accounts.sign_in(fresh_engine, name, PASSWORD, ATTACKER)[1] == "ok"


def test_a_stale_count_is_forgotten(fresh_engine: Engine,
                                    make_user: Callable[..., tuple[str, str]]) -> None:
    """Failures with no attempt for LOCK_FOR start again, so a count left over can never
    lock anyone out for good."""
    name, _ = make_user("viewer", password=PASSWORD)
    with fresh_engine.begin() as conn:
        conn.execute(access_signin_failures.insert().values(
            name=name, client=ATTACKER, failures=99, locked_until=None,
            updated_at=accounts._now() - accounts.LOCK_FOR - timedelta(seconds=1)))
    assert accounts.sign_in(fresh_engine, name, PASSWORD, ATTACKER)[1] == "ok"


def _answer(client: TestClient, name: str, password: str) -> tuple[int, str]:
    page = client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    done = client.post("/signin", data={"name": name, "password": password, "csrf": csrf.group(1)},
                       follow_redirects=False)
    message = re.search(r'<p role="alert"[^>]*>(.*?)</p>', done.text, re.S)
    return done.status_code, message.group(1).strip() if message else done.text


def test_unknown_names_get_the_same_answers_as_known_ones(
    app_client: TestClient, make_user: Callable[..., tuple[str, str]]
) -> None:
    name, _ = make_user("operator", password=PASSWORD)
    known = [_answer(app_client, name, f"wrong {i}") for i in range(accounts.MAX_FAILURES + 1)]
    unknown = [_answer(app_client, "khong-co-ai", f"wrong {i}")
               for i in range(accounts.MAX_FAILURES + 1)]
    assert known == unknown  # wrong, wrong, … then locked: the same for both
    assert known[0][0] == 401
    assert known[0][1] != known[-1][1]


def test_unknown_names_cost_similar_time(fresh_engine: Engine,
                                         make_user: Callable[..., tuple[str, str]]) -> None:
    name, _ = make_user("viewer", password=PASSWORD)

    def timed(who: str, client: str) -> float:
        start = time.perf_counter()
        accounts.sign_in(fresh_engine, who, "wrong password", client)
        return time.perf_counter() - start

    # a fresh client for each try, so that no lock cuts the work short
    known = statistics.median(timed(name, f"10.0.0.{i}") for i in range(7))
    unknown = statistics.median(timed("khong-co-ai", f"10.0.1.{i}") for i in range(7))
    assert 0.5 < unknown / known < 2.0


@pytest.fixture
def tight_client(own_runtime: Runtime, access_settings: AccessSettings
                 ) -> Iterator[TestClient]:
    settings = access_settings.model_copy(update={"signin_rate": "3/minute"})
    with TestClient(create_app(own_runtime.settings, own_runtime, settings),
                    base_url="https://testserver") as client:
        yield client


def test_a_flood_from_one_address_is_refused_before_any_password_work(
    tight_client: TestClient, fresh_engine: Engine
) -> None:
    answers = [_answer(tight_client, f"name-{i}", "wrong password") for i in range(5)]
    assert [status for status, _ in answers] == [401, 401, 401, 429, 429]
    assert "3" in answers[3][1]
    with fresh_engine.connect() as conn:
        checked = conn.execute(select(func.count()).select_from(audit_log).where(
            audit_log.c.action == "sign-in password")).scalar_one()
    assert checked == 3  # the refused attempts never reached the password check
    page = tight_client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    refused = tight_client.post("/signin", data={"name": "x", "password": "y",
                                                 "csrf": csrf.group(1)})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
