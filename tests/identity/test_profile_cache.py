"""GET /users/me answers from the cache of the user's current version: no SQL for a cached user,
and never an answer older than the last change that affects it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from authsvc.db import transaction
from authsvc.identity.service import IdentityService
from tests import flows
from tests.counting import counting_redis_writes, counting_sql
from tests.infra import Api
from tests.mfa.helpers import (
    World,
    bearer,
    code_at,
    enrol_totp,
    mfa_grant,
    mfa_token_for,
    open_world,
)
from tests.smtp_server import SmtpSink


@pytest_asyncio.fixture
async def world(make_settings: Any, smtp_sink: SmtpSink) -> AsyncIterator[World]:
    async with open_world(make_settings, smtp_sink) as opened:
        yield opened


async def test_a_cached_user_runs_no_sql(api: Api, state: Any) -> None:
    user = await flows.register(api)
    access = (await flows.login(api, user))["access_token"]
    first = await api.get("/users/me", headers=bearer(access))
    assert first.status_code == 200, first.text
    with counting_sql(state) as sql:
        again = await api.get("/users/me", headers=bearer(access))
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["cache-control"] == "no-store"
    assert sql == []
    assert state.introspector.near.live  # the token was found live moments ago: no I/O at all
    with counting_redis_writes() as writes:
        assert (await api.get("/users/me", headers=bearer(access))).status_code == 200
    assert writes == []


async def test_the_profile_follows_every_change_at_once(world: World) -> None:
    api = world.api
    user = await flows.register(api)
    secret, codes, _pre_mfa = await enrol_totp(world, user)

    async def mfa() -> dict[str, Any]:
        me = await api.get("/users/me", headers=bearer(access))
        assert me.status_code == 200, me.text
        return me.json()["mfa"]  # type: ignore[no-any-return]

    done = await mfa_grant(api, await mfa_token_for(api, user), "totp",
                           code_at(secret, world.clock.t))
    access = done.json()["access_token"]
    assert await mfa() == {"totp": True, "email": False, "recovery_codes_left": 10,
                           "passkeys": 0}
    assert await mfa() == {"totp": True, "email": False, "recovery_codes_left": 10,
                           "passkeys": 0}  # the cached answer

    used = await mfa_grant(api, await mfa_token_for(api, user), "recovery_code", codes[0])
    assert used.status_code == 200, used.text
    assert (await mfa())["recovery_codes_left"] == 9  # a code used

    fresh = await api.post("/mfa/recovery-codes", headers=bearer(access))
    assert fresh.status_code == 200, fresh.text
    assert (await mfa())["recovery_codes_left"] == 10  # a new set

    off = await api.delete("/mfa/totp", headers=bearer(access))
    assert off.status_code == 204, off.text
    assert await mfa() == {"totp": False, "email": False, "recovery_codes_left": 0,
                           "passkeys": 0}  # MFA off: the codes went with it


async def test_a_disabled_user_gets_401_although_the_profile_is_cached(
    api: Api, state: Any
) -> None:
    user = await flows.register(api)
    access = (await flows.login(api, user))["access_token"]
    assert (await api.get("/users/me", headers=bearer(access))).status_code == 200
    async for session in transaction(state.sessions):  # as the admin API disables a user
        identity = IdentityService.of(state, session)
        row = await identity.get(user["id"])
        assert row is not None
        row.is_active = False
        await identity.changed(row)
    assert (await api.get("/users/me", headers=bearer(access))).status_code == 401
