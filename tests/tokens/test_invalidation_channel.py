"""Redis pub/sub ignores the logical database: the invalidation channel carries it, so
deployments (or test runs) on other databases of one Redis server are never heard."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from authsvc.composition import Components
from authsvc.kv import Keys, invalidation_channel
from tests import infra


def test_the_channel_names_the_database() -> None:
    one = aioredis.Redis.from_url(f"{infra.REDIS_BASE}/1")
    two = aioredis.Redis.from_url(f"{infra.REDIS_BASE}/2")
    assert invalidation_channel(one) != invalidation_channel(two)
    assert invalidation_channel(one).startswith(Keys.invalidations)


async def test_marks_published_for_another_database_are_not_learned(state: Components) -> None:
    index = int(state.redis.connection_pool.connection_kwargs["db"])
    other = aioredis.Redis.from_url(f"{infra.REDIS_BASE}/{0 if index else 1}")
    near = state.introspector.near
    heard: list[str] = []
    near.listeners.append(heard.append)
    try:
        before = state.revocations.known
        # Another deployment's revocation, far ahead of ours, on its own database's channel;
        # then a probe of ours (no mark) to know the listener has read past it.
        await other.publish(invalidation_channel(other), f"jti:other@{before + 10**9}")
        await state.redis.publish(invalidation_channel(state.redis), "probe:ours")
        for _ in range(100):
            if "probe:ours" in heard:
                break
            await asyncio.sleep(0.02)
        assert "probe:ours" in heard
        assert not [m for m in heard if m.startswith("jti:other")]
        assert state.revocations.known == before
    finally:
        near.listeners.remove(heard.append)
        await other.aclose()
