"""The worker's memory of tokens found live: never an answer that a revocation or a user
change has overtaken, in this process or another, and off whenever its subscription is."""

from __future__ import annotations

import asyncio

from authsvc.composition import Components
from authsvc.main import create_app
from tests import flows, infra


async def test_revocation_in_this_process_is_seen_at_once(
    api: infra.Api, state: Components, service_client
) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    for _ in range(2):  # the second answer comes from memory
        assert (await flows.introspect(api, service_client, tokens["access_token"]))["active"]
    await api.post("/revoke", data={"token": tokens["access_token"]},
                   headers=flows.basic(*service_client))
    assert await flows.introspect(api, service_client, tokens["access_token"]) == {
        "active": False}


async def test_a_change_made_by_another_process_reaches_this_one(
    make_settings, api: infra.Api, state: Components, service_client
) -> None:
    """Another app on the same Redis stands in for another worker or replica."""
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    for _ in range(2):
        assert (await flows.introspect(api, service_client, tokens["access_token"]))["active"]
    other = create_app(make_settings())
    async with infra.running(other), infra.Api(other) as elsewhere:
        response = await elsewhere.post("/revoke", data={"token": tokens["access_token"]},
                                        headers=flows.basic(*service_client))
        assert response.status_code == 200
    for _ in range(100):  # the message crosses Redis; nothing else may answer meanwhile
        if not state.introspector.near._entries:
            break
        await asyncio.sleep(0.01)
    assert await flows.introspect(api, service_client, tokens["access_token"]) == {
        "active": False}


async def test_a_fill_overtaken_by_an_invalidation_is_not_kept(state: Components) -> None:
    near = state.introspector.near
    generation = near.generation
    await near.changed("user:someone")  # arrives while a check was reading Redis
    near.put("jti-x", None, generation)
    assert near.get("jti-x") is not None and "jti-x" not in near._entries


async def test_entries_expire_after_the_ttl(state: Components) -> None:
    near = state.introspector.near
    near.put("jti-y", None, near.generation)
    assert "jti-y" in near._entries
    now = near.clock()
    near.clock = lambda: now + near.ttl + 0.01
    try:
        from authsvc.tokens.nearcache import MISSING

        assert near.get("jti-y") is MISSING
    finally:
        near.clock = __import__("time").monotonic


async def test_entries_filled_together_do_not_expire_together(state: Components) -> None:
    """No herd: a refill of many tokens at one instant spreads their expiry, never past the
    ttl."""
    from authsvc.tokens.nearcache import JITTER

    near = state.introspector.near
    now = 1000.0
    near.clock = lambda: now
    try:
        for i in range(200):
            near.put(f"jti-{i}", None, near.generation)
        expiries = [near._entries[f"jti-{i}"][0] for i in range(200)]
    finally:
        near.clock = __import__("time").monotonic
        near.forget_all()
    assert len(set(expiries)) > 100
    assert all(now + near.ttl * (1 - JITTER) <= e <= now + near.ttl for e in expiries)
    assert max(expiries) - min(expiries) > near.ttl * JITTER / 2


async def test_no_memory_without_a_live_subscription(make_settings) -> None:
    server = infra.RedisServer()
    server.start()
    try:
        app = create_app(make_settings(redis_url=server.url, redis_timeout=0.5))
        async with infra.running(app), infra.Api(app) as api:
            state = app.state.authsvc
            for _ in range(100):
                if state.introspector.near.live:
                    break
                await asyncio.sleep(0.01)
            assert state.introspector.near.live
            client = await flows.new_client(state)
            user = await flows.register(api)
            tokens = await flows.login(api, user)
            for _ in range(2):
                assert (await flows.introspect(api, client, tokens["access_token"]))["active"]
            server.stop()  # blocks this loop; a serving loop sees the closed socket at once
            await asyncio.sleep(0.05)
            answer = await api.post("/introspect", data={"token": tokens["access_token"]},
                                    headers=flows.basic(*client))
            assert answer.status_code == 503  # not an answer from memory
    finally:
        server.stop()
