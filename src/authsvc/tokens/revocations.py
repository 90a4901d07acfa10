"""The revocation list: Redis in front (read on every introspection), PostgreSQL behind it.

Every revocation is written to both. Redis keys live only as long as the token they kill could.
A sentinel key says "the list in Redis is complete"; when Redis comes back empty (restart,
failover, FLUSHALL) the sentinel is gone, and the first reader reloads the list from the database
before it answers, so a Redis that loses its data resurrects no revoked token.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.kv import Keys
from authsvc.tokens.repository import TokenRepository

Notify = Callable[[str], Awaitable[None]]
Announce = Callable[..., Awaitable[object]]  # (reason, jti=, family=, sid=, sub=): the feed

log = logging.getLogger("authsvc.revocations")


def _ttl_until(expires_at: datetime | int) -> int:
    end = expires_at if isinstance(expires_at, int) else int(expires_at.timestamp())
    return max(1, end - int(time.time()) + 60)


class RevocationList:
    def __init__(
        self, redis: Redis, sessions: async_sessionmaker[AsyncSession],
        notify: Notify | None = None, announce: Announce | None = None,
    ) -> None:
        self._notify = notify  # tells every process's introspection cache
        self.announce = announce  # tells resource servers (GET /revocations/stream)
        self.redis = redis
        self._sessions = sessions
        self._reload_lock = asyncio.Lock()

    async def revoke_jti(
        self, session: AsyncSession, jti: str, expires_at: datetime, reason: str, **ids: str
    ) -> None:
        """`ids`: what else the event names (`sid`, `family`, `sub`)."""
        await TokenRepository(session).add_revocation(jti, expires_at, reason)
        await self.redis.set(Keys.revoked_jti(jti), reason, ex=_ttl_until(expires_at))
        if self._notify is not None:
            await self._notify(f"jti:{jti}")
        if self.announce is not None:
            await self.announce(reason, jti=jti, **ids)

    async def revoke_family(
        self, session: AsyncSession, family_id: uuid.UUID, expires_at: datetime, reason: str
    ) -> None:
        await TokenRepository(session).revoke_family(family_id, reason)
        await self.mark_family(family_id, expires_at, reason)

    async def mark_family(self, family_id: uuid.UUID, expires_at: datetime, reason: str) -> None:
        await self.redis.set(Keys.revoked_family(str(family_id)), reason, ex=_ttl_until(expires_at))
        if self._notify is not None:
            await self._notify(f"family:{family_id}")
        if self.announce is not None:  # access tokens carry their family as `sid`
            await self.announce(reason, family=str(family_id), sid=str(family_id))

    async def ensure_loaded(self) -> None:
        """Rebuild the Redis side from the database if Redis lost it. Idempotent."""
        async with self._reload_lock:
            if await self.redis.exists(Keys.revocations_loaded):
                return
            async with self._sessions() as session:
                repo = TokenRepository(session)
                jtis = await repo.live_revocations()
                families = await repo.revoked_families()
            pipe = self.redis.pipeline(transaction=False)
            for jti, expires_at in jtis:
                pipe.set(Keys.revoked_jti(jti), "reloaded", ex=_ttl_until(expires_at))
            for family_id, expires_at in families:
                pipe.set(Keys.revoked_family(str(family_id)), "reloaded", ex=_ttl_until(expires_at))
            pipe.set(Keys.revocations_loaded, str(int(time.time())))
            await pipe.execute()
            log.warning(
                "revocation list reloaded into Redis: %d tokens, %d families",
                len(jtis), len(families),
            )
