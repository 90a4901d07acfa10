"""The JSON edge: a JSON request body is parsed once here and refused with 422 (CONTRACT.md:
validation failures outside the OAuth endpoints) when it is not JSON at all, or when any string
in it — key or value — holds a code point PostgreSQL cannot store in `text`: NUL (U+0000) or a
lone UTF-16 surrogate (U+D800..U+DFFF, which no UTF-8 encoder accepts). Nothing reaches a
service, let alone the database, in that case. The OAuth endpoints take forms (forms.py).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authsvc.errors import OAUTH_PATHS, AuthError, render, respond

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def unstorable(value: Any) -> str | None:
    """Why `value` (parsed JSON) cannot be stored, or None. Iterative: depth is no risk."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "Strings must not contain NUL (U+0000)."
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "Strings must not contain lone surrogates (U+D800 to U+DFFF)."
    return None


def _refusal(description: str) -> AuthError:
    return AuthError(description, code="invalid_request", status=422)


class JsonBodyGuard:
    """Pure ASGI: read a JSON body, check it, and hand the same bytes on to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in _BODY_METHODS
                or scope["path"] in OAUTH_PATHS or not _is_json(scope["headers"])):
            await self.app(scope, receive, send)
            return
        try:
            body = await _read(receive)
        except StarletteHTTPException as exc:  # RequestContext: a streamed body over the limit
            await respond(exc, scope)(scope, receive, send)
            return
        problem = _check(body)
        if problem is not None:
            await render(_refusal(problem))(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _check(body: bytes) -> str | None:
    if not body:
        return None  # "no body": the route's own validation says what is missing
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "The request body is not valid JSON."
    return unstorable(parsed)
