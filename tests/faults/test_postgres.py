"""PostgreSQL stopped, restarted and crashed for real (a server of the test's own).

- where the database is needed (login, refresh, registration) the answer is 503 + Retry-After;
- introspecting an active access token runs no SQL (client, user and revocations come from
  Redis), so it keeps working while the database is down;
- the pool recovers by itself after a restart (pool_pre_ping);
- a refresh either rotates completely or leaves the old token usable: never half-issued tokens.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event

from authsvc.main import create_app
from tests import flows, infra
from tests.faults.conftest import new_client

pytestmark = pytest.mark.slow


def assert_503(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers.get("retry-after", "").isdigit()
    assert set(response.json()) == {"error", "error_description"}
    assert response.json()["error"] == "temporarily_unavailable"


class SqlCounter:
    def __init__(self, engine: Any) -> None:
        self.statements: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)


async def test_database_down_503_introspection_from_redis_and_recovery(
    make_settings, own_postgres, own_database, own_redis
) -> None:
    app = create_app(make_settings(database_url=own_database, redis_url=own_redis.url,
                                   db_pool_timeout=2))
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        client = await new_client(state)
        user = await flows.register(api)
        tokens = await flows.login(api, user)
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"] is True

        # The hot path: an active access token is introspected without one SQL statement.
        counter = SqlCounter(state.engine)
        for _ in range(3):
            assert (await flows.introspect(api, client, tokens["access_token"]))["active"]
        assert counter.statements == []

        await asyncio.to_thread(own_postgres.stop, "fast")
        assert_503(await flows.password_grant(api, user["email"], user["password"]))
        assert_503(await flows.refresh(api, tokens["refresh_token"]))
        assert_503(await api.post("/users", json={"email": infra.unique_email(),
                                                  "password": infra.STRONG_PASSWORD}))
        ready = await api.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable"
        # Still answered from Redis alone while the database is down.
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"] is True

        await asyncio.to_thread(own_postgres.start)  # no restart of the app
        assert (await api.get("/health/ready")).status_code == 200
        rotated = await flows.refresh(api, tokens["refresh_token"])  # the old one was not spent
        assert rotated.status_code == 200, rotated.text
        assert (await flows.login(api, user))["access_token"]
        await flows.register(api)


async def test_a_restart_between_requests_costs_no_error(
    make_settings, own_postgres, own_database, own_redis
) -> None:
    app = create_app(make_settings(database_url=own_database, redis_url=own_redis.url,
                                   db_pool_size=3))
    async with infra.running(app), infra.Api(app) as api:
        user = await flows.register(api)
        tokens = await flows.login(api, user)
        for mode in ("fast", "immediate"):  # a clean restart, then a crash and recovery
            await asyncio.to_thread(own_postgres.stop, mode)
            await asyncio.to_thread(own_postgres.start)
            # Every pooled connection is dead; pre-ping replaces them without a single 5xx.
            results = await asyncio.gather(*(flows.refresh(api, t) for t in [
                tokens["refresh_token"]]), *(api.get("/health/ready") for _ in range(3)))
            assert [r.status_code for r in results] == [200, 200, 200, 200], \
                [r.text for r in results]
            tokens = results[0].json()


async def _terminate_app_backends(dsn: str, database: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return len(await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()", database))
    finally:
        await conn.close()


@pytest.mark.parametrize("fault", ["terminate_backend", "server_crash_before_commit"])
async def test_a_refresh_interrupted_by_the_database_leaves_the_old_token_usable(
    fault, make_settings, own_postgres, own_database, own_redis, monkeypatch
) -> None:
    database = own_database.rsplit("/", 1)[1]
    app = create_app(make_settings(database_url=own_database, redis_url=own_redis.url,
                                   db_pool_timeout=2))
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        client = await new_client(state)
        user = await flows.register(api)
        tokens = await flows.login(api, user)
        original = state.tokens.rotate
        calls = 0

        async def interrupted_rotate(*args: Any, **kwargs: Any) -> dict[str, Any]:
            """The refresh token is spent and its successor inserted (both statements ran on
            the server); then, before the commit, the database goes away."""
            nonlocal calls
            calls += 1
            body = await original(*args, **kwargs)
            if fault == "terminate_backend":
                assert await _terminate_app_backends(own_postgres.dsn(), database) >= 1
            else:
                await asyncio.to_thread(own_postgres.stop, "immediate")
            return body

        monkeypatch.setattr(state.tokens, "rotate", interrupted_rotate)
        failed = await flows.refresh(api, tokens["refresh_token"])
        assert calls == 1
        assert_503(failed)
        assert "access_token" not in failed.text
        monkeypatch.setattr(state.tokens, "rotate", original)
        if not own_postgres.running:
            await asyncio.to_thread(own_postgres.start)

        # Nothing of the interrupted rotation was committed: the old token rotates, once.
        rotated = await flows.refresh(api, tokens["refresh_token"])
        assert rotated.status_code == 200, rotated.text
        assert (await flows.introspect(api, client, rotated.json()["refresh_token"]))["active"]
        assert (await flows.introspect(api, client, tokens["refresh_token"]))["active"] is False
        conn = await asyncpg.connect(own_postgres.dsn(database))
        try:
            rows = await conn.fetch("SELECT used_at FROM refresh_tokens")
        finally:
            await conn.close()
        assert len(rows) == 2 and sum(r["used_at"] is None for r in rows) == 1
        flows.past_reuse_grace(state, monkeypatch)  # (within it: the same pair again)
        again = await flows.refresh(api, tokens["refresh_token"])
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
