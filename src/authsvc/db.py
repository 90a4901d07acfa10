"""The database: declarative Base, the engine built once at start-up, and the commit points.

There are two, and no other code commits:

- `transaction()`, the request's unit of work (the session dependency, `deps.DbSession`; the
  CLI's and a queued job's too): commits when the work succeeded, rolls back when it raised.
  Work that must only happen after the commit (writing through the user cache, telling Redis
  of a revocation) is registered with `after_commit()`.
- `independent()`, a transaction of its own beside the request's, for the writes that must
  outlive a failed request: an audit row about a refusal, voiding an action token at its
  guess cap, a breached password's renewal mark. It commits when its block ends, whatever the
  request's transaction does later; background work (the mail worker, the key ring) uses it
  too, having no request. `outlive(session, work)` ends a failing request's transaction
  first (a rollback), then does `work` in one: for a write the request's own open
  transaction could block (a reused refresh family's revocation, after the request spent or
  locked its rows; SQLite has a single writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
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
#: session.info: the factory of the unit of work the session belongs to. Every other entry
#: belongs to the session's current transaction (after-commit hooks, a revocation mark).
SESSIONS = "sessions"
Outliving = Callable[[AsyncSession], Awaitable[object]]
log = logging.getLogger("authsvc.db")


class DatabaseTimeout(TimeoutError):
    """The request's database work did not finish within its budget (an outage: 503)."""


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
    statement_ms = int(settings.db_statement_timeout * 1000)
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        # A failed statement's parameters (a secret's hash, an e-mail) never reach a log line.
        hide_parameters=True,
        connect_args={
            "command_timeout": settings.db_statement_timeout,
            "timeout": settings.db_pool_timeout,
            "server_settings": {"statement_timeout": str(statement_ms)},
        },
    )
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the request's transaction has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(callback)


async def outlive(session: AsyncSession, work: Outliving) -> None:
    """The request is failing, but `work` must stand: roll the request's transaction back now
    (none of its writes stand, its row locks go: SQLite has a single writer) and do `work(own)`
    in a transaction of its own (`independent`). Call it just before raising the refusal; the
    objects `session` had loaded are expired by then."""
    await session.rollback()
    factory = session.info[SESSIONS]
    session.info.clear()  # the hooks and marks of the rolled-back transaction
    session.info[SESSIONS] = factory
    async with independent(factory) as own:
        await work(own)


async def _run_after_commit(session: AsyncSession) -> None:
    for callback in session.info.pop("after_commit", []):
        await callback()


#: The monotonic time by which the current request's database work must be done (set by the
#: request middleware from AUTHSVC_DB_REQUEST_TIMEOUT / AUTHSVC_DB_TOKEN_TIMEOUT), or None.
deadline: ContextVar[float | None] = ContextVar("authsvc_db_deadline", default=None)


async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commit on success, roll back on error, then run the
    after-commit hooks.

    Within a request's budget (`deadline`): past it, the connection is dropped, not rolled back
    (a frozen server would not answer a ROLLBACK either), and `DatabaseTimeout` is raised.
    """
    async with _unit_of_work(factory, _loop_deadline) as session:
        yield session


@contextlib.asynccontextmanager
async def independent(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A transaction of its own: its writes commit when the block ends, and stand although the
    request's transaction rolls back afterwards (the refusal that follows). Its after-commit
    hooks run after its own commit. As before this seam, it is bounded by the server's
    statement timeout, not by the request's budget."""
    async with _unit_of_work(factory, lambda: None) as session:
        yield session


@contextlib.asynccontextmanager
async def _unit_of_work(
    factory: async_sessionmaker[AsyncSession], until: Callable[[], float | None]
) -> AsyncIterator[AsyncSession]:
    """Commit on success (by `until()`, the loop's clock), roll back on error, then run the
    after-commit hooks."""
    async with factory() as session:
        session.info[SESSIONS] = factory
        try:
            yield session
            if _has_work(session):
                async with asyncio.timeout_at(until()):
                    await session.commit()
        except (TimeoutError, asyncio.CancelledError) as exc:
            await _abandon(session)
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise DatabaseTimeout("the database did not answer within the budget") from exc
        except BaseException:
            await session.rollback()
            raise
        await _run_after_commit(session)


def _has_work(session: AsyncSession) -> bool:
    """Anything to commit: a transaction begun (SQL ran, or an object was added). A request
    that used no database (client credentials, a cached bearer request) skips the commit's
    greenlet round trip (~10% of a client-credentials grant's CPU, measured on a loaded machine)."""
    return session.in_transaction() or bool(session.new or session.dirty or session.deleted)


def _loop_deadline() -> float | None:
    """`deadline` (monotonic) on the event loop's clock."""
    until = deadline.get()
    if until is None:
        return None
    return asyncio.get_running_loop().time() + (until - time.monotonic())


async def _abandon(session: AsyncSession) -> None:
    """Close the session's connections at once, without a round trip."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await session.invalidate()
