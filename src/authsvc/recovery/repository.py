"""All SQL about action tokens (reset and verification links)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.recovery.models import ActionToken

RESET = "reset"
VERIFY = "verify"


class ActionTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace(self, token: ActionToken) -> None:
        """Store `token` as the user's only one of its purpose: every older one is void."""
        await self.void_all(token.user_id, token.purpose)
        self.session.add(token)
        await self.session.flush()

    async def void_all(self, user_id: uuid.UUID, purpose: str) -> None:
        await self.session.execute(
            delete(ActionToken).where(ActionToken.user_id == user_id,
                                      ActionToken.purpose == purpose)
        )

    async def live_by_digest(self, digest: str, purpose: str, now: datetime) -> ActionToken | None:
        return (await self.session.execute(
            select(ActionToken).where(*_live(purpose, now), ActionToken.digest == digest)
        )).scalar_one_or_none()

    async def live_for_user(self, user_id: uuid.UUID, purpose: str,
                            now: datetime) -> ActionToken | None:
        return (await self.session.execute(
            select(ActionToken).where(*_live(purpose, now), ActionToken.user_id == user_id)
            .order_by(ActionToken.created_at.desc()).limit(1)
        )).scalar_one_or_none()

    async def spend(self, token_id: uuid.UUID, purpose: str, now: datetime) -> uuid.UUID | None:
        """Mark the token used if it still is live, in one statement; the user's id, else None.

        `WHERE used_at IS NULL AND expires_at > now ... RETURNING`: of two concurrent spends
        exactly one sees a row, so a link works once even under a race.
        """
        return (await self.session.execute(
            update(ActionToken).where(*_live(purpose, now), ActionToken.id == token_id)
            .values(used_at=now).returning(ActionToken.user_id)
        )).scalar_one_or_none()


def _live(purpose: str, now: datetime) -> tuple:  # type: ignore[type-arg]
    return (ActionToken.purpose == purpose, ActionToken.used_at.is_(None),
            ActionToken.expires_at > now)
