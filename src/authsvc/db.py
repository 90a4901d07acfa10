"""The database: declarative Base, the engine built once at start-up, and the one commit point.

The session dependency (`deps.DbSession`) commits when the request's work succeeded and rolls
back when it raised; work that must only happen after a commit (writing through the user cache)
is registered with `after_commit()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from authsvc.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

AfterCommit = Callable[[], Awaitable[None]]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class _UtcSqliteDateTime(sqlite.DATETIME):
    """SQLite keeps no time zone: store UTC, read back aware UTC datetimes, as PostgreSQL does.

    Without it a row read from SQLite carries a naive datetime, and comparing it with `utcnow()`
    (in Python, or in the ORM's evaluation of an UPDATE's WHERE) raises TypeError.
    """

    def bind_processor(self, dialect):  # type: ignore[no-untyped-def]
        inner = super().bind_processor(dialect)

        def process(value):  # type: ignore[no-untyped-def]
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            return inner(value) if inner else value

        return process

    def result_processor(self, dialect, coltype):  # type: ignore[no-untyped-def]
        inner = super().result_processor(dialect, coltype)

        def process(value):  # type: ignore[no-untyped-def]
            value = inner(value) if inner else value
            if isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            return value

        return process


def _aware_datetimes(engine: AsyncEngine) -> None:
    """Every `DateTime` column of this SQLite engine reads and writes aware UTC datetimes."""
    dialect = engine.sync_engine.dialect
    dialect.colspecs = {**dialect.colspecs, DateTime: _UtcSqliteDateTime}


def make_engine(settings: Settings) -> AsyncEngine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _aware_datetimes(engine)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"command_timeout": 10, "timeout": settings.db_pool_timeout},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the request's transaction has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(callback)


async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on error, then run after-commit hooks."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        for callback in session.info.pop("after_commit", []):
            await callback()
