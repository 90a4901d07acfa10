"""CSRF tokens (OWASP CSRF Prevention Cheat Sheet).

Two kinds. Inside a session, the synchronizer token pattern: a random token kept in the
server-side session and echoed by every form (`new_csrf_token`, `csrf_matches`). Before there is
a session (the login and register forms, against login CSRF), a *signed* double-submit pair:
`PreSessionCsrf.issue()` gives a cookie value and a form token that only verify together, under
a server key, before an expiry written inside the signed cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from authsvc.security.crypto import derive_key

__all__ = ["PreSessionCsrf", "csrf_matches", "new_csrf_token"]

_TOKEN_BYTES = 32
_MAX_INPUT = 512


def new_csrf_token() -> str:
    """A fresh 256-bit synchronizer token, URL-safe text."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def csrf_matches(expected: object, given: object) -> bool:
    """True only when both are non-empty strings and equal, compared in constant time."""
    if not isinstance(expected, str) or not isinstance(given, str) or not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class PreSessionCsrf:
    """Signed double-submit tokens for forms shown before a session exists.

    The cookie is `nonce.expires.mac`, with `mac = HMAC-SHA256(k, "cookie|nonce|expires")`; the
    form token is `HMAC-SHA256(k, "form|nonce|expires")`. An attacker can neither forge a cookie
    nor derive the form token for a cookie they did not get from us. `k` is derived with HKDF
    from the key given, so the same key material can serve other purposes safely.

    Serve the cookie with the `__Host-` prefix (or at least HttpOnly, SameSite=Lax): a sibling
    subdomain that can plant cookies could otherwise plant a pair it obtained from us.
    """

    def __init__(
        self, key: bytes, *, ttl: int = 7200, clock: Callable[[], float] = time.time
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self._key = derive_key(key, "csrf/pre-session")
        self.ttl = ttl
        self.clock = clock

    def issue(self) -> tuple[str, str]:
        """A new `(cookie_value, form_token)` pair, valid for `ttl` seconds."""
        nonce = secrets.token_urlsafe(_TOKEN_BYTES)
        expires = str(int(self.clock()) + self.ttl)
        cookie = f"{nonce}.{expires}.{self._mac('cookie', nonce, expires)}"
        return cookie, self._mac("form", nonce, expires)

    def form_token(self, cookie_value: object, *, min_left: int = 600) -> str | None:
        """The form token of a cookie we issued, while it has `min_left` seconds to live; else
        None (issue a new pair). Lets several tabs share one cookie."""
        parts = self._parts(cookie_value)
        if parts is None or int(parts[1]) - self.clock() < min_left:
            return None
        return self._mac("form", parts[0], parts[1])

    def _parts(self, cookie_value: object) -> tuple[str, str] | None:
        """`(nonce, expires)` of an authentic cookie, expired or not; None otherwise."""
        if not isinstance(cookie_value, str) or len(cookie_value) > _MAX_INPUT:
            return None
        parts = cookie_value.split(".")
        if len(parts) != 3 or not (parts[1].isascii() and parts[1].isdigit()):
            return None
        nonce, expires, mac = parts
        if not csrf_matches(self._mac("cookie", nonce, expires), mac):
            return None
        return nonce, expires

    def verify(self, cookie_value: object, form_token: object) -> bool:
        """True when the cookie is ours, unexpired, and `form_token` belongs to it."""
        if not isinstance(cookie_value, str) or not isinstance(form_token, str):
            return False
        if not form_token or len(cookie_value) > _MAX_INPUT or len(form_token) > _MAX_INPUT:
            return False
        parts = cookie_value.split(".")
        if len(parts) != 3 or not (parts[1].isascii() and parts[1].isdigit()):
            return False
        nonce, expires, mac = parts
        if not csrf_matches(self._mac("cookie", nonce, expires), mac):
            return False
        if int(expires) <= self.clock():
            return False
        return csrf_matches(self._mac("form", nonce, expires), form_token)

    def _mac(self, role: str, nonce: str, expires: str) -> str:
        message = f"{role}|{nonce}|{expires}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())
