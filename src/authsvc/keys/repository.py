"""All SQL about signing keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.keys.models import SigningKey


class KeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def unretired(self) -> Sequence[SigningKey]:
        query = (select(SigningKey).where(SigningKey.retired_at.is_(None))
                 .order_by(SigningKey.activates_at, SigningKey.kid))
        return (await self.session.execute(query)).scalars().all()

    async def add(self, key: SigningKey) -> SigningKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def retire(self, kids: Sequence[str], at: datetime) -> None:
        if kids:
            await self.session.execute(
                update(SigningKey).where(SigningKey.kid.in_(list(kids))).values(retired_at=at)
            )
