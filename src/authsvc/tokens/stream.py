"""GET /revocations/stream: every revocation as it happens, as Server-Sent Events (HTML Living
Standard §9.2), for resource servers that cache introspection answers.

Client-authenticated like /introspect. Each revocation is `event: revoked` with `id:` its
sequence number and `data:` a JSON object with `reason` and whichever of `jti`, `family`,
`sid`, `sub`, `kid` apply. A client that reconnects with `Last-Event-ID` first gets every event
it missed while they are still in the replay window; past it (or when Redis lost them) it gets
`event: reset`: drop the whole cache. `event: ready` follows the replay: from then on the
stream is live. A comment line every keep-alive interval lets the client tell a quiet stream
from a dead one. While this process cannot hear the feed the stream closes (or answers 503).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from authsvc.deps import State
from authsvc.errors import ServiceUnavailable, is_store_outage
from authsvc.openapi import error_responses
from authsvc.tokens.feed import RevocationFeed
from authsvc.tokens.hub import CLOSED, Listener, RevocationHub

router = APIRouter(tags=["tokens"])
log = logging.getLogger("authsvc.revocations.stream")

HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
RETRY_MS = 1000


def frame(event: str, seq: int, data: bytes) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, event.encode(), data)


def last_event_id(request: Request) -> int | None | bool:
    """The client's `Last-Event-ID` as a number, None when absent, False when unusable."""
    raw = request.headers.get("last-event-id")
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 19:
        return False
    return int(raw)


async def _events(
    feed: RevocationFeed, hub: RevocationHub, listener: Listener, last: int | None | bool,
    keepalive: float,
) -> AsyncIterator[bytes]:
    try:
        yield b"retry: %d\n\n" % RETRY_MS
        async for chunk in _replay_then_live(feed, hub, listener, last, keepalive):
            yield chunk
    except Exception as exc:  # noqa: BLE001 - Redis went away: end the stream, the client resets
        if not is_store_outage(exc):
            log.exception("revocation stream failed", exc_info=exc)
    finally:
        hub.release(listener)


async def _replay_then_live(
    feed: RevocationFeed, hub: RevocationHub, listener: Listener, last: int | None | bool,
    keepalive: float,
) -> AsyncIterator[bytes]:
    seen = await feed.current()
    if last is not None:
        replay = await feed.since(last) if last is not False else None
        if replay is None:
            yield frame("reset", seen, b'{"reason":"replay_unavailable"}')
        for seq, data in replay or ():
            yield frame("revoked", seq, data)
            seen = max(seen, seq)
    yield frame("ready", seen, orjson.dumps({"seq": seen, "keepalive": keepalive}))
    while True:  # the listener was fed since before `current`: skip what was sent already
        try:
            item = await asyncio.wait_for(listener.queue.get(), keepalive)
        except TimeoutError:
            if not hub.live:
                return
            yield b": keep-alive\n\n"
            continue
        if item is CLOSED:
            return
        seq, data = item
        if seq > seen:
            seen = seq
            yield frame("revoked", seq, data)


STREAM_RESPONSES = {
    200: {"description": "Server-Sent Events: `revoked`, `reset`, `ready`, keep-alive comments",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}},
    **error_responses(401, 503),
}


@router.get("/revocations/stream", responses=STREAM_RESPONSES, response_class=StreamingResponse)
async def revocation_stream(request: Request, state: State) -> Response:
    """Server-Sent Events of every revocation (client authentication as for /introspect)."""
    view = await state.clients.authenticate(request.headers.get("authorization"), {})
    assert view is not None
    feed, hub = state.revocation_feed, state.revocation_hub
    assert feed is not None and hub is not None
    last = last_event_id(request)
    listener = await hub.open(wait=state.settings.redis_timeout)
    if listener is None:
        raise ServiceUnavailable("The revocation stream is not available right now.")
    body = _events(feed, hub, listener, last, state.settings.revocation_stream_keepalive)
    return StreamingResponse(body, media_type="text/event-stream", headers=HEADERS)
