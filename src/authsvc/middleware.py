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
from authsvc.errors import BodyTooLarge, ServiceUnavailable, render
from authsvc.logging_setup import request_id as current_request_id

# (scope, status, seconds) after each request: metrics and the access log.
Observer = Callable[[Scope, int, float], None]
# path -> the seconds of database time the endpoint can afford (None: unbounded).
Budget = Callable[[str], float | None]

_abandoned: set[asyncio.Future[None]] = set()  # cancelled requests still cleaning up
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestContext:
    """Echo a sane `X-Request-ID` (or make one) on every response; refuse oversized bodies with
    413 before anything parses them."""

    def __init__(self, app: ASGIApp, *, max_body: int, observer: Observer | None = None,
                 budget: Budget | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.observer = observer
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = ""
        length = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                request_id = candidate if _SAFE_ID.match(candidate) else ""
            elif name == b"content-length":
                length = value
        request_id = request_id or secrets.token_hex(8)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        current_request_id.set(request_id)
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
                state["status"] = message["status"]
            await send(message)

        try:
            await self._bounded(scope, receive, send_with_id, length, state)
        finally:
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
                await _refuse(scope, receive, send_with_id)
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


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    await render(BodyTooLarge())(scope, receive, send)
