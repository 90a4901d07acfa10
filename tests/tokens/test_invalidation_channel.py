"""Redis pub/sub ignores the logical database: the invalidation channel carries it, so
deployments (or test runs) on other databases of one Redis server are never heard."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from authsvc.kv import Keys, invalidation_channel
from authsvc.state import AppState
from tests import infra


def test_the_channel_names_the_database() -> None:
    one = aioredis.Redis.from_url(f"{infra.REDIS_BASE}/1")
    two = aioredis.Redis.from_url(f"{infra.REDIS_BASE}/2")
    assert invalidation_channel(one) != invalidation_channel(two)
    assert invalidation_channel(one).startswith(Keys.invalidations)


async def test_marks_published_for_another_database_are_not_learned(state: AppState) -> None:
    index = int(state.redis.connection_pool.connection_kwargs["db"])
    other = aioredis.Redis.from_url(f"{infra.REDIS_BASE}/{0 if index else 1}")
    try:
        before = state.revocations.known
        # Another deployment's revocation, far ahead of ours, on its own database's channel.
        await other.publish(invalidation_channel(other), f"jti:other@{before + 10**9}")
        own = f"jti:ours@{before + 1}"
        await state.redis.publish(invalidation_channel(state.redis), own)
        for _ in range(100):
            if state.revocations.known == before + 1:
                break
            await asyncio.sleep(0.02)
        assert state.revocations.known == before + 1  # ours heard, the other's not
    finally:
        await other.aclose()
