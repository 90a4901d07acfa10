"""All SQL about users."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.identity.models import User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def reachable(self) -> None:
        """One round trip that depends on no account (raises when the database is down)."""
        await self.session.execute(select(1))

    async def get_by_email(self, email: str) -> User | None:
        found = await self.session.execute(select(User).where(User.email == email))
        return found.scalar_one_or_none()

    async def email_taken(self, email: str) -> bool:
        found = await self.session.execute(select(User.id).where(User.email == email))
        return found.first() is not None

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def touch(self, user: User) -> None:
        """Bump the version, so caches and sessions can tell an old view from a new one."""
        user.version = (user.version or 0) + 1
        await self.session.flush()

    async def require_password_reset(self, user_id: uuid.UUID) -> int | None:
        """Mark the account for a password reset (version bumped); the new version, or None."""
        return (await self.session.execute(
            update(User).where(User.id == user_id)
            .values(password_reset_required=True, version=User.version + 1)
            .returning(User.version).execution_options(synchronize_session=False)
        )).scalar_one_or_none()

    async def page(self, *, after: uuid.UUID | None, limit: int) -> Sequence[User]:
        query = select(User).order_by(User.id).limit(limit)
        if after is not None:
            query = query.where(User.id > after)
        return (await self.session.execute(query)).scalars().all()
