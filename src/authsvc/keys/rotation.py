"""`authsvc keys rotate` as one use case: new keys and the audit row in the caller's
transaction; once it commits, every worker reloads its keys and every resource server hears
which keys were retired (`key_retired` on GET /revocations/stream)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.db import after_commit
from authsvc.keys.models import SigningKey
from authsvc.keys.ring import CHANNEL_MESSAGE
from authsvc.kv import invalidation_channel

if TYPE_CHECKING:
    from authsvc.state import AppState


async def rotate_keys(state: AppState, session: AsyncSession, *, via: str) -> list[SigningKey]:
    added = await state.keys.rotate(session)
    retired = state.keys.retirable()
    await state.audit.record("signing_keys_rotated", session=session, via=via,
                             kids=[k.kid for k in added], retired=retired)

    async def announce() -> None:
        await state.redis.publish(invalidation_channel(state.redis), CHANNEL_MESSAGE)
        if state.revocation_feed is not None:
            for kid in retired:
                await state.revocation_feed.key_retired(kid)

    after_commit(session, announce)
    return added
