"""All SQL about refresh families, refresh tokens and revocations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.db import utcnow
from authsvc.tokens.models import RefreshFamily, RefreshToken, Revocation


class TokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_family(self, family: RefreshFamily) -> RefreshFamily:
        self.session.add(family)
        await self.session.flush()
        return family

    async def add_refresh(self, token: RefreshToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def get_family(self, family_id: uuid.UUID) -> RefreshFamily | None:
        return await self.session.get(RefreshFamily, family_id)

    async def spend_refresh(self, jti: str) -> uuid.UUID | None:
        """Mark an unused, unexpired refresh token used; its family id, or None if it was not.

        One UPDATE ... WHERE used_at IS NULL: of N concurrent spends, the database lets one win.
        """
        now = utcnow()
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.jti == jti, RefreshToken.used_at.is_(None),
                   RefreshToken.expires_at > now)
            .values(used_at=now)
            .returning(RefreshToken.family_id)
        )
        return result.scalar_one_or_none()

    async def get_refresh(self, jti: str) -> RefreshToken | None:
        return await self.session.get(RefreshToken, jti)

    async def revoke_family(self, family_id: uuid.UUID, reason: str) -> bool:
        result = await self.session.execute(
            update(RefreshFamily)
            .where(RefreshFamily.id == family_id, RefreshFamily.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )
        return bool(result.rowcount)

    async def live_families(self, user_id: uuid.UUID) -> Sequence[RefreshFamily]:
        return (await self.session.execute(
            select(RefreshFamily).where(
                RefreshFamily.user_id == user_id,
                RefreshFamily.revoked_at.is_(None),
                RefreshFamily.expires_at > utcnow(),
            ).order_by(RefreshFamily.created_at.desc())
        )).scalars().all()

    async def live_families_of_client(self, client_id: str) -> Sequence[RefreshFamily]:
        return (await self.session.execute(
            select(RefreshFamily).where(
                RefreshFamily.client_id == client_id,
                RefreshFamily.revoked_at.is_(None),
                RefreshFamily.expires_at > utcnow(),
            )
        )).scalars().all()

    async def revoked_families(self) -> Sequence[tuple[uuid.UUID, datetime]]:
        """Revoked families that could still have live tokens (for reloading Redis)."""
        rows = await self.session.execute(
            select(RefreshFamily.id, RefreshFamily.expires_at).where(
                RefreshFamily.revoked_at.is_not(None), RefreshFamily.expires_at > utcnow()
            )
        )
        return [(r[0], r[1]) for r in rows]

    async def add_revocation(self, jti: str, expires_at: datetime, reason: str) -> None:
        values = {"jti": jti, "expires_at": expires_at, "reason": reason, "created_at": utcnow()}
        dialect = self.session.bind.dialect.name if self.session.bind else "postgresql"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(
            insert(Revocation).values(**values).on_conflict_do_nothing(index_elements=["jti"])
        )

    async def live_revocations(self) -> Sequence[tuple[str, datetime]]:
        rows = await self.session.execute(
            select(Revocation.jti, Revocation.expires_at).where(Revocation.expires_at > utcnow())
        )
        return [(r[0], r[1]) for r in rows]

    async def refresh_is_live(self, jti: str) -> bool:
        """Unspent, unexpired, and its family not revoked."""
        found = await self.session.execute(
            select(RefreshToken.jti)
            .join(RefreshFamily, RefreshFamily.id == RefreshToken.family_id)
            .where(RefreshToken.jti == jti, RefreshToken.used_at.is_(None),
                   RefreshToken.expires_at > utcnow(), RefreshFamily.revoked_at.is_(None))
        )
        return found.first() is not None
