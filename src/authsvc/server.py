"""The HTTP protocol `authsvc serve` runs: uvicorn's httptools protocol with the two limits it
lacks (uvicorn 0.3x-0.5x: `h11_max_incomplete_event_size` exists for h11 only, and the
keep-alive timer is cancelled by the first byte of a request, so a partial request head stays
open forever).

- `AUTHSVC_MAX_HEADER_BYTES`: a request line plus headers longer than this is answered 431
  (RFC 6585 §5) and the connection closed, *before* the parser sees the excess: httptools
  gathers a header in pieces, so a 64 MB header cost seconds of CPU.
- `AUTHSVC_HEADER_TIMEOUT`: a request head (or a new connection's first one) not complete
  within this many seconds of its first byte ends the connection (slowloris), with 408 if any
  of it arrived. The time does not restart with each byte.

Request bodies are not counted here (RequestContext bounds them, 413), and httptools stays:
it is what makes the hot path fast (h11 costs about a third more CPU a request).
"""

from __future__ import annotations

import asyncio
import json
from functools import lru_cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@lru_cache(maxsize=1)
def limits() -> tuple[int, float]:
    """(max head bytes, head timeout) from the settings; read once in each worker."""
    from authsvc.config import load_settings

    settings = load_settings()
    return settings.max_header_bytes, settings.header_timeout


def _response(status: int, reason: str, code: str, description: str) -> bytes:
    body = json.dumps({"error": code, "error_description": description}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\ncache-control: no-store\r\n"
            "connection: close\r\n\r\n")
    return head.encode("ascii") + body


TOO_LARGE = _response(431, "Request Header Fields Too Large", "request_header_too_large",
                      "The request line and headers are too large.")
TIMED_OUT = _response(408, "Request Timeout", "request_timeout",
                      "The request headers did not arrive in time.")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """httptools with a bound on the request head's size and on the time it may take."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head, self.head_timeout = limits()
        self._in_head = True  # the next bytes belong to a request head
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_seen = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that sends nothing at all is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            super().data_received(data)
            return
        self._head_seen = self._head_seen or bool(data)
        if self._head_timer is None:
            self._arm()
        room = self.max_head - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        # Feed only what the head may still take: if it ends in there, the rest is body (or
        # the next pipelined request); if not, the head is too large.
        if room > 0:
            self._head_bytes += room
            super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self._in_head:
            self._refuse(TOO_LARGE)
            return
        self.data_received(data[room:])

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        self._head_seen = False
        super().on_message_complete()

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm()  # the previous request is still being answered: count from then
            return
        if self._head_seen:
            self._refuse(TIMED_OUT)
        else:
            self.transport.close()

    def _refuse(self, response: bytes) -> None:
        self._disarm()
        self.transport.write(response)
        self.transport.close()
