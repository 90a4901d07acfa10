"""The browser's cookies: the session id and the pre-session CSRF half (OWASP Session Management).

HttpOnly, SameSite=Lax, Path=/. With Secure, the `__Host-` prefix (RFC 6265bis §4.1.3.2): the
browser then refuses the cookie unless it is Secure, host-only (no Domain) and for Path=/, so a
sibling subdomain can neither read nor plant it.
"""

from __future__ import annotations

from starlette.responses import Response

SESSION = "authsvc_session"
PRE_SESSION_CSRF = "authsvc_csrf"
DEVICE = "authsvc_device"  # the device token of a complete login (OWASP device cookies)


def cookie_name(base: str, secure: bool) -> str:
    return f"__Host-{base}" if secure else base


def set_cookie(response: Response, base: str, value: str, *, secure: bool,
               max_age: int | None = None) -> None:
    response.set_cookie(
        cookie_name(base, secure), value, max_age=max_age, path="/", secure=secure,
        httponly=True, samesite="lax",
    )


def clear_cookie(response: Response, base: str, *, secure: bool) -> None:
    response.delete_cookie(
        cookie_name(base, secure), path="/", secure=secure, httponly=True, samesite="lax"
    )
