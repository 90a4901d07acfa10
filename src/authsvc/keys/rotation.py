"""`authsvc keys rotate` as one use case: new keys and the audit row in the caller's
transaction; once it commits, every worker reloads its keys and every resource server hears
which keys were retired (`key_retired` on GET /revocations/stream)."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.audit.service import AuditLog
from authsvc.db import after_commit
from authsvc.keys.models import SigningKey
from authsvc.keys.ring import CHANNEL_MESSAGE, KeyRing
from authsvc.kv import invalidation_channel
from authsvc.tokens.feed import RevocationFeed


async def rotate_keys(keys: KeyRing, audit: AuditLog, redis: Redis, feed: RevocationFeed,
                      session: AsyncSession, *, via: str) -> list[SigningKey]:
    added = await keys.rotate(session)
    retired = keys.retirable()
    await audit.record("signing_keys_rotated", session=session, via=via,
                       kids=[k.kid for k in added], retired=retired)

    async def announce() -> None:
        await redis.publish(invalidation_channel(redis), CHANNEL_MESSAGE)
        for kid in retired:
            await feed.key_retired(kid)

    after_commit(session, announce)
    return added
