"""The token codec: the one module that knows python-jose (swap it here and nowhere else).

HS256 only, with the algorithm pinned, and every claim we rely on required: python-jose accepts
a token without `exp` or `aud` unless told otherwise. Each token carries a `typ` so that an access
token, a refresh token and an MFA token can never stand in for each other.
"""

from __future__ import annotations

import time
from typing import Any

from jose import jwt
from jose.exceptions import ExpiredSignatureError, JWTClaimsError, JWTError

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub", "jti")

ACCESS = "access"
REFRESH = "refresh"
MFA = "mfa"


class TokenError(Exception):
    """The token is malformed, forged, of the wrong type or audience."""


class TokenExpiredError(TokenError):
    """The token was valid once and has expired."""


class TokenCodec:
    """Signs and verifies HS256 JWTs for one issuer and audience; older keys still verify."""

    def __init__(
        self, key: bytes, *, issuer: str, audience: str, leeway: int = 30,
        previous_keys: tuple[bytes, ...] = (),
    ) -> None:
        self._key = key
        self._keys = (key, *previous_keys)
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self._options = {
            "verify_signature": True,
            "verify_aud": True,
            "verify_iat": True,
            "verify_exp": True,
            "verify_nbf": True,
            "verify_iss": True,
            "verify_sub": True,
            "verify_jti": True,
            "verify_at_hash": False,
            "leeway": leeway,
            **{f"require_{claim}": True for claim in REQUIRED_CLAIMS},
        }

    def encode(self, claims: dict[str, Any]) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": self.audience, "iat": now, "nbf": now, **claims}
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def decode(self, token: str, *, typ: str) -> dict[str, Any]:
        """Verified claims of a token of type `typ`, or TokenExpiredError / TokenError."""
        if not token or len(token) > 8192 or token.count(".") != 2:
            raise TokenError("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except JWTError as exc:
            raise TokenError("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise TokenError("unexpected algorithm")
        claims = self._decode_with_any_key(token)
        if claims.get("typ") != typ:
            raise TokenError("wrong token type")
        if not isinstance(claims.get("sub"), str) or not isinstance(claims.get("jti"), str):
            raise TokenError("malformed claims")
        if not all(isinstance(claims.get(c), int) for c in ("exp", "iat", "nbf")):
            raise TokenError("malformed claims")
        return claims

    def _decode_with_any_key(self, token: str) -> dict[str, Any]:
        last: Exception | None = None
        for key in self._keys:
            try:
                return jwt.decode(
                    token, key, algorithms=[ALGORITHM], audience=self.audience,
                    issuer=self.issuer, options=self._options,
                )
            except ExpiredSignatureError as exc:
                raise TokenExpiredError("token expired") from exc
            except JWTClaimsError as exc:
                raise TokenError("invalid claims") from exc
            except (JWTError, ValueError, TypeError, KeyError) as exc:
                last = exc
        raise TokenError("bad signature or malformed token") from last
