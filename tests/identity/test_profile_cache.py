"""GET /users/me answers from the cache of the user's current version: no SQL (nor Redis, when
the token was found live moments ago) for a cached user, and never for a disabled one. That it
follows every change to the user's factors: tests/mfa/test_profile_follows_changes.py."""

from __future__ import annotations

from typing import Any

from authsvc.db import transaction
from authsvc.deps import get_identity
from tests import flows
from tests.counting import counting_redis_writes, counting_sql
from tests.infra import Api
from tests.mfa.helpers import bearer


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


async def test_a_disabled_user_gets_401_although_the_profile_is_cached(
    api: Api, state: Any
) -> None:
    user = await flows.register(api)
    access = (await flows.login(api, user))["access_token"]
    assert (await api.get("/users/me", headers=bearer(access))).status_code == 200
    async for session in transaction(state.sessions):  # as the admin API disables a user
        identity = get_identity(state, session)
        row = await identity.get(user["id"])
        assert row is not None
        row.is_active = False
        await identity.changed(row)
    assert (await api.get("/users/me", headers=bearer(access))).status_code == 401
