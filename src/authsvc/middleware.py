"""Pure ASGI middleware: request ids, the body-size limit, the request's database-time budget,
and the per-request observation (metrics and the access log) — cheap on the hot path."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authsvc import db
from authsvc.background import after_response, run_after_response
from authsvc.errors import BodyTooLarge, ServiceUnavailable, render
from authsvc.headers import api_headers
from authsvc.logging_setup import request_id as current_request_id
from authsvc.logging_setup import trace_id as current_trace_id

# (scope, status, seconds) after each request: metrics and the access log.
Observer = Callable[[Scope, int, float], None]
# path -> the seconds of database time the endpoint can afford (None: unbounded).
Budget = Callable[[str], float | None]

_abandoned: set[asyncio.Future[None]] = set()  # cancelled requests still cleaning up
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# W3C Trace Context §3.2: version-traceid-parentid-flags, lower-case hex; version ff is invalid.
_TRACEPARENT = re.compile(r"^(?!ff)[0-9a-f]{2}-(?!0{32})([0-9a-f]{32})-(?!0{16})[0-9a-f]{16}"
                          r"-[0-9a-f]{2}(-.*)?$")


def trace_id_of(header: bytes | None) -> str:
    """The trace id of a valid `traceparent`, or a new random one (W3C Trace Context)."""
    if header:
        match = _TRACEPARENT.match(header.decode("latin-1"))
        if match and (header[:2] != b"00" or match.group(2) is None):
            return match.group(1)
    return secrets.token_hex(16)


class RequestContext:
    """Echo a sane `X-Request-ID` (or make one) on every response; refuse oversized bodies with
    413 before anything parses them."""

    def __init__(self, app: ASGIApp, *, max_body: int, observer: Observer | None = None,
                 budget: Budget | None = None, trusted_proxies: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_body = max_body
        self.observer = observer
        self.budget = budget
        self.trusted_proxies = trusted_proxies  # for the security headers of its own refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = ""
        length = None
        traceparent = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                request_id = candidate if _SAFE_ID.match(candidate) else ""
            elif name == b"content-length":
                length = value
            elif name == b"traceparent":
                traceparent = value
        request_id = request_id or secrets.token_hex(8)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["trace_id"] = trace = trace_id_of(traceparent)
        current_request_id.set(request_id)
        current_trace_id.set(trace)
        header = (b"x-request-id", request_id.encode())
        pending: list[Callable[[], None]] = []
        after_response.set(pending)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
                state["status"] = message["status"]
            await send(message)

        try:
            await self._bounded(scope, receive, send_with_id, length, state)
        finally:
            run_after_response(pending)  # the answer has left: start its background work
            if self.observer is not None:
                self.observer(scope, state.get("status", 500), time.perf_counter() - started)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send,
                       length: bytes | None, state: dict[str, Any]) -> None:
        """The request within its database-time budget. Past it, the client gets 503 +
        Retry-After at once, and the work still waiting on the database is cancelled in the
        background (its connection dropped, see db.transaction): closing a connection to a
        frozen server takes the driver seconds more, which no client should wait for."""
        seconds = self.budget(scope["path"]) if self.budget is not None else None
        if seconds is None:
            await self._handle(scope, receive, send, length)
            return
        db.deadline.set(time.monotonic() + seconds)
        answered = False

        async def guarded_send(message: Message) -> None:
            if not answered:
                await send(message)

        work = asyncio.ensure_future(self._handle(scope, receive, guarded_send, length))
        done, _ = await asyncio.wait({work}, timeout=seconds)
        if done or "status" in state:  # finished, or already answering: let it end
            await work
            return
        answered = True
        work.cancel()
        _abandoned.add(work)
        work.add_done_callback(_abandoned.discard)
        await render(ServiceUnavailable(retry_after=1))(scope, receive, send)
        state["status"] = 503

    async def _handle(self, scope: Scope, receive: Receive, send_with_id: Send,
                      length: bytes | None) -> None:
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                too_big = True
            if too_big:
                await _refuse(scope, receive, send_with_id, self.trusted_proxies)
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    # An HTTPException, not an AuthError: FastAPI re-raises those from its body
                    # reader (anything else it turns into a 400 "error parsing the body").
                    raise StarletteHTTPException(413, BodyTooLarge.description)
            return message

        # A body that grows past the limit while streaming (chunked) raises a 413, which the
        # app's error handler renders as `request_too_large`.
        await self.app(scope, limited_receive, send_with_id)


async def _refuse(scope: Scope, receive: Receive, send: Send,
                  trusted_proxies: tuple[str, ...]) -> None:
    """413 before anything else ran: with the security headers SecurityHeaders (inside this
    middleware) never gets to add."""
    response = render(BodyTooLarge())
    response.raw_headers.extend(api_headers(scope, trusted_proxies))
    await response(scope, receive, send)
class HeadAsGet:
    """RFC 9110 §9.3.2: HEAD answers wherever GET does, with the same status and headers and
    no body (health checks and link checkers use it). FastAPI's routes list GET only, so a
    HEAD request is routed as GET and its body is dropped on the way out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
