"""AUTHSVC_REDIS_MODE=sentinel: the master found through a sentinel; a login and introspection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from authsvc.main import create_app
from tests import flows, infra
from tests.cluster.servers import SentinelServers

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sentinel() -> Iterator[SentinelServers]:
    servers = SentinelServers().start()
    try:
        yield servers
    finally:
        servers.stop()


async def test_login_and_introspection_through_a_sentinel(
    make_settings: Any, sentinel: SentinelServers
) -> None:
    settings = make_settings(redis_mode="sentinel", redis_url="redis:///2",
                             redis_sentinels=f"{sentinel.sentinels}",
                             redis_sentinel_master=sentinel.service)
    app = create_app(settings)
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        async for session in _transaction(state):
            client = await state.clients.create(session, "rs")
        user = await flows.register(api)
        tokens = await flows.login(api, user)
        info = await flows.introspect(api, (client.client_id, client.client_secret),
                                      tokens["access_token"])
        assert info["active"] is True and info["sub"] == user["id"]
        # The keys went to the master the sentinel named, into the URL's database 2.
        master = sentinel.master()
        assert master.connection_pool.connection_kwargs["port"] == sentinel.master_port
        assert master.exists(f"authsvc:user:{user['id']}")
        master.close()


async def _transaction(state: Any) -> Any:
    from authsvc.db import transaction

    async for session in transaction(state.sessions):
        yield session
