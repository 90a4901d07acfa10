"""Servers of the fault tests' own, on spare ports: the run's shared ones stay up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from tests import infra
from tests.faults.servers import PostgresServer


@pytest.fixture
def own_redis() -> Iterator[infra.RedisServer]:
    server = infra.RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest_asyncio.fixture
async def own_database(own_postgres: PostgresServer) -> AsyncIterator[str]:
    """A fresh migrated database on the test's own PostgreSQL (which is up at the start)."""
    import secrets

    if not own_postgres.running:
        own_postgres.start()
    name = f"faults_{secrets.token_hex(4)}"
    yield await own_postgres.create_database(name)


async def new_client(state: Any) -> tuple[str, str]:
    from authsvc.db import transaction

    async for session in transaction(state.sessions):
        issued = await state.clients.create(session, "resource-server")
    return issued.client_id, issued.client_secret
