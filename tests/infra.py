"""Real PostgreSQL and Redis for the tests: a database of our own per run, a Redis DB claimed
for the run, and an app wired to both. Nothing here skips: an unreachable server fails the run."""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import redis.asyncio as aioredis

PG_ADMIN_DSN = os.environ.get("AUTHSVC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_BASE = os.environ.get("AUTHSVC_TEST_REDIS", "redis://127.0.0.1:6379")
CLAIM_KEY = "authsvc-test-claim"


async def create_database() -> tuple[str, str]:
    """Create an empty database for this run; returns (name, SQLAlchemy URL)."""
    name = f"authsvc_test_{os.getpid()}_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    host_part = PG_ADMIN_DSN.split("://", 1)[1].rsplit("/", 1)[0]
    return name, f"postgresql+asyncpg://{host_part}/{name}"


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def claim_redis_db() -> int:
    """A Redis logical database no other test run is using (claimed with SET NX)."""
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    for index in range(1, 16):
        client = aioredis.Redis.from_url(f"{REDIS_BASE}/{index}")
        try:
            if await client.set(CLAIM_KEY, token, nx=True, ex=7200):
                await flush_keeping_claim(client)
                return index
        finally:
            await client.aclose()
    raise RuntimeError("no free Redis database for the tests (all 15 claimed)")


async def release_redis_db(index: int) -> None:
    client = aioredis.Redis.from_url(f"{REDIS_BASE}/{index}")
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def flush_keeping_claim(redis: aioredis.Redis) -> None:
    """Empty the run's database and keep the claim, in one MULTI/EXEC: between the two another
    run could otherwise claim the empty database."""
    from redis.asyncio.cluster import RedisCluster

    if isinstance(redis, RedisCluster):  # a cluster of the test's own: nobody else claims it
        await redis.flushdb(target_nodes=RedisCluster.PRIMARIES)
        return
    claim = await redis.get(CLAIM_KEY)
    pipe = redis.pipeline(transaction=True)
    pipe.flushdb()
    pipe.set(CLAIM_KEY, claim or f"{os.getpid()}", ex=7200)
    await pipe.execute()


def random_ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


STRONG_PASSWORD = "Correct-Horse-7-Battery"


class Api:
    """An httpx client on the app, from one client address and User-Agent."""

    def __init__(self, app: Any, *, ip: str | None = None, user_agent: str = "pytest-agent/1.0"):
        self.ip = ip or random_ip()
        self.user_agent = user_agent
        transport = httpx.ASGITransport(app=app, client=(self.ip, 40000))
        self.http = httpx.AsyncClient(
            transport=transport, base_url="http://testserver",
            headers={"User-Agent": user_agent},
        )

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)


@asynccontextmanager
async def running(app: Any):  # type: ignore[no-untyped-def]
    async with app.router.lifespan_context(app):
        yield app


def run(coro: Any) -> Any:
    return asyncio.get_event_loop().run_until_complete(coro)


class RedisServer:
    """A redis-server of the test's own on a spare loopback port, to stop and start at will."""

    def __init__(self) -> None:
        import socket
        import tempfile

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dir = tempfile.mkdtemp(prefix="authsvc-redis-")
        self.process: Any = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import subprocess
        import time

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis as sync_redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                sync_redis.Redis(port=self.port).ping()
                return
            except sync_redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
