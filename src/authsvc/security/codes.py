"""Random codes and tokens: recovery codes, e-mailed numeric codes, reset/verify link tokens.

Everything random comes from `secrets`; every comparison is constant time; only digests of
codes and tokens are stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = [
    "RECOVERY_ALPHABET",
    "codes_equal",
    "hash_code",
    "new_numeric_code",
    "new_recovery_codes",
    "new_token",
    "normalize_recovery_code",
    "token_digest",
]

# Crockford's base32 in lower case: no i, l, o, u, so nothing reads as 1, 0 or another letter.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_GROUPS = 3
_GROUP_LENGTH = 4  # 3 × 4 characters × 5 bits = 60 bits per code
_MIN_TOKEN_BYTES = 16


def new_recovery_codes(n: int) -> list[str]:
    """`n` distinct recovery codes like `"7k3m-q9xd-2hvw"`, 60 random bits each."""
    if n < 1:
        raise ValueError("n must be >= 1")
    codes: set[str] = set()
    while len(codes) < n:
        codes.add(_recovery_code())
    return list(codes)


def _recovery_code() -> str:
    return "-".join(
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(_GROUP_LENGTH))
        for _ in range(_GROUPS)
    )


def normalize_recovery_code(code: str) -> str:
    """The canonical form of a typed code: lower case, no dashes, no whitespace (idempotent)."""
    return "".join(code.split()).replace("-", "").lower()


def hash_code(code: str, *, key: bytes) -> str:
    """HMAC-SHA256 hex of the normalized code under a server-side key.

    A fast keyed hash suffices because recovery codes carry 60 random bits: unlike passwords,
    they cannot be guessed from a dictionary, so a slow hash (bcrypt, Argon2) buys nothing, and
    the key means a leaked table alone cannot even be brute-forced offline. Being deterministic,
    the digest can be looked up directly.
    """
    if not key:
        raise ValueError("a key is required")
    message = normalize_recovery_code(code).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def new_numeric_code(digits: int = 6) -> str:
    """A uniformly random, zero-padded code of `digits` digits (e-mail one-time codes)."""
    if digits < 1:
        raise ValueError("digits must be >= 1")
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def codes_equal(a: str, b: str) -> bool:
    """Constant-time equality, so response times reveal nothing about a partial match."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token for reset and verification links (256 bits by default)."""
    if nbytes < _MIN_TOKEN_BYTES:
        raise ValueError(f"nbytes must be >= {_MIN_TOKEN_BYTES}")
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """SHA-256 hex of a token: store this, never the token, so a DB leak grants no links.

    Unkeyed is enough: tokens carry >= 128 random bits, so the digest cannot be inverted.
    """
    return hashlib.sha256(token.encode()).hexdigest()
