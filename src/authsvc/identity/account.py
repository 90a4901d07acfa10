"""What follows a change of credentials, once for the API, the pages and the reset flow:
every other refresh family and browser session of the user ends, and the change is audited."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.errors import AuthError
from authsvc.identity.models import User
from authsvc.identity.service import IdentityService
from authsvc.state import AppState


class WrongCurrentPassword(AuthError):
    code = "invalid_password"
    description = "The current password is incorrect."


async def end_other_sessions(
    state: AppState, session: AsyncSession, user_id: uuid.UUID, reason: str, *,
    keep_family: str | None = None, keep_browser: str | None = None,
) -> None:
    """Revoke the user's refresh families and browser sessions, but the caller's own."""
    await state.tokens.revoke_user_families(session, user_id, reason, keep=keep_family)
    await state.session_store.destroy_for_user(str(user_id), except_sid=keep_browser)


async def change_password(
    state: AppState, identity: IdentityService, session: AsyncSession, user: User,
    current: str, new: str, *, keep_family: str | None = None,
    keep_browser: str | None = None, **audit: str | None,
) -> None:
    """Check the current password, set the new one (policy applies: WeakPassword), and end
    every other session. The caller has already asked for a step-up when MFA is on."""
    if not await identity.verify_current_password(user, current):
        raise WrongCurrentPassword()
    await identity.set_password(user, new)
    await end_other_sessions(state, session, user.id, "password_changed",
                             keep_family=keep_family, keep_browser=keep_browser)
    await state.audit.record("password_changed", session=session, user_id=user.id, **audit)
