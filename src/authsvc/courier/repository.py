"""All SQL about the mail outbox.

Claiming is one statement: `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`.
Concurrent workers (other processes, other replicas) skip the rows another claim is locking and
cannot see a row whose lease (`locked_until`) is still running, so a message is handed to one
worker at a time. SQLite, which has no row locks, serializes the whole UPDATE instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.courier.models import DISCARDED, FAILED, QUEUED, SENT, OutboxMessage


@dataclass(frozen=True, slots=True)
class Claimed:
    id: uuid.UUID
    body: str
    recipient_domain: str
    attempts: int  # this one included


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, message: OutboxMessage) -> None:
        self.session.add(message)
        await self.session.flush()

    async def claim(self, queue: str, worker: str, *, now: datetime, lease_until: datetime,
                    limit: int) -> list[Claimed]:
        """Lease up to `limit` due messages of `queue` to `worker`; each claim counts a try."""
        due = (
            select(OutboxMessage.id)
            .where(OutboxMessage.queue == queue, OutboxMessage.status == QUEUED,
                   OutboxMessage.next_attempt_at <= now,
                   or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now))
            .order_by(OutboxMessage.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(locked_until=lease_until, claimed_by=worker,
                    attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id, OutboxMessage.body, OutboxMessage.recipient_domain,
                       OutboxMessage.attempts)
            .execution_options(synchronize_session=False)
        )
        return [Claimed(id_, body, domain, attempts)
                for id_, body, domain, attempts in rows.all() if body is not None]

    async def finish(self, message_id: uuid.UUID, worker: str, status: str, now: datetime,
                     error: str | None = None) -> None:
        """Sent or given up on: the body (codes, links) is removed at once."""
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker)
            .values(status=status, body=None, finished_at=now, locked_until=None,
                    last_error=error)
            .execution_options(synchronize_session=False)
        )

    async def retry_at(self, message_id: uuid.UUID, worker: str, when: datetime,
                       error: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker)
            .values(next_attempt_at=when, locked_until=None, claimed_by=None, last_error=error)
            .execution_options(synchronize_session=False)
        )

    async def release(self, ids: Sequence[uuid.UUID], worker: str) -> None:
        """Give back claims whose send did not finish (shutdown): that try does not count."""
        if not ids:
            return
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.claimed_by == worker,
                   OutboxMessage.status == QUEUED)
            .values(locked_until=None, claimed_by=None, attempts=OutboxMessage.attempts - 1)
            .execution_options(synchronize_session=False)
        )

    async def purge(self, before: datetime) -> int:
        """Delete finished rows older than the retention period; returns how many."""
        result = await self.session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.status.in_((SENT, FAILED, DISCARDED)),
                   OutboxMessage.finished_at < before)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def counts(self, queue: str) -> dict[str, int]:
        """Rows of `queue` by status (tests and operators)."""
        rows = await self.session.execute(
            select(OutboxMessage.status, func.count()).where(OutboxMessage.queue == queue)
            .group_by(OutboxMessage.status)
        )
        return {status: int(n) for status, n in rows.all()}
