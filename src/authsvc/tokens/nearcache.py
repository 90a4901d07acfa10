"""A per-process memory of recent introspection answers, invalidated through Redis pub/sub.

Introspection must see a revocation, a disabled user or a role change at once. Redis holds that
state; asking it costs a round trip per request. This cache remembers, for at most `ttl`
seconds, that a token was found live (and the user's view), and forgets *everything* whenever
anything is revoked or any user changes: every such change is published on one channel, and
every process drops its memory when the message arrives (the process that made the change drops
its own at once, before answering). Changes are rare next to introspections, so a full drop is
cheap and leaves no room for a missed key.

The cache only answers while its subscription is known to be live: a lost connection drops it
and turns it off until it has subscribed again, so an unreachable Redis still means 503. A fill
is kept only if no invalidation arrived while it was being read (a generation counter), so an
answer read before a revocation cannot outlive it.

Each entry lives between (1 - JITTER) x ttl and ttl: an invalidation refills every hot token in
the same moment, and without the spread they would all expire in the same moment again, sending
the whole working set to Redis at once, over and over (a herd). Never longer than `ttl`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Any

from redis.asyncio import Redis

from authsvc.kv import invalidation_channel

log = logging.getLogger("authsvc.nearcache")

MAX_ENTRIES = 50_000
JITTER = 0.25  # the share of `ttl` an entry's lifetime may fall short by
_MISSING = object()


class NearCache:
    def __init__(self, redis: Redis, ttl: float, clock: Any = time.monotonic) -> None:
        self.redis = redis
        self.channel = invalidation_channel(redis)
        self.ttl = ttl
        self.clock = clock
        self.live = False  # subscribed, so invalidations reach us
        self.generation = 0
        self._entries: dict[str, tuple[float, Any]] = {}
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None  # the subscription's connection
        # (message text) -> None, for every invalidation heard; "reconnected" after a (re)connect
        # (messages may have been lost). Other per-process memories (the client cache, the
        # signing keys) are dropped by the same messages.
        self.listeners: list[Any] = []

    # ------------------------------------------------------------------ reads
    def get(self, jti: str) -> Any:
        """The remembered view (None for a client token), or `_MISSING`."""
        # The connection itself, not only our flag: redis-py retries a broken subscription
        # quietly (disconnect, reconnect) before our listener hears of any error.
        if not self.live or self._connection is None or not self._connection.is_connected:
            return _MISSING
        entry = self._entries.get(jti)
        if entry is None or entry[0] <= self.clock():
            return _MISSING
        return entry[1]

    def put(self, jti: str, view: Any, generation: int) -> None:
        """Remember a live token, unless an invalidation arrived since `generation`."""
        if not self.live or generation != self.generation or self.ttl <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        lifetime = self.ttl * (1.0 - JITTER * random.random())  # noqa: S311 - not a secret
        self._entries[jti] = (self.clock() + lifetime, view)

    # ----------------------------------------------------------- invalidation
    def forget_all(self) -> None:
        self.generation += 1
        self._entries.clear()

    async def changed(self, what: str) -> None:
        """Something revoked or a user changed: forget here now, then tell every process."""
        self.forget_all()
        await self.redis.publish(self.channel, what)

    # ------------------------------------------------------------ subscription
    def start(self) -> None:
        if (self.ttl > 0 or self.listeners) and self._task is None:
            self._task = asyncio.create_task(self._listen(), name="authsvc-nearcache")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, timeout=2.0)
            self._task = None
        self.live = False

    def _tell(self, data: Any) -> None:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        for listener in self.listeners:
            try:
                listener(text)
            except Exception:  # noqa: BLE001 - one listener's failure must not stop the others
                log.exception("invalidation listener failed")

    def _reconnected(self, connection: Any) -> None:
        self.forget_all()
        self._tell("reconnected")

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            pubsub = None
            try:
                pubsub = self.redis.pubsub()
                await pubsub.subscribe(self.channel)
                self._connection = pubsub.connection
                # Messages published while it was down are lost: every (re)connect forgets.
                self._connection.register_connect_callback(self._reconnected)
                async for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        self.forget_all()
                        self._tell("reconnected")
                        self.live = True
                        delay = 0.1
                    elif message["type"] == "message":
                        self.forget_all()
                        self._tell(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: off until subscribed again
                log.debug("introspection cache unsubscribed: %s", type(exc).__name__)
            finally:
                self.live = False
                self._connection = None
                self.forget_all()
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        # Bounded: closing a subscription can wait on an unsubscribe reply.
                        # redis-py leaves PubSub.aclose unannotated.
                        close = pubsub.aclose()  # type: ignore[no-untyped-call]
                        await asyncio.wait_for(close, timeout=1.0)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


MISSING = _MISSING
