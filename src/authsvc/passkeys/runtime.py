"""What passkeys keep for the life of the process: the relying party and the challenge store."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from authsvc.config import Settings
from authsvc.passkeys.challenges import ChallengeStore
from authsvc.passkeys.relying_party import RelyingParty, relying_party


@dataclass(frozen=True, slots=True)
class PasskeyRuntime:
    rp: RelyingParty
    challenges: ChallengeStore

    @classmethod
    def build(cls, redis: Redis, settings: Settings) -> PasskeyRuntime | None:
        """None when passkeys are off (an IP issuer without AUTHSVC_WEBAUTHN_RP_ID)."""
        rp = relying_party(settings)
        if rp is None:
            return None
        return cls(rp, ChallengeStore(redis, rp.challenge_ttl))
