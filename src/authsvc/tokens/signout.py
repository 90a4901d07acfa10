"""Ending a user's other sessions after a change of credentials (or on request): every refresh
family and every browser session of the user, but the caller's own."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.sessions.store import SessionStore
from authsvc.tokens.service import TokenService


class SessionEnder:
    def __init__(self, tokens: TokenService, browser_sessions: SessionStore) -> None:
        self.tokens = tokens
        self.browser_sessions = browser_sessions

    async def end_others(self, session: AsyncSession, user_id: uuid.UUID, reason: str, *,
                         keep_family: str | None = None, keep_browser: str | None = None) -> None:
        await self.tokens.revoke_user_families(session, user_id, reason, keep=keep_family)
        await self.browser_sessions.destroy_for_user(str(user_id), except_sid=keep_browser)
