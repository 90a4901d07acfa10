"""All SQL about consents."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.db import utcnow
from authsvc.oidc.models import Consent


class ConsentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID, client_id: str) -> Consent | None:
        found = await self.session.execute(
            select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id))
        return found.scalar_one_or_none()

    async def grant(self, user_id: uuid.UUID, client_id: str, scopes: list[str]) -> None:
        """Add `scopes` to what the user allowed the client (a new row, or the union)."""
        consent = await self.get(user_id, client_id)
        if consent is None:
            self.session.add(Consent(user_id=user_id, client_id=client_id, scopes=scopes))
        else:
            consent.scopes = list(dict.fromkeys([*consent.scopes, *scopes]))
            consent.updated_at = utcnow()
        await self.session.flush()

    async def of_user(self, user_id: uuid.UUID) -> Sequence[Consent]:
        return (await self.session.execute(
            select(Consent).where(Consent.user_id == user_id).order_by(Consent.created_at)
        )).scalars().all()

    async def revoke(self, user_id: uuid.UUID, client_id: str) -> bool:
        result = await self.session.execute(
            delete(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]
