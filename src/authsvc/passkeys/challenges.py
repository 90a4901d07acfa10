"""WebAuthn challenges, kept server-side in Redis (Level 2 §13.4.3): 16 random bytes or more
from `secrets`, each living `challenge_ttl` seconds and taken by exactly one verification.

A challenge is named by the SHA-256 of its bytes, so the key can be found again from the
`challenge_id` (the challenge, base64url) or from the client data the browser signed, and the
stored record says what the challenge is for: its purpose, its user, and what it is bound to
(the mfa_token of a pending login).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass

from redis.asyncio import Redis
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from authsvc.kv import Keys

CHALLENGE_BYTES = 32
REGISTER, LOGIN, MFA, STEP_UP = "register", "login", "mfa", "step_up"


@dataclass(frozen=True, slots=True)
class Pending:
    """What one challenge was issued for."""

    purpose: str
    user_id: str = ""  # "" for a sign-in without a username (discoverable credentials)
    bind: str = ""  # the mfa_token's jti for MFA, else ""


def challenge_id(challenge: bytes) -> str:
    return bytes_to_base64url(challenge)


def challenge_bytes(value: str) -> bytes | None:
    """The challenge named by `value` (base64url), or None when it is not one of ours."""
    try:
        raw = base64url_to_bytes(value)
    except (ValueError, TypeError):
        return None
    return raw if len(raw) == CHALLENGE_BYTES else None


def _key(challenge: bytes) -> str:
    return Keys.webauthn_challenge(hashlib.sha256(challenge).hexdigest())


class ChallengeStore:
    def __init__(self, redis: Redis, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl

    async def issue(self, pending: Pending) -> bytes:
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        await self.redis.set(_key(challenge), json.dumps(asdict(pending)), ex=self.ttl)
        return challenge

    async def take(self, challenge: bytes) -> Pending | None:
        """The challenge's record, deleted in the same step: only the first caller gets it."""
        raw = await self.redis.getdel(_key(challenge))
        if raw is None:
            return None
        return Pending(**json.loads(raw))
