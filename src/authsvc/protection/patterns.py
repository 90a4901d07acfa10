"""Suspicious patterns: one address failing against many usernames (credential stuffing,
password spraying). Reported once per window as a security event."""

from __future__ import annotations

from redis.asyncio import Redis

from authsvc.kv import Keys


class StuffingDetector:
    def __init__(self, redis: Redis, *, threshold: int, window: int) -> None:
        self.redis = redis
        self.threshold = threshold
        self.window = window

    async def failed(self, ip: str, username: str) -> bool:
        """Record a failure; True the first time this address crosses the threshold."""
        key = Keys.failed_usernames(ip)
        pipe = self.redis.pipeline(transaction=True)
        pipe.sadd(key, username[:320])
        pipe.expire(key, self.window, nx=True)
        pipe.scard(key)
        _, _, distinct = await pipe.execute()
        if int(distinct) < self.threshold:
            return False
        return bool(await self.redis.set(Keys.stuffing_flag(ip), 1, ex=self.window, nx=True))
