"""Couriers on the run's PostgreSQL database, each with a queue of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.config import load_settings
from authsvc.courier import Courier
from authsvc.db import make_engine, make_sessionmaker
from authsvc.security.crypto import Encryptor

KEY = b"outbox-test-key-material-0123456789abcdef"


@pytest_asyncio.fixture
async def db_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(load_settings(env="testing", database_url=database_url,
                                       redis_url="redis://x"))
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def outbox(db_sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Any]:
    """`outbox(sender, **options)`: a started Courier (stopped after the test); pass
    `queue=` to make several share one queue, `start=False` to start it yourself."""
    made: list[Courier] = []
    default_queue = f"test-{uuid.uuid4().hex[:16]}"

    def make(sender: Any, *, start: bool = True, **options: Any) -> Courier:
        options = {"queue": default_queue, "poll_interval": 0.05, "backoff": 0.05,
                   "send_timeout": 5.0, **options}
        courier = Courier(db_sessions, sender, Encryptor([KEY], purpose="mail-outbox"),
                          **options)
        made.append(courier)
        if start:
            courier.start()
        return courier

    try:
        yield make
    finally:
        for courier in made:
            await courier.stop(2)
