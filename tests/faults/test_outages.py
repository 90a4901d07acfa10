"""Every kind of outage is answered 503 + Retry-After, never 500 (issue 13, item 3).

Each class is produced for real: a PostgreSQL that is starting up or shutting down (SQLSTATE
57P03 and 57P01, as a real server says them on the wire), one that refuses or resets
connections, one that is stopped while a request runs, a Redis that is down, and a revocation
list lost again right after its reload.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from authsvc.errors import is_store_outage
from authsvc.main import create_app
from tests import flows, infra
from tests.faults.conftest import new_client
from tests.faults.servers import RefusingPostgres, free_port

pytestmark = pytest.mark.slow


def assert_503(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers.get("retry-after", "").isdigit()
    body = response.json()
    assert body["error"] == "temporarily_unavailable" and body["error_description"]


async def _database_endpoints(api: infra.Api) -> list[Any]:
    email = infra.unique_email()
    return [
        await api.post("/users", json={"email": email, "password": infra.STRONG_PASSWORD}),
        await flows.password_grant(api, email, infra.STRONG_PASSWORD),
        await api.post("/password/forgot", json={"email": email}),
    ]


@pytest.mark.parametrize("kind", [
    ("57P03", "the database system is not yet accepting connections"),
    ("57P03", "the database system is starting up"),
    ("57P01", "terminating connection due to administrator command"),
    ("57P02", "terminating connection because of crash of another server process"),
    ("53300", "sorry, too many clients already"),
    "reset",
    "refused",
])
async def test_a_database_that_cannot_take_connections_is_503(
    kind: Any, make_settings, own_redis
) -> None:
    server = None
    if kind == "refused":
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/authsvc"
    else:
        server = (RefusingPostgres(reset=True) if kind == "reset"
                  else RefusingPostgres(*kind))
        url = server.url()
    try:
        app = create_app(make_settings(database_url=url, redis_url=own_redis.url,
                                       db_pool_timeout=2))
        async with infra.running(app), infra.Api(app) as api:
            for response in await _database_endpoints(api):
                assert_503(response)
            ready = await api.get("/health/ready")
            assert ready.status_code == 503
    finally:
        if server is not None:
            server.close()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_a_database_shutting_down_under_a_running_request_is_503(
    mode, make_settings, own_postgres, own_database, own_redis
) -> None:
    """`pg_ctl stop` while a request waits on a lock: the backend answers 57P01 (fast) or the
    connection drops (immediate)."""
    app = create_app(make_settings(database_url=own_database, redis_url=own_redis.url,
                                   db_pool_timeout=2))
    database = own_database.rsplit("/", 1)[1]
    async with infra.running(app), infra.Api(app) as api:
        blocker = await asyncpg.connect(own_postgres.dsn(database))
        await blocker.execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        pending = asyncio.ensure_future(api.post("/users", json={
            "email": infra.unique_email(), "password": infra.STRONG_PASSWORD}))
        await asyncio.sleep(1.0)  # the INSERT waits for the lock
        assert not pending.done()
        await asyncio.to_thread(own_postgres.stop, mode)
        assert_503(await pending)
        blocker.terminate()
        await asyncio.to_thread(own_postgres.start)


async def test_redis_down_is_503(make_settings, own_redis) -> None:
    app = create_app(make_settings(redis_url=own_redis.url, redis_timeout=0.5))
    async with infra.running(app), infra.Api(app) as api:
        client = await new_client(app.state.authsvc)
        tokens = await flows.login(api, await flows.register(api))
        own_redis.stop()
        try:
            assert_503(await api.post("/introspect", data={"token": tokens["access_token"]},
                                      headers=flows.basic(*client)))
            assert_503(await flows.refresh(api, tokens["refresh_token"]))
        finally:
            own_redis.start()


async def test_a_revocation_list_lost_again_after_its_reload_is_answered_by_the_database(
    make_settings, own_redis, monkeypatch
) -> None:
    """A second loss in a row (Redis flushed again right after each reload) was a RuntimeError
    and a 500, then a 503; the database answers instead: never `active: true` for a revoked
    token, the right answer for a live one."""
    app = create_app(make_settings(redis_url=own_redis.url, introspection_cache_ttl=0))
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        client = await new_client(state)
        tokens = await flows.login(api, await flows.register(api))
        gone = await flows.login(api, await flows.register(api))
        revoked = await api.post("/revoke", data={"token": gone["access_token"]},
                                 headers=flows.basic(*client))
        assert revoked.status_code == 200
        reload = state.revocations.ensure_loaded
        reloads = 0

        async def reload_then_lose_it_again() -> None:
            nonlocal reloads
            reloads += 1
            await reload()
            await state.redis.flushdb()

        monkeypatch.setattr(state.revocations, "ensure_loaded", reload_then_lose_it_again)
        await state.redis.flushdb()
        for _ in range(3):
            answer = await api.post("/introspect", data={"token": gone["access_token"]},
                                    headers=flows.basic(*client))
            assert answer.status_code == 200 and answer.json() == {"active": False}
            answer = await api.post("/introspect", data={"token": tokens["access_token"]},
                                    headers=flows.basic(*client))
            assert answer.status_code == 200 and answer.json()["active"] is True
            assert (await api.get("/users/me", headers={
                "Authorization": f"Bearer {gone['access_token']}"})).status_code == 401
            assert (await api.get("/users/me", headers={
                "Authorization": f"Bearer {tokens['access_token']}"})).status_code == 200
            await asyncio.sleep(0.05)
        assert reloads >= 1  # each loss started a rebuild in the background


async def test_the_classification_is_one_function_over_real_errors(own_redis) -> None:
    """The errors the drivers raise, as they raise them, are outages; a bug is not."""
    import redis.asyncio as aioredis
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    caught: list[BaseException] = []
    for server in (RefusingPostgres(), RefusingPostgres("57P01", "terminating connection"),
                   RefusingPostgres(reset=True)):
        engine = create_async_engine(server.url(), connect_args={"timeout": 2})
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001
            caught.append(exc)
        finally:
            await engine.dispose()
            server.close()
    try:
        await asyncpg.connect(f"postgresql://x@127.0.0.1:{free_port()}/x", timeout=2)
    except Exception as exc:  # noqa: BLE001
        caught.append(exc)
    dead = aioredis.Redis(port=free_port(), socket_connect_timeout=0.5)
    try:
        await dead.ping()
    except Exception as exc:  # noqa: BLE001
        caught.append(exc)
    finally:
        await dead.aclose()
    assert len(caught) == 5
    assert all(is_store_outage(exc) for exc in caught), [repr(e) for e in caught]
    assert not is_store_outage(ValueError("a bug"))
    assert not is_store_outage(KeyError("sqlstate"))
