"""A client that hangs up while sending its body (a load generator stopping, a killed app) is
nobody's error: no 500, no "Exception in ASGI application" trace in the log, on the API (`/token`,
a FastAPI route) and on the hot path (`/introspect`, the bare ASGI endpoint)."""

from __future__ import annotations

import logging
from typing import Any

import pytest


async def send_then_hang_up(app: Any, path: str) -> list[dict[str, Any]]:
    """POST half a form body to `path`, then disconnect; what the app sent back."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"authsvc.test"), (b"content-length", b"64"),
                    (b"content-type", b"application/x-www-form-urlencoded")],
    }
    messages = [{"type": "http.request", "body": b"grant_type=client_cre", "more_body": True},
                {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # raises if the disconnect escapes the app
    return sent


@pytest.mark.parametrize("path", ["/token", "/introspect"])
async def test_a_client_gone_mid_body_is_no_server_error(
    app: Any, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        sent = await send_then_hang_up(app, path)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert starts and all(m["status"] < 500 for m in starts), starts
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
