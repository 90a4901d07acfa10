"""The revocation feed: every revocation as a numbered event, for GET /revocations/stream.

One Lua script numbers an event, appends it to a capped Redis stream (the replay window for
`Last-Event-ID`) and publishes it on the invalidation channel every process already listens to
(`nearcache`), in one step: the order of the numbers is the order of the messages. The
sequence starts at the current time in microseconds when Redis has none (a new or emptied
Redis), so numbers never go backwards and a client that reconnects after Redis lost its data
cannot mistake new events for the ones it missed: it is told to reset.

Events name whichever of `jti`, `family`, `sid`, `sub`, `kid` apply, with a `reason`:
a logout names its `jti`, `sid` and `family`; a password change, disable or log-out-everywhere
the `sub`; a retired signing key its `kid` (`key_retired`).
"""

from __future__ import annotations

import time
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from authsvc.kv import Keys, invalidation_channel

PREFIX = b"event:"  # on Keys.invalidations, beside nearcache's plain "jti:..." messages
FIELDS = ("jti", "family", "sid", "sub", "kid")

# KEYS: sequence, log. ARGV: event JSON, log length, channel, first sequence if none.
_PUBLISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[4]) end
local seq = string.format('%d', redis.call('INCR', KEYS[1]))  -- exact: below 2^53
-- pcall: a log that cannot take this number (its counter was deleted alone) misses the event;
-- a replay across the gap then answers "reset". The revocation itself must never fail here.
redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'e', ARGV[1])
redis.call('PUBLISH', ARGV[3], 'event:' .. seq .. ':' .. ARGV[1])
return seq
"""


def _first() -> int:
    """Where a new sequence starts: now in microseconds, above any number an earlier
    (lost) sequence could have reached."""
    return int(time.time() * 1_000_000)


def event_of(reason: str, **ids: Any) -> dict[str, str]:
    """The event body: the reason and the identifiers given (None ones left out)."""
    body = {"reason": reason}
    for name in FIELDS:
        value = ids.get(name)
        if value:
            body[name] = str(value)
    return body


def parse_message(data: bytes) -> tuple[int, bytes] | None:
    """`event:<seq>:<json>` from the channel → (seq, json), or None for other messages."""
    if not data.startswith(PREFIX):
        return None
    seq, _, body = data[len(PREFIX):].partition(b":")
    try:
        return int(seq), body
    except ValueError:
        return None


class RevocationFeed:
    """Numbers and publishes revocation events; reads back the recent ones for a replay."""

    def __init__(self, redis: Redis, window: int = 10_000) -> None:
        self.redis = redis
        self.channel = invalidation_channel(redis)
        self.window = window
        self._publish = redis.register_script(_PUBLISH)

    async def publish(self, reason: str, **ids: Any) -> int:
        """Number and send one event; returns its sequence number."""
        body = orjson.dumps(event_of(reason, **ids))
        seq = await self._publish(keys=[Keys.revocation_seq, Keys.revocation_log],
                                  args=[body, self.window, self.channel, _first()])
        return int(seq)

    async def key_retired(self, kid: str) -> int:
        """A signing key was retired: tokens it signed must be checked again (reason
        `key_retired`). For the signing-key rotation to call."""
        return await self.publish("key_retired", kid=kid)

    async def current(self) -> int:
        """The last sequence number (started now if there is none yet, so that a client can
        resume from it)."""
        raw = await self.redis.get(Keys.revocation_seq)
        if raw is None:
            await self.redis.set(Keys.revocation_seq, _first(), nx=True)
            raw = await self.redis.get(Keys.revocation_seq)
        return int(raw or 0)

    async def since(self, last: int) -> list[tuple[int, bytes]] | None:
        """Every event after `last`, in order, or None when some of them are no longer held
        (past the replay window, or Redis lost them): the reader must drop everything."""
        current = await self.current()
        if last == current:
            return []
        if last > current or current - last > self.window:
            return None
        # The client answers bytes (kv.make_redis: decode_responses=False).
        entries = cast("list[tuple[bytes, dict[bytes, bytes]]]", await self.redis.xrange(
            Keys.revocation_log, min=f"{last + 1}-0", max="+", count=self.window + 1))
        events = [(int(entry_id.split(b"-")[0]), fields[b"e"]) for entry_id, fields in entries]
        expected = range(last + 1, last + 1 + len(events))
        if not events or [seq for seq, _ in events] != list(expected):
            return None
        return events
