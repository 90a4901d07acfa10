"""Retry-safe rotation (issue 13, item 5; CONTRACT.md /token, AUTHSVC_REFRESH_REUSE_GRACE).

Within the grace the same client presenting the just-spent token again gets the very same
successor pair; a reuse later, from another client, or after the family rotated on still revokes
the whole family (RFC 9700 §4.14); a family never has more than one live refresh token; the
successor is kept encrypted, never in plain text.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from authsvc.main import create_app
from tests import flows, infra
from tests.faults.conftest import new_client

pytestmark = pytest.mark.slow


async def _rows(own_postgres: Any, database_url: str) -> list[Any]:
    conn = await asyncpg.connect(own_postgres.dsn(database_url.rsplit("/", 1)[1]))
    try:
        return list(await conn.fetch(
            "SELECT t.jti, t.used_at, t.successor, t.spent_binding, f.revoked_at "
            "FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id"))
    finally:
        await conn.close()


async def _dead(api: infra.Api, client: tuple[str, str], pair: dict[str, Any]) -> bool:
    refreshed = await flows.refresh(api, pair["refresh_token"])
    active = (await flows.introspect(api, client, pair["access_token"]))["active"]
    return refreshed.status_code == 400 and active is False


async def test_two_refreshes_at_once_get_one_pair_and_one_live_token(
    make_settings, own_postgres, own_database, own_redis
) -> None:
    app = create_app(make_settings(database_url=own_database, redis_url=own_redis.url))
    async with infra.running(app), infra.Api(app) as api:
        client = await new_client(app.state.authsvc)
        tokens = await flows.login(api, await flows.register(api))
        first, second = await asyncio.gather(flows.refresh(api, tokens["refresh_token"]),
                                             flows.refresh(api, tokens["refresh_token"]))
        assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
        assert first.json() == second.json()
        rows = await _rows(own_postgres, own_database)
        assert len(rows) == 2 and [r["revoked_at"] for r in rows] == [None, None]
        assert sum(r["used_at"] is None for r in rows) == 1  # one live refresh token
        pair = first.json()
        assert (await flows.introspect(api, client, pair["access_token"]))["active"]
        # The stored answer is sealed: neither token is readable in the database.
        spent = next(r for r in rows if r["used_at"] is not None)
        assert spent["successor"] and pair["refresh_token"] not in spent["successor"]
        assert pair["access_token"] not in spent["successor"]
        assert (await flows.refresh(api, pair["refresh_token"])).status_code == 200


async def test_a_reuse_from_another_client_within_the_grace_revokes_the_family(
    make_settings, own_redis
) -> None:
    app = create_app(make_settings(redis_url=own_redis.url))
    async with infra.running(app), infra.Api(app) as api, infra.Api(app) as thief:
        client = await new_client(app.state.authsvc)
        tokens = await flows.login(api, await flows.register(api))
        rotated = await flows.refresh(api, tokens["refresh_token"])
        assert rotated.status_code == 200
        assert thief.ip != api.ip  # the same User-Agent (it passes the binding), another address
        replay = await flows.refresh(thief, tokens["refresh_token"])
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        assert await _dead(api, client, rotated.json())


async def test_a_reuse_after_the_grace_revokes_the_family(make_settings, own_redis) -> None:
    app = create_app(make_settings(redis_url=own_redis.url, refresh_reuse_grace=1))
    async with infra.running(app), infra.Api(app) as api:
        client = await new_client(app.state.authsvc)
        tokens = await flows.login(api, await flows.register(api))
        rotated = await flows.refresh(api, tokens["refresh_token"])
        assert (await flows.refresh(api, tokens["refresh_token"])).json() == rotated.json()
        await asyncio.sleep(1.5)
        replay = await flows.refresh(api, tokens["refresh_token"])
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        assert await _dead(api, client, rotated.json())


async def test_a_token_two_rotations_back_is_no_retry(make_settings, own_redis) -> None:
    app = create_app(make_settings(redis_url=own_redis.url))
    async with infra.running(app), infra.Api(app) as api:
        client = await new_client(app.state.authsvc)
        tokens = await flows.login(api, await flows.register(api))
        second = (await flows.refresh(api, tokens["refresh_token"])).json()
        third = (await flows.refresh(api, second["refresh_token"])).json()
        replay = await flows.refresh(api, tokens["refresh_token"])  # not the just-spent one
        assert replay.status_code == 400
        assert await _dead(api, client, third)


async def test_grace_off_is_the_strict_rule(make_settings, own_redis) -> None:
    app = create_app(make_settings(redis_url=own_redis.url, refresh_reuse_grace=0))
    async with infra.running(app), infra.Api(app) as api:
        client = await new_client(app.state.authsvc)
        tokens = await flows.login(api, await flows.register(api))
        rotated = (await flows.refresh(api, tokens["refresh_token"])).json()
        assert (await flows.refresh(api, tokens["refresh_token"])).status_code == 400
        assert await _dead(api, client, rotated)
