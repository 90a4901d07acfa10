"""This process's end of the revocation feed: one Redis subscription fanned out to every open
GET /revocations/stream.

A stream is only worth anything while this subscription is live: a message published while it
was down is lost here. So a lost or re-made subscription closes every open stream (their
clients drop their caches and reconnect with `Last-Event-ID`, replayed from the feed's log),
and no stream opens until the subscription is live again. Closing the hub (shutdown) ends every
stream at once, so a server stopping does not wait on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import weakref
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from authsvc.kv import invalidation_channel
from authsvc.tokens.feed import parse_message

log = logging.getLogger("authsvc.revocations.stream")

CLOSED = None  # put on a listener's queue: its stream must end
QUEUE_SIZE = 1000  # a stream this far behind is closed (its client resets), never left stale


class Listener:
    """One open stream's queue of (seq, event JSON)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue(QUEUE_SIZE + 1)

    def offer(self, item: tuple[int, bytes] | None) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            pass
        if item is not None and self.queue.qsize() >= QUEUE_SIZE:
            self.close()

    def close(self) -> None:
        while True:  # make room: the close must get through
            try:
                self.queue.put_nowait(CLOSED)
                return
            except asyncio.QueueFull:
                self.queue.get_nowait()


class RevocationHub:
    def __init__(self, redis: Redis, max_listeners: int = 1000) -> None:
        self.redis = redis
        self.max_listeners = max_listeners
        # Weak: a stream whose response never started (client gone) must not stay listed.
        self.listeners: weakref.WeakSet[Listener] = weakref.WeakSet()
        self.closing = False
        self._live = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None

    @property
    def live(self) -> bool:
        connection = self._connection
        return self._live.is_set() and connection is not None and connection.is_connected

    async def open(self, wait: float) -> Listener | None:
        """A listener fed from now on, or None (closing, full, or not subscribed in time)."""
        if self.closing or len(self.listeners) >= self.max_listeners:
            return None
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="authsvc-revocation-hub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._live.wait(), wait)
        if not self.live or self.closing:
            return None
        listener = Listener()
        self.listeners.add(listener)
        return listener

    def release(self, listener: Listener) -> None:
        self.listeners.discard(listener)

    def close_all(self) -> None:
        for listener in list(self.listeners):
            listener.close()

    def shutdown(self) -> None:
        """Stop now: every stream ends, no new one opens. Safe to call more than once."""
        self.closing = True
        self.close_all()

    async def stop(self) -> None:
        self.shutdown()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, timeout=2.0)
            self._task = None

    def _lost(self) -> None:
        self._live.clear()
        self.close_all()

    def _reconnected(self, connection: Any) -> None:
        self._lost()  # redis-py re-made the connection quietly: messages may be lost

    def _deliver(self, data: bytes) -> None:
        parsed = parse_message(data)
        if parsed is not None:
            for listener in list(self.listeners):
                listener.offer(parsed)

    async def _listen(self) -> None:
        delay = 0.1
        while not self.closing:
            pubsub = None
            try:
                pubsub = self.redis.pubsub()
                await pubsub.subscribe(invalidation_channel(self.redis))
                self._connection = pubsub.connection
                self._connection.register_connect_callback(self._reconnected)
                async for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        self._live.set()
                        delay = 0.1
                    elif message["type"] == "message":
                        self._deliver(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: streams end until resubscribed
                log.warning("revocation stream unsubscribed: %s", type(exc).__name__)
            finally:
                self._connection = None
                self._lost()
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        # redis-py leaves PubSub.aclose unannotated.
                        close = pubsub.aclose()  # type: ignore[no-untyped-call]
                        await asyncio.wait_for(close, timeout=1.0)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def stop_streams_on_signals(hub: RevocationHub) -> Callable[[], None]:
    """End every stream as soon as the server is told to stop (SIGTERM, SIGINT).

    uvicorn waits for open responses before it runs the lifespan's shutdown, and a stream never
    ends by itself: without this a stopping server would wait out its graceful timeout. The
    server's own handlers still run (chained). Returns the function that restores them."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(hub.shutdown)
        chained = previous.get(signum)
        if callable(chained):
            chained(signum, frame)

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, old)

    return restore
