"""Authorization codes and pending authorization requests, in Redis.

A code (RFC 6749 §4.1.2) is 256 random bits, stored only as its SHA-256, lives at most
AUTHSVC_AUTHORIZATION_CODE_TTL (≤ 60 s) and works once: the first exchange marks it spent in
one atomic step (a Lua script), so of N concurrent exchanges one wins. The spent code is kept a
while longer with what it issued, so that a replay revokes those tokens (RFC 6749 §4.1.2,
RFC 9700 §4.5); a replay that beats the issuing is remembered and the issuer revokes at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

from authsvc.config import Settings
from authsvc.kv import Keys

SPENT_TTL = 900  # a spent code is remembered this long, to revoke what it issued on a replay

# KEYS[1] the code. Returns nil (unknown or expired), or {first_use, grant, issued}.
_SPEND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local first = redis.call('HSETNX', KEYS[1], 'spent', '1')
if first == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], 'replayed', '1')
end
return {first, redis.call('HGET', KEYS[1], 'grant'), redis.call('HGET', KEYS[1], 'issued') or ''}
"""
# KEYS[1] the code, ARGV[1] what it issued. Returns 1 if a replay came first.
_ISSUED = """
redis.call('HSET', KEYS[1], 'issued', ARGV[1])
return redis.call('HGET', KEYS[1], 'replayed') and 1 or 0
"""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a code stands for: the validated request and the login behind it."""

    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    user_id: str
    auth_time: int
    amr: list[str]
    nonce: str | None = None


@dataclass(frozen=True, slots=True)
class Spent:
    first_use: bool
    grant: Grant
    issued: dict[str, Any] = field(default_factory=dict)  # {"sid", "jti", "exp"} of a use


def digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


class AuthorizationStore:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.code_ttl = settings.authorization_code_ttl
        self.request_ttl = settings.authorize_request_ttl

    # ------------------------------------------------------------------- codes
    async def issue(self, grant: Grant) -> str:
        code = secrets.token_urlsafe(32)
        key = Keys.authorization_code(digest(code))
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, "grant", orjson.dumps(asdict(grant)))
        pipe.expire(key, self.code_ttl)
        await pipe.execute()
        return code

    async def peek(self, code: str) -> tuple[Grant, bool] | None:
        """What the code grants and whether it was spent, without spending it."""
        if not code or len(code) > 256:
            return None
        grant, spent = await self.redis.hmget(Keys.authorization_code(digest(code)),
                                              ["grant", "spent"])
        if not grant:
            return None
        return Grant(**orjson.loads(grant)), bool(spent)

    async def spend(self, code: str) -> Spent | None:
        """Mark the code spent; what it grants, and whether this was its first use."""
        if not code or len(code) > 256:
            return None
        found = await self.redis.eval(_SPEND, 1, Keys.authorization_code(digest(code)),
                                      SPENT_TTL)
        if not found:
            return None
        first, grant, issued = found
        return Spent(int(first) == 1, Grant(**orjson.loads(grant)),
                     orjson.loads(issued) if issued else {})

    async def record_issued(self, code: str, issued: dict[str, Any]) -> bool:
        """Remember what the code's first use issued; True if a replay already happened."""
        replayed = await self.redis.eval(_ISSUED, 1, Keys.authorization_code(digest(code)),
                                         orjson.dumps(issued))
        return bool(replayed)

    # ---------------------------------------------------------------- requests
    async def save_request(self, params: dict[str, Any]) -> str:
        request_id = secrets.token_urlsafe(24)
        await self.redis.set(Keys.authorization_request(request_id), orjson.dumps(params),
                             ex=self.request_ttl)
        return request_id

    async def load_request(self, request_id: str | None) -> dict[str, Any] | None:
        if not request_id or len(request_id) > 64:
            return None
        raw = await self.redis.get(Keys.authorization_request(request_id))
        return orjson.loads(raw) if raw else None

    async def drop_request(self, request_id: str) -> None:
        await self.redis.delete(Keys.authorization_request(request_id))
