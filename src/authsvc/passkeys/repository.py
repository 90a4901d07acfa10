"""All SQL of passkeys."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.db import utcnow
from authsvc.passkeys.models import Passkey


class PasskeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, passkey: Passkey) -> bool:
        """Store a new credential; False when its credential id is taken (two registrations of
        one credential raced: the unique index decides)."""
        try:
            async with self.session.begin_nested():
                self.session.add(passkey)
        except IntegrityError:
            return False
        return True

    async def of_user(self, user_id: uuid.UUID) -> list[Passkey]:
        query = select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at)
        return list((await self.session.execute(query)).scalars())

    async def count(self, user_id: uuid.UUID) -> int:
        query = select(func.count()).select_from(Passkey).where(Passkey.user_id == user_id)
        return int((await self.session.execute(query)).scalar_one())

    async def by_credential_id(self, credential_id: bytes) -> Passkey | None:
        query = select(Passkey).where(Passkey.credential_id == credential_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def credential_exists(self, credential_id: bytes) -> bool:
        return await self.by_credential_id(credential_id) is not None

    async def remove(self, user_id: uuid.UUID, passkey_id: uuid.UUID) -> bool:
        """Delete the user's passkey; False when the user has no passkey of that id."""
        result = await self.session.execute(
            delete(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user_id)
            .returning(Passkey.id).execution_options(synchronize_session=False))
        return result.first() is not None

    async def record_use(self, passkey_id: uuid.UUID, new: int) -> bool:
        """WebAuthn §7.2 step 21, atomically: when either count is non-zero, the new one must
        exceed the stored one. The condition is checked by the UPDATE itself (under the row
        lock), so two concurrent assertions of a cloned authenticator cannot both pass.
        False: the sign count did not advance (refused)."""
        counting = Passkey.sign_count == 0 if new == 0 else Passkey.sign_count < new
        result = await self.session.execute(
            update(Passkey).where(Passkey.id == passkey_id, counting)
            .values(sign_count=new, last_used_at=utcnow())
            .returning(Passkey.id).execution_options(synchronize_session=False))
        return result.first() is not None
