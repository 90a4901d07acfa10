"""All SQL of MFA: recovery codes and the durable last TOTP step."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.db import utcnow
from authsvc.identity.models import User
from authsvc.mfa.models import RecoveryCode


class MfaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace_recovery_codes(self, user_id: uuid.UUID, digests: list[str]) -> None:
        """The user's set becomes exactly `digests`; every older code is void."""
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        now = utcnow()
        await self.session.execute(insert(RecoveryCode), [
            {"id": uuid.uuid4(), "user_id": user_id, "code_hash": d, "created_at": now}
            for d in digests
        ])

    async def drop_recovery_codes(self, user_id: uuid.UUID) -> None:
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))

    async def use_recovery_code(self, user_id: uuid.UUID, digest: str) -> bool:
        """Spend one unused code. The row lock makes a concurrent second use find it used."""
        result = await self.session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == digest,
                   RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
            .returning(RecoveryCode.id)
            .execution_options(synchronize_session=False)
        )
        return result.first() is not None

    async def recovery_codes_left(self, user_id: uuid.UUID) -> int:
        query = select(func.count()).select_from(RecoveryCode).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        return int((await self.session.execute(query)).scalar_one())

    async def advance_totp_step(self, user_id: uuid.UUID, step: int) -> bool:
        """Record `step` only if it is later than the stored one (atomic under the row lock)."""
        result = await self.session.execute(
            update(User)
            .where(User.id == user_id,
                   or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
            .returning(User.id)
            .execution_options(synchronize_session=False)
        )
        return result.first() is not None
