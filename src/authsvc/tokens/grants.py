"""What happens once a password is verified: MFA challenge, or a new token family."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.identity.models import User
from authsvc.state import AppState
from authsvc.tokens.service import Client


async def complete_login(
    state: AppState, session: AsyncSession, user: User, client: Client, *, scope: str | None
) -> dict[str, Any]:
    """Tokens for a user whose password was just verified (or an `mfa_required` refusal)."""
    body = await state.tokens.issue_for_user(session, user, amr=["pwd"], client=client,
                                             scope=scope)
    await state.audit.record("login_success", session=session, user_id=user.id,
                             client_ip=client.ip, method="password")
    return body
