"""Recent authentication before a factor is added (CONTRACT "Accounts"; ASVS 5.0 §7.5.1; OWASP
Authentication Cheat Sheet, "re-authentication"): a stolen access token or an unattended session
must not be enough to take an account over by enrolling a factor of the thief's. Recent means:
the sign-in (`auth_time`) within `AUTHSVC_REAUTH_WINDOW`, or a step-up (`amr` with `mfa`) within
`AUTHSVC_STEP_UP_WINDOW`; otherwise the current password, checked as a login attempt
(identity/account.py `check_current_password`: the username's or device token's lockout and the
per-account limit). One rule for TOTP, e-mail codes and passkeys, API (deps `RecentAuth`) and
pages alike."""

from __future__ import annotations

import time
from typing import Any

from authsvc.caller import Caller
from authsvc.config import Settings
from authsvc.errors import AuthError
from authsvc.identity.account import WrongCurrentPassword, check_current_password
from authsvc.identity.login import PasswordLogin
from authsvc.identity.models import User


class ReauthenticationRequired(AuthError):
    status = 403
    code = "reauthentication_required"
    description = ("Adding a factor needs a recent sign-in: send \"current_password\", or sign "
                   "in again.")


def is_recent(settings: Settings, auth_time: float, amr: list[str],
              now: float | None = None) -> bool:
    """Signed in within the re-authentication window, or stepped up within the step-up one."""
    now = time.time() if now is None else now
    if auth_time >= now - settings.reauth_window:
        return True
    return "mfa" in amr and auth_time >= now - settings.step_up_window


async def require_recent_authentication(
    settings: Settings, login: PasswordLogin, user: User, *, auth_time: float,
    amr: list[str], current_password: str | None, client: Caller,
    now: float | None = None,
) -> None:
    """Pass, or ReauthenticationRequired (403), or TemporarilyLocked (429): a current password
    counts like a login attempt, and a right one clears no failures (it completes no login)."""
    if is_recent(settings, auth_time, amr, now):
        return
    if not current_password:
        raise ReauthenticationRequired()
    try:
        await check_current_password(login, user, current_password, client)
    except WrongCurrentPassword:
        raise ReauthenticationRequired("The current password is incorrect.") from None


def claims_time(claims: dict[str, Any]) -> float:
    return float(claims.get("auth_time") or 0)
