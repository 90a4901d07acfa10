"""Opaque cursors for keyset paging: clients pass back what they were given, nothing more."""

from __future__ import annotations

import base64
import binascii

from authsvc.errors import AuthError

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class InvalidCursor(AuthError):
    status = 422
    code = "invalid_request"
    description = "The cursor is not one this service gave out."


def encode_cursor(kind: str, position: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).rstrip(b"=").decode()


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    """The position inside a cursor of this `kind`, None for no cursor, else InvalidCursor."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor() from None
    prefix, sep, position = raw.partition(":")
    if prefix != kind or not sep or not position:
        raise InvalidCursor()
    return position


def page_body(items: list[dict], next_cursor: str | None) -> dict:  # type: ignore[type-arg]
    return {"items": items, "next_cursor": next_cursor}
