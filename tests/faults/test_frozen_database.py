"""A frozen database (SIGSTOP of the test's own PostgreSQL) bounds every request's database time
and leaves the outcome of a timed-out rotation knowable (issue 13, items 4 and 5).

- Requests answer 503 + Retry-After within their budget (`AUTHSVC_DB_TOKEN_TIMEOUT` for /token,
  `AUTHSVC_DB_REQUEST_TIMEOUT` elsewhere), not after command_timeout + the pool timeout.
- A rotation frozen at its COMMIT and answered 503 is never committed when the database
  resumes (its commit deadline passed): the client's retry with the same token rotates it, and
  a second retry within the grace gets that same pair again. The family keeps one live token.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import pytest

from authsvc.main import create_app
from tests import flows, infra

pytestmark = pytest.mark.slow
BUDGET = 2.0
SLACK = 1.5  # event-loop scheduling, connection teardown


def assert_503(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers.get("retry-after", "").isdigit()
    assert response.json()["error"] == "temporarily_unavailable"


async def timed(request: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


async def test_a_frozen_database_costs_each_request_its_budget_not_more(
    make_settings, own_postgres, own_database, own_redis
) -> None:
    app = create_app(make_settings(database_url=own_database, redis_url=own_redis.url,
                                   db_token_timeout=BUDGET, db_request_timeout=BUDGET + 1))
    async with infra.running(app), infra.Api(app) as api:
        user = await flows.register(api)
        tokens = await flows.login(api, user)
        own_postgres.freeze()
        try:
            for request, budget in (
                (flows.refresh(api, tokens["refresh_token"]), BUDGET),
                (flows.password_grant(api, user["email"], user["password"]), BUDGET),
                (api.post("/users", json={"email": infra.unique_email(),
                                          "password": infra.STRONG_PASSWORD}), BUDGET + 1),
            ):
                response, took = await timed(request)
                assert_503(response)
                assert took < budget + SLACK, (took, response.request.url)
        finally:
            own_postgres.thaw()
        await own_postgres.wait_ready()
        again = await flows.refresh(api, tokens["refresh_token"])  # never spent
        assert again.status_code == 200, again.text


async def _refresh_rows(own_postgres: Any, database_url: str) -> list[Any]:
    conn = await asyncpg.connect(own_postgres.dsn(database_url.rsplit("/", 1)[1]))
    try:
        return list(await conn.fetch("SELECT jti, used_at, successor FROM refresh_tokens"))
    finally:
        await conn.close()


async def test_a_rotation_frozen_at_its_commit_is_never_committed_later(
    make_settings, own_postgres, own_database, own_redis, monkeypatch
) -> None:
    app = create_app(make_settings(database_url=own_database, redis_url=own_redis.url,
                                   db_token_timeout=BUDGET))
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        tokens = await flows.login(api, await flows.register(api))
        original = state.tokens.rotate

        async def rotate_then_freeze(*args: Any, **kwargs: Any) -> dict[str, Any]:
            body = await original(*args, **kwargs)  # spent, successor inserted: COMMIT next
            own_postgres.freeze()
            return body

        monkeypatch.setattr(state.tokens, "rotate", rotate_then_freeze)
        try:
            response, took = await timed(flows.refresh(api, tokens["refresh_token"]))
            assert_503(response)
            assert "access_token" not in response.text
            assert took < BUDGET + SLACK, took
            await asyncio.sleep(BUDGET)  # well past the rotation's commit deadline
        finally:
            own_postgres.thaw()
        monkeypatch.setattr(state.tokens, "rotate", original)
        await own_postgres.wait_ready()
        await asyncio.sleep(0.5)  # the resumed backend reads the COMMIT and refuses it
        rows = await _refresh_rows(own_postgres, own_database)
        assert [r["used_at"] for r in rows] == [None]  # only the original, unspent

        retry = await flows.refresh(api, tokens["refresh_token"])  # the client retries
        assert retry.status_code == 200, retry.text
        second = await flows.refresh(api, tokens["refresh_token"])  # and again (lost answer)
        assert second.status_code == 200 and second.json() == retry.json()
        rows = await _refresh_rows(own_postgres, own_database)
        assert len(rows) == 2 and sum(r["used_at"] is None for r in rows) == 1
        assert (await flows.refresh(api, retry.json()["refresh_token"])).status_code == 200
