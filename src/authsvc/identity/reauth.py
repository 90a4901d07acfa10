"""Re-authentication before adding a factor (ASVS 5.0 §7.5.1): a stolen access token or an
unattended session must not be enough to take an account over by enrolling a factor of the
thief's. Recent means: the sign-in (`auth_time`) within `AUTHSVC_REAUTH_WINDOW`, or a step-up
(`amr` with `mfa`) within `AUTHSVC_STEP_UP_WINDOW`; otherwise the current password, checked as a
login attempt (identity/account.py `check_current_password`). One rule for the API (deps
`RecentAuth`) and the pages."""

from __future__ import annotations

from collections.abc import Iterable

from authsvc.config import Settings
from authsvc.errors import AuthError


class ReauthenticationRequired(AuthError):
    status = 403
    code = "reauthentication_required"
    description = ("This needs a recent sign-in: send `current_password`, or sign in (or step "
                   "up) again first.")


def is_recent(auth_time: float | None, amr: Iterable[str], settings: Settings,
              now: float) -> bool:
    """True when the authentication behind a token or session is recent enough."""
    at = float(auth_time or 0)
    if at >= now - settings.reauth_window:
        return True
    return "mfa" in amr and at >= now - settings.step_up_window
