"""Device tokens: OWASP's "device cookies" (Authentication Cheat Sheet, "Slow down online
guessing attacks with device cookies"), so that a lockout stops guessers without shutting the
owner out.

A complete login issues a device token: a JWT of its own `typ` and audience, signed with a key
derived from the JWT secret for this purpose only, naming the user (`sub`) and a keyed digest of
the username it logged in with (`lgn`), expiring after `AUTHSVC_DEVICE_TOKEN_TTL`. A later login
attempt that presents a valid one *for the username it tries* is a trusted client: a lock of
the username (caused by others) does not stop it, and its own failures count against that device
token only. Anything else (no token, forged, expired, another user's, or a device token that is
itself locked) is an untrusted client, counted under the username as before.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from authsvc.security.crypto import derive_key
from authsvc.security.jwt import TokenCodec, TokenError

if TYPE_CHECKING:
    from authsvc.config import Settings

DEVICE = "device"
MAX_DEVICE_TOKEN = 2048


@dataclass(frozen=True, slots=True)
class DeviceToken:
    token: str
    jti: str
    expires_in: int


class DeviceTokens:
    def __init__(self, codec: TokenCodec, login_key: bytes, ttl: int) -> None:
        self.codec = codec
        self._login_key = login_key
        self.ttl = ttl

    @classmethod
    def from_settings(cls, settings: Settings) -> DeviceTokens:
        """Own key (HKDF of each JWT secret, current first) and own audience: a device token is
        never an access token, and an access token never a device token."""
        previous = tuple(derive_key(s.get_secret_value().encode(), "device-tokens")
                         for s in settings.jwt_previous_secrets if s.get_secret_value())
        codec = TokenCodec(derive_key(settings.jwt_key, "device-tokens"),
                           issuer=settings.issuer, audience=f"{settings.issuer}#device",
                           leeway=0, previous_keys=previous)
        return cls(codec, derive_key(settings.data_key, "device-login"),
                   settings.device_token_ttl)

    def login_digest(self, username_key: str) -> str:
        return hmac.new(self._login_key, username_key.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, user_id: str, username_key: str) -> DeviceToken:
        jti = secrets.token_urlsafe(16)
        claims = {"typ": DEVICE, "sub": user_id, "jti": jti, "lgn": self.login_digest(username_key),
                  "exp": int(time.time()) + self.ttl}
        return DeviceToken(self.codec.encode(claims), jti, self.ttl)

    def open(self, token: str | None, username_key: str) -> str | None:
        """The device token's id when `token` is valid and was issued for `username_key`."""
        if not token or len(token) > MAX_DEVICE_TOKEN:
            return None
        try:
            claims = self.codec.decode(token, typ=DEVICE)
        except TokenError:
            return None
        login = claims.get("lgn")
        if not isinstance(login, str) or not hmac.compare_digest(
                login, self.login_digest(username_key)):
            return None
        return str(claims["jti"])
