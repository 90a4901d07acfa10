"""Claims about the user, by scope (OpenID Connect Core 1.0 §5.4), and ID tokens (§2, §3.1.3.6).

The same function serves ID tokens and /userinfo, so both say the same about a user.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from jose.utils import calculate_at_hash

from authsvc.identity.models import User
from authsvc.security.jwt import TokenCodec

CLAIMS_SUPPORTED = ("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid",
                    "at_hash", "email", "email_verified", "name")


def user_claims(user: User, scopes: list[str] | set[str]) -> dict[str, Any]:
    """`sub`, then `email` + `email_verified` with scope email, `name` with scope profile."""
    claims: dict[str, Any] = {"sub": str(user.id)}
    if "email" in scopes:
        claims["email"] = user.email
        claims["email_verified"] = bool(user.email_verified)
    if "profile" in scopes and user.display_name:
        claims["name"] = user.display_name
    return claims


def id_token(codec: TokenCodec, *, user: User, client_id: str, alg: str, scope: str,
             auth_time: int, amr: list[str], sid: str, nonce: str | None, access_token: str,
             ttl: int) -> str:
    """An ID token for `client_id`, signed with the current `alg` key (`kid` in the header)."""
    claims: dict[str, Any] = {
        **user_claims(user, set(scope.split(" "))),
        "aud": client_id, "exp": int(time.time()) + ttl, "auth_time": auth_time,
        "amr": amr, "sid": sid,
        # Left half of SHA-256 of the access token, base64url (§3.1.3.6): for RS256 and ES256.
        "at_hash": calculate_at_hash(access_token, hashlib.sha256),
    }
    if nonce:
        claims["nonce"] = nonce
    return codec.encode_id_token(claims, alg)
