"""All SQL about audit events. The trail is append-only: there is no update or delete here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.audit.models import AuditEvent


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, *, before: int | None, limit: int, user_id: uuid.UUID | None = None,
        type: str | None = None,
    ) -> Sequence[AuditEvent]:
        """Newest first, ids below `before`; the (user_id, id) and (type, id) indexes serve it."""
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if before is not None:
            query = query.where(AuditEvent.id < before)
        if user_id is not None:
            query = query.where(AuditEvent.user_id == user_id)
        if type is not None:
            query = query.where(AuditEvent.type == type)
        return (await self.session.execute(query)).scalars().all()
