"""What happens once a password is verified: MFA challenge, or a new token family; and the
completion of an MFA login (`urn:authsvc:params:oauth:grant-type:mfa`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.identity.models import User
from authsvc.mfa.login import MfaLogin
from authsvc.mfa.service import MfaService
from authsvc.state import AppState
from authsvc.tokens.service import Client


async def complete_login(
    state: AppState, session: AsyncSession, user: User, client: Client, *, scope: str | None
) -> dict[str, Any]:
    """Tokens for a user whose password was just verified, or, when the user has MFA on,
    403 `mfa_required` carrying an `mfa_token` and the user's `mfa_methods`."""
    if user.mfa_enabled:
        challenge = await MfaLogin(MfaService.of(state, session)).start(user, client, scope=scope)
        raise challenge.error()
    body = await state.tokens.issue_for_user(session, user, amr=["pwd"], client=client,
                                             scope=scope)
    await state.audit.record("login_success", session=session, user_id=user.id,
                             client_ip=client.ip, method="password")
    return body


async def complete_mfa_login(
    state: AppState, mfa: MfaService, client: Client, *, mfa_token: str, method: str, code: str
) -> dict[str, Any]:
    """Tokens with `amr` = pwd + mfa + the method (RFC 8176) and `auth_time` now, once `code`
    proves `method`; InvalidGrant or TemporarilyLocked otherwise."""
    done = await MfaLogin(mfa).complete(mfa_token, method, code, client)
    bound = Client(client.user_agent, client.ip, done.client_id)
    body = await state.tokens.issue_for_user(mfa.session, done.user, amr=["pwd", *done.amr],
                                             client=bound, scope=done.scope)
    await state.audit.record("login_success", session=mfa.session, user_id=done.user.id,
                             client_ip=client.ip, method=f"mfa:{method}")
    return body
