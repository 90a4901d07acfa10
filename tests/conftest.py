"""Shared fixtures. One section per resource; add yours under its own heading."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from authsvc.composition import Components
from authsvc.config import Settings, load_settings
from authsvc.main import create_app
from tests import flows, infra
from tests.smtp_server import SmtpSink

# ------------------------------------------------------------- PostgreSQL and Redis


@pytest_asyncio.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A PostgreSQL database of this run's own, migrated with the real migrations."""
    name, url = await infra.create_database()
    try:
        from authsvc.db import make_engine
        from authsvc.migrate import upgrade

        engine = make_engine(load_settings(env="testing", database_url=url, redis_url="redis://x"))
        await upgrade(engine)
        await engine.dispose()
        yield url
    finally:
        await infra.drop_database(name)


@pytest_asyncio.fixture(scope="session")
async def redis_url() -> AsyncIterator[str]:
    index = await infra.claim_redis_db()
    try:
        yield f"{infra.REDIS_BASE}/{index}"
    finally:
        await infra.release_redis_db(index)


@pytest.fixture(scope="session")
def make_settings(database_url: str, redis_url: str) -> Any:
    """Settings of the testing profile on the run's PostgreSQL and Redis, with overrides."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "testing",
            "database_url": database_url,
            "redis_url": redis_url,
            "jwt_secret": "test-jwt-secret-that-is-long-enough-0123456789",
            "encryption_key": "test-encryption-key-long-enough-0123456789",
            "issuer": "http://authsvc.test",
            # Apps of one run share the database but not their SMTP servers: each app sends only
            # its own mail (replicas of one service share a queue; the outbox tests do so).
            "mail_queue": f"test-{uuid.uuid4().hex[:16]}",
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest_asyncio.fixture(scope="session")
async def app(make_settings: Any) -> AsyncIterator[Any]:
    """The app with the testing profile, its lifespan running for the whole session."""
    application = create_app(make_settings())
    async with infra.running(application):
        yield application


@pytest.fixture
def state(app: Any) -> Components:
    return app.state.authsvc  # type: ignore[no-any-return]


@pytest_asyncio.fixture(autouse=True)
async def _clean_redis(request: pytest.FixtureRequest) -> None:
    """Each test starts with an empty Redis (but the run's claim on its database)."""
    if "app" in request.fixturenames:
        state: Components = request.getfixturevalue("app").state.authsvc
        await infra.flush_keeping_claim(state.redis)
        state.clients._local.clear()


class Clock:
    """A settable clock for the time-based rules (lockout, cooldown, rate limits)."""

    def __init__(self) -> None:
        import time

        self._time = time.time
        self.offset = 0.0

    def __call__(self) -> float:
        return self._time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(state: Components) -> Iterator[Clock]:
    """Moves the brute-force and rate-limit clocks of the session's app (restored after)."""
    fake = Clock()
    saved = state.protector.clock, state.limiter.clock
    state.protector.clock = fake
    state.limiter.clock = fake
    try:
        yield fake
    finally:
        state.protector.clock, state.limiter.clock = saved


@pytest_asyncio.fixture
async def api(app: Any) -> AsyncIterator[infra.Api]:
    async with infra.Api(app) as client:
        yield client


@pytest_asyncio.fixture
async def service_client(state: Components) -> tuple[str, str]:
    """A registered service client: (client_id, client_secret)."""
    return await flows.new_client(state)

# --------------------------------------------------------------------------- SMTP


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1 (plain); `smtp_sink.settings()` points authsvc at it."""
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
