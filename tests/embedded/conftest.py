"""The embedded profile (a SQLite file and the in-process Redis stand-in) under the same tests.

The modules of this folder import the end-to-end tests of other folders (registration, login,
MFA, refresh, revocation, reset, verification, the pages); the fixtures below replace the run's
PostgreSQL database and Redis with a migrated SQLite file and no `AUTHSVC_REDIS_URL`, so the very
same assertions run on what a newcomer's first `authsvc serve` uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from authsvc.config import Settings, load_settings
from authsvc.main import create_app
from tests import infra


@pytest.fixture(scope="session")
def embedded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedded")


@pytest_asyncio.fixture(scope="session")
async def database_url(embedded_dir: Path) -> AsyncIterator[str]:
    """A SQLite file of this run's own, migrated with the real migrations."""
    from authsvc.db import make_engine
    from authsvc.migrate import upgrade

    url = f"sqlite+aiosqlite:///{embedded_dir / 'authsvc.sqlite3'}"
    engine = make_engine(load_settings(env="testing", database_url=url, data_dir=embedded_dir))
    await upgrade(engine)
    await engine.dispose()
    yield url


@pytest.fixture(scope="session")
def redis_url() -> None:
    """No Redis URL: the in-process stand-in."""
    return None


@pytest.fixture(scope="session")
def make_settings(database_url: str, embedded_dir: Path) -> Any:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "testing",
            "database_url": database_url,
            "redis_url": None,
            "data_dir": embedded_dir,
            "jwt_secret": "test-jwt-secret-that-is-long-enough-0123456789",
            "encryption_key": "test-encryption-key-long-enough-0123456789",
            "issuer": "http://authsvc.test",
        }
        values.update(overrides)
        settings = load_settings(**values)
        assert settings.embedded_database and settings.embedded_redis
        return settings

    return make


@pytest_asyncio.fixture(scope="session")
async def app(make_settings: Any) -> AsyncIterator[Any]:
    application = create_app(make_settings())
    async with infra.running(application):
        yield application
