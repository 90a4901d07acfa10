"""GET /admin/audit: the security trail, newest first, filtered, with cursor paging."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from authsvc.admin.schemas import AuditPage
from authsvc.audit.models import AuditEvent
from authsvc.audit.repository import AuditRepository
from authsvc.deps import Admin, DbSession
from authsvc.errors import AuthError
from authsvc.paging import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    InvalidCursor,
    decode_cursor,
    encode_cursor,
    page_body,
)
from authsvc.responses import NO_STORE, json_response

router = APIRouter(prefix="/admin", tags=["admin"])
AUDIT_CURSOR = "a"


def event_body(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": int(event.at.timestamp()) if event.at else None,
        "type": event.type,
        "user_id": str(event.user_id) if event.user_id else None,
        "subject": event.subject,
        "client_ip": event.client_ip,
        "details": event.details or {},
    }


def _before(cursor: str | None) -> int | None:
    position = decode_cursor(AUDIT_CURSOR, cursor)
    if position is None:
        return None
    if not position.isdigit():
        raise InvalidCursor()
    return int(position)


def _user_id(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise AuthError("user_id is not a user id.", status=422) from None


@router.get("/audit", response_model=AuditPage)
async def audit_events(
    admin: Admin,
    session: DbSession,
    user_id: Annotated[str | None, Query(max_length=64)] = None,
    type: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Response:
    events = await AuditRepository(session).page(
        before=_before(cursor), limit=limit, user_id=_user_id(user_id), type=type or None
    )
    next_cursor = (
        encode_cursor(AUDIT_CURSOR, str(events[-1].id)) if len(events) == limit else None
    )
    return json_response(page_body([event_body(e) for e in events], next_cursor),
                         headers=NO_STORE)
