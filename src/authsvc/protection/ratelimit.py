"""Rate limits: sliding-window counters in Redis (the design's `@rate_limit`).

The window is approximated the way Cloudflare and nginx-style limiters do: the current fixed
window's count plus the previous one's, weighted by how much of it still overlaps the sliding
window. One Lua call per check (one round trip), atomic, both windows in one hash slot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from authsvc.config import parse_rate
from authsvc.errors import TooManyRequests
from authsvc.kv import Keys

# KEYS[1] counter hash. ARGV: now, limit, period. Returns {allowed, retry_after}.
_SLIDING = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local current = math.floor(now / period)
local elapsed = (now - current * period) / period
local counts = redis.call('HMGET', KEYS[1], tostring(current), tostring(current - 1))
local this = tonumber(counts[1]) or 0
local prev = tonumber(counts[2]) or 0
local estimate = prev * (1 - elapsed) + this
if estimate + 1 > limit then
  local wait = period * (1 - elapsed)
  if prev > 0 and this < limit then
    wait = math.max(1, period * (1 - elapsed) - period * ((limit - this - 1) / prev))
  end
  return {0, tostring(math.max(1, math.ceil(wait)))}
end
redis.call('HINCRBY', KEYS[1], tostring(current), 1)
redis.call('HDEL', KEYS[1], tostring(current - 2))
redis.call('EXPIRE', KEYS[1], period * 2 + 1)
return {1, '0'}
"""


@dataclass(frozen=True, slots=True)
class Rate:
    limit: int
    period: int

    @classmethod
    def parse(cls, value: str) -> Rate:
        return cls(*parse_rate(value))


class RateLimiter:
    def __init__(self, redis: Redis, clock: Callable[[], float] = time.time) -> None:
        from redis.asyncio.cluster import RedisCluster

        self.redis = redis
        self.clock = clock
        self._script = redis.register_script(_SLIDING)
        # A cluster pipeline refuses EVALSHA: there the check takes a round trip of its own.
        self.can_pipeline = not isinstance(redis, RedisCluster)

    async def hit(self, bucket: str, subject: str, rate: Rate) -> None:
        """Count one request of `subject` in `bucket`; TooManyRequests once over the rate."""
        allowed, wait = await self._script(
            keys=[Keys.rate(bucket, subject)], args=[self.clock(), rate.limit, rate.period]
        )
        if not int(allowed):
            raise TooManyRequests(float(wait))

    def queue(self, pipe: Any, bucket: str, subject: str, rate: Rate) -> None:
        """Add this check to the caller's pipeline (one round trip with its other reads) as a
        bare EVALSHA: a Script object in a pipeline makes redis-py send SCRIPT EXISTS first,
        a round trip of its own on every request. Give the answer to `settle`."""
        pipe.evalsha(self._script.sha, 1, Keys.rate(bucket, subject), self.clock(), rate.limit,
                     rate.period)

    async def settle(self, answer: Any, bucket: str, subject: str, rate: Rate) -> None:
        """TooManyRequests if the queued check said so. A Redis that lost its scripts (restart,
        SCRIPT FLUSH) answers NOSCRIPT without counting: count again, loading the script."""
        if isinstance(answer, NoScriptError):
            await self.hit(bucket, subject, rate)
            return
        if isinstance(answer, Exception):
            raise answer
        allowed, wait = answer
        if not int(allowed):
            raise TooManyRequests(float(wait))

    async def reset(self, bucket: str, subject: str) -> None:
        await self.redis.delete(Keys.rate(bucket, subject))

