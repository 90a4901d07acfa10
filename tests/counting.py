"""Count the SQL statements and Redis round trips of a request: the fast paths' tests assert
what each one must run."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

# The app's periodic loops (the mail outbox, the signing keys, the revocation mark): their SQL
# belongs to no request, and a poll that falls inside the block must not count.
BACKGROUND_LOOPS = frozenset({"authsvc.mail.outbox", "authsvc-keys", "authsvc-revocation-mark"})


def _in_background_loop() -> bool:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return False
    return task is not None and task.get_name() in BACKGROUND_LOOPS


@contextmanager
def counting_sql(state: Any) -> Iterator[list[str]]:
    """The SQL the app's engine runs inside the block for requests, in order."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not _in_background_loop():
            seen.append(statement)

    engine = state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def counting_redis_writes() -> Iterator[list[int]]:
    """Counts the commands (or pipelines) written to any Redis connection: round trips."""
    from redis.asyncio.connection import AbstractConnection

    writes: list[int] = []
    original = AbstractConnection.send_packed_command

    async def counted(self, command, check_health=True):  # type: ignore[no-untyped-def]
        writes.append(1)
        return await original(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
    try:
        yield writes
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
