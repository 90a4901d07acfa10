"""Real Redis on 127.0.0.1:6379, database 14, every key under a random prefix removed afterwards."""

import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from authsvc.security.crypto import Encryptor
from authsvc.sessions import SessionStore

IDLE = 1800
ABSOLUTE = 43_200


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/14", decode_responses=False)
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"test-sessions-{secrets.token_hex(6)}:"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def encryptor() -> Encryptor:
    return Encryptor(b"session-test-key-material-" + b"s" * 32, purpose="session")


@pytest.fixture
async def store(
    redis: Redis, encryptor: Encryptor, clock: Clock, prefix: str
) -> AsyncIterator[SessionStore]:
    yield SessionStore(redis, encryptor, IDLE, ABSOLUTE, clock, key_prefix=prefix)
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
