"""MFA state in Redis: used TOTP steps, live mfa_tokens, e-mailed codes, pending set-ups.

Every rule that two requests could race on is one Lua script, so it holds under concurrency.
Times are passed in by the caller (the MFA clock), so tests can move them.
"""

from __future__ import annotations

from enum import Enum
from typing import cast

from redis.asyncio import Redis

from authsvc.kv import Keys

# KEYS[1] last accepted step. ARGV: step, ttl. 1 when step > last (and now recorded), else 0.
_ADVANCE_STEP = """
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
"""

# KEYS[1] a token's wrong-code counter. ARGV: max. -1 gone, 1 void now, 0 still live.
_COUNT_WRONG_CODE = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
if redis.call('INCR', KEYS[1]) >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

# KEYS[1] code hash. ARGV: digest, now, max. 1 right (spent), 0 wrong, -1 none or expired,
# -2 wrong and now void. Digests are keyed HMACs, so a plain comparison leaks nothing useful.
_CHECK_CODE = """
local h = redis.call('HMGET', KEYS[1], 'digest', 'expires', 'attempts')
if not h[1] then
  return -1
end
if tonumber(ARGV[2]) >= tonumber(h[2]) then
  redis.call('DEL', KEYS[1])
  return -1
end
if h[1] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
local n = (tonumber(h[3]) or 0) + 1
if n >= tonumber(ARGV[3]) then
  redis.call('DEL', KEYS[1])
  return -2
end
redis.call('HSET', KEYS[1], 'attempts', n)
return 0
"""


class CodeCheck(Enum):
    RIGHT = 1
    WRONG = 0
    MISSING = -1
    VOID = -2


class TotpSteps:
    """RFC 6238 §5.2: each time step is accepted at most once per user."""

    def __init__(self, redis: Redis, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl
        self._advance = redis.register_script(_ADVANCE_STEP)

    async def advance(self, user_id: str, step: int) -> bool:
        """Record `step` if it is later than every step accepted before; False otherwise."""
        return bool(await self._advance(keys=[Keys.totp_step(user_id)], args=[step, self.ttl]))


class MfaTokens:
    """Which mfa_tokens are live: recorded at issue, deleted when spent or void."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._failed = redis.register_script(_COUNT_WRONG_CODE)

    async def issue(self, jti: str, ttl: int) -> None:
        await self.redis.set(Keys.mfa_token(jti), 0, ex=ttl)

    async def live(self, jti: str) -> bool:
        return bool(await self.redis.exists(Keys.mfa_token(jti)))

    async def failed(self, jti: str, max_attempts: int) -> bool:
        """Count a wrong code; True when this one voided the token."""
        return int(await self._failed(keys=[Keys.mfa_token(jti)], args=[max_attempts])) == 1

    async def spend(self, jti: str) -> bool:
        """True for exactly one caller: the one whose DEL removed the token."""
        return bool(await self.redis.delete(Keys.mfa_token(jti)))


class EmailCodeStore:
    """One live e-mailed code per user and purpose: a new one replaces the old."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._check = redis.register_script(_CHECK_CODE)

    async def put(self, user_id: str, purpose: str, digest: str, *, expires: float,
                  ttl: int) -> None:
        key = Keys.email_code(user_id, purpose)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping={"digest": digest, "expires": expires, "attempts": 0})
        pipe.expire(key, ttl + 60)
        await pipe.execute()

    async def check(self, user_id: str, purpose: str, digest: str, *, now: float,
                    max_attempts: int) -> CodeCheck:
        result = await self._check(keys=[Keys.email_code(user_id, purpose)],
                                   args=[digest, now, max_attempts])
        return CodeCheck(int(result))


class PendingSecrets:
    """A TOTP secret (encrypted) between set-up and its confirmation."""

    def __init__(self, redis: Redis, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl

    async def put(self, user_id: str, sealed: str) -> None:
        await self.redis.set(Keys.totp_pending(user_id), sealed, ex=self.ttl)

    async def get(self, user_id: str) -> str | None:
        raw = cast("bytes | None", await self.redis.get(Keys.totp_pending(user_id)))
        return raw.decode() if raw else None

    async def drop(self, user_id: str) -> None:
        await self.redis.delete(Keys.totp_pending(user_id))
