"""The browser-session store's tests (WATCH/MULTI/EXEC over a session, its successor and the user's
index) on the cluster: a RedisCluster client replaces the store tests' standalone one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio.cluster import RedisCluster

from tests.cluster.servers import RedisClusterServers

# The session tests' own fixtures (their clock, not the app's), and the tests themselves.
from tests.sessions.conftest import clock, encryptor, prefix, store  # noqa: F401
from tests.sessions.test_store import (  # noqa: F401
    test_an_old_id_stays_dead_after_repeated_rotation,
    test_concurrent_loads_and_saves_do_not_fail,
    test_concurrent_rotations_leave_exactly_one_live_id,
    test_create_then_load_returns_the_payload,
    test_destroy_by_handle_only_for_the_owner,
    test_destroy_ends_the_session,
    test_destroy_for_user_keeps_only_the_exception,
    test_list_for_user_drops_timed_out_sessions,
    test_list_for_user_shows_handles_not_ids,
    test_load_touches_last_seen_and_the_redis_ttl,
    test_rotate_gives_a_new_id_and_kills_the_old_one,
    test_rotate_of_a_dead_session_gives_nothing,
    test_rotate_with_a_new_payload_signs_in,
    test_save_does_not_revive_a_destroyed_session,
)

pytestmark = pytest.mark.slow


@pytest_asyncio.fixture
async def redis(redis_cluster: RedisClusterServers) -> AsyncIterator[RedisCluster]:
    client = RedisCluster.from_url(redis_cluster.url, decode_responses=False)
    yield client
    await client.aclose()
