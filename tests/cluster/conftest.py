"""The suite's Redis-dependent rules again, on a three-node Redis Cluster made for this package.

`make_settings` and `app` are overridden here (package scope), so the shared fixtures that build
on them (`state`, `api`, `clock`, `service_client`, the autouse Redis flush) serve an app in
`AUTHSVC_REDIS_MODE=cluster`; the test modules import the existing tests and run them as they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from authsvc.main import create_app
from tests import infra
from tests.cluster.servers import RedisClusterServers
from tests.mfa.helpers import World, open_world
from tests.smtp_server import SmtpSink


@pytest.fixture(scope="package")
def redis_cluster() -> Iterator[RedisClusterServers]:
    servers = RedisClusterServers().start()
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="package")
def make_settings(make_settings: Any, redis_cluster: RedisClusterServers) -> Any:
    """The suite's settings, with Redis replaced by the cluster (one startup node)."""

    def make(**overrides: Any) -> Any:
        return make_settings(**{"redis_mode": "cluster", "redis_url": redis_cluster.url,
                                **overrides})

    return make


@pytest_asyncio.fixture(scope="package")
async def app(make_settings: Any) -> AsyncIterator[Any]:
    application = create_app(make_settings())
    async with infra.running(application):
        yield application


@pytest_asyncio.fixture
async def world(make_settings: Any, smtp_sink: SmtpSink) -> AsyncIterator[World]:
    async with open_world(make_settings, smtp_sink) as opened:
        yield opened
