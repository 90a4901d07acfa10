"""Brute-force protection (the design's `BruteForceProtector`).

Failures are counted per canonical username, whether or not the account exists, so lockout
reveals nothing. An attempt is *reserved* atomically (one Lua script) before the password is
verified: of 50 parallel guesses at most `max_attempts` reach bcrypt. After each failure the next
attempt must wait a cooldown that doubles (`cooldown_base * 2^(n-1)`, capped) — answered at once
with 429 and Retry-After, never by sleeping on the server. After `max_attempts` failures within
`window` the username is locked for `lockout_duration`; while locked even the right password is
refused. Only a *complete* login clears the count (`succeeded`); a right factor that is not the
last one (an MFA user's password, a step-up code, a current password on a password change) only
gives its reserved attempt back (`release`), so wrong second factors add up across attempts.

What is counted is a `Subject`: the username (untrusted clients), a device token (a client that
presented a valid one: its failures lock only that device token, OWASP "device cookies"), or a
signed-in account (wrong current passwords, whatever the device).

All state lives in one Redis hash per username (one hash slot: atomic on a cluster too) and the
script compares timestamps passed in by the caller, so tests can move the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from authsvc.config import Settings
from authsvc.errors import TemporarilyLocked
from authsvc.kv import Keys

# KEYS[1] state hash. ARGV: now, max, window, duration, ttl.
# Returns {status, wait, count}: 0 go on, 1 locked, 2 cooling down.
_BEGIN = """
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local duration = tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'count', 'first', 'locked_until', 'next_at')
local count = tonumber(s[1]) or 0
local first = tonumber(s[2]) or now
local locked_until = tonumber(s[3]) or 0
local next_at = tonumber(s[4]) or 0
if locked_until > now then
  return {1, tostring(locked_until - now), count}
end
if locked_until > 0 or now - first > window then
  redis.call('DEL', KEYS[1])
  count = 0
  first = now
  next_at = 0
end
if next_at > now then
  return {2, tostring(next_at - now), count}
end
count = count + 1
if count > max then
  redis.call('HSET', KEYS[1], 'locked_until', now + duration)
  redis.call('EXPIRE', KEYS[1], math.ceil(duration + window))
  return {1, tostring(duration), count}
end
redis.call('HSET', KEYS[1], 'count', count, 'first', first)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return {0, '0', count}
"""

# KEYS[1] state hash. ARGV: now, max, duration, cooldown_base, cooldown_max, ttl.
# Returns {locked_now, failures}.
_FAIL = """
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local count = tonumber(redis.call('HGET', KEYS[1], 'count')) or 1
local cooldown = math.min(tonumber(ARGV[4]) * 2 ^ (count - 1), tonumber(ARGV[5]))
redis.call('HSET', KEYS[1], 'count', count, 'next_at', now + cooldown)
if redis.call('HEXISTS', KEYS[1], 'first') == 0 then
  redis.call('HSET', KEYS[1], 'first', now)
end
local locked = 0
if count >= max and (tonumber(redis.call('HGET', KEYS[1], 'locked_until')) or 0) <= now then
  redis.call('HSET', KEYS[1], 'locked_until', now + tonumber(ARGV[3]))
  locked = 1
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return {locked, count}
"""

# KEYS[1] state hash. Gives one reserved attempt back (a right factor before the last one).
_RELEASE = """
local count = tonumber(redis.call('HGET', KEYS[1], 'count')) or 0
if count > 0 and (tonumber(redis.call('HGET', KEYS[1], 'locked_until')) or 0) == 0 then
  redis.call('HSET', KEYS[1], 'count', count - 1)
end
return count
"""

# KEYS[1] state hash. Returns the failures cleared.
_RESET = """
local count = tonumber(redis.call('HGET', KEYS[1], 'count')) or 0
redis.call('DEL', KEYS[1])
return count
"""


@dataclass(frozen=True, slots=True)
class Subject:
    """What failures are counted under: a username's lockout key, a device token's id, or an
    account's id. Each kind has its own key space."""

    kind: str  # "username", "device" or "account"
    value: str

    @classmethod
    def username(cls, key: str) -> Subject:
        return cls("username", key)

    @classmethod
    def device(cls, jti: str) -> Subject:
        return cls("device", jti)

    @classmethod
    def account(cls, user_id: str) -> Subject:
        return cls("account", user_id)

    @property
    def redis_key(self) -> str:
        if self.kind == "device":
            return Keys.device_failures(self.value)
        if self.kind == "account":
            return Keys.account_failures(self.value)
        return Keys.login_failures(self.value)


def _key(subject: str | Subject) -> str:
    """A plain string is a username's lockout key (the admin unlock, the CLI, older callers)."""
    return subject.redis_key if isinstance(subject, Subject) else Keys.login_failures(subject)


@dataclass(frozen=True, slots=True)
class Failure:
    count: int
    locked: bool


class BruteForceProtector:
    def __init__(self, redis: Redis, settings: Settings,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.max_attempts = settings.lockout_max_attempts
        self.window = settings.lockout_window
        self.duration = settings.lockout_duration
        self.cooldown_base = settings.lockout_cooldown_base
        self.cooldown_max = settings.lockout_cooldown_max
        self.clock = clock
        self._ttl = int(self.window + self.duration + self.cooldown_max) + 60
        self._begin = redis.register_script(_BEGIN)
        self._fail = redis.register_script(_FAIL)
        self._reset = redis.register_script(_RESET)
        self._release = redis.register_script(_RELEASE)

    async def begin(self, username: str | Subject) -> None:
        """Reserve one attempt for `username`, or raise TemporarilyLocked with Retry-After."""
        status, wait, _count = await self._begin(
            keys=[_key(username)],
            args=[self.clock(), self.max_attempts, self.window, self.duration, self._ttl],
        )
        if int(status) == 1:
            raise TemporarilyLocked(float(wait))
        if int(status) == 2:
            raise TemporarilyLocked(
                float(wait), "Too many failed attempts; wait before trying again."
            )

    async def failed(self, username: str | Subject) -> Failure:
        locked, count = await self._fail(
            keys=[_key(username)],
            args=[self.clock(), self.max_attempts, self.duration, self.cooldown_base,
                  self.cooldown_max, self._ttl],
        )
        return Failure(count=int(count), locked=bool(int(locked)))

    async def succeeded(self, username: str | Subject) -> int:
        """A complete login: clear the count; returns how many attempts had failed before."""
        cleared = int(await self._reset(keys=[_key(username)]))
        return max(0, cleared - 1)

    async def release(self, username: str | Subject) -> None:
        """A right factor that does not complete a login: give the reserved attempt back and
        leave the failures counted (only a complete login clears them)."""
        await self._release(keys=[_key(username)])

    async def is_locked(self, subject: str | Subject) -> bool:
        locked_until = await self.redis.hget(_key(subject), "locked_until")
        if not locked_until:
            return False
        return float(locked_until) > self.clock()

    async def unlock(self, username: str | Subject) -> None:
        await self.redis.delete(_key(username))

    async def get_remaining_attempts(self, username: str | Subject) -> int:
        state = await self.redis.hmget(_key(username), "count", "locked_until")
        count = int(state[0] or 0)
        if state[1] and float(state[1]) > self.clock():
            return 0
        return max(0, self.max_attempts - count)
