"""Recent authentication before a factor is added (CONTRACT "Accounts"; OWASP Authentication
Cheat Sheet, "re-authentication"): a token or session whose `auth_time` is within
`AUTHSVC_REAUTH_WINDOW`, a recent step-up, or the current password given again (checked under
the username's lockout, like a login attempt)."""

from __future__ import annotations

import time
from typing import Any

from authsvc.errors import AuthError, InvalidGrant
from authsvc.identity.login import PasswordLogin
from authsvc.identity.models import User
from authsvc.identity.service import IdentityService
from authsvc.state import AppState
from authsvc.tokens.service import Client


class ReauthenticationRequired(AuthError):
    status = 403
    code = "reauthentication_required"
    description = ("Adding a factor needs a recent sign-in: send \"current_password\", or sign "
                   "in again.")


def is_recent(state: AppState, auth_time: float, amr: list[str], now: float | None = None) -> bool:
    """Signed in within the re-authentication window, or stepped up within the step-up one."""
    now = time.time() if now is None else now
    settings = state.settings
    if auth_time >= now - settings.reauth_window:
        return True
    return "mfa" in amr and auth_time >= now - settings.step_up_window


async def require_recent_authentication(
    state: AppState, identity: IdentityService, user: User, *, auth_time: float,
    amr: list[str], current_password: str | None, client: Client,
    now: float | None = None,
) -> None:
    """Pass, or ReauthenticationRequired; a wrong password counts toward the lockout."""
    if is_recent(state, auth_time, amr, now):
        return
    if not current_password:
        raise ReauthenticationRequired()
    try:
        await PasswordLogin.of(state, identity).verify(user.email, current_password, client)
    except InvalidGrant:
        raise ReauthenticationRequired("The current password is incorrect.") from None


def claims_time(claims: dict[str, Any]) -> float:
    return float(claims.get("auth_time") or 0)
