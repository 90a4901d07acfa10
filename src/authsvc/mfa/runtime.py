"""What MFA keeps for the life of the process: its Redis stores, its keys, its clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis

from authsvc.config import Settings
from authsvc.mfa.stores import EmailCodeStore, MfaTokens, PendingSecrets, TotpSteps
from authsvc.security import totp
from authsvc.security.crypto import Encryptor, derive_key

PENDING_TOTP_TTL = 900  # seconds to scan the QR code and confirm a first code


@dataclass
class MfaRuntime:
    """Built once in `composition.build_components`; `clock` is swappable so tests can move time."""

    steps: TotpSteps
    tokens: MfaTokens
    email_codes: EmailCodeStore
    pending: PendingSecrets
    totp_cipher: Encryptor
    recovery_key: bytes
    #: recovery_key first, then the keys of AUTHSVC_ENCRYPTION_PREVIOUS_KEYS: codes issued
    #: before a key rotation still work.
    recovery_keys: tuple[bytes, ...]
    email_code_key: bytes
    clock: Callable[[], float] = field(default=time.time)

    @classmethod
    def build(cls, redis: Redis, settings: Settings) -> MfaRuntime:
        # A used step only matters while some window could still accept it; the database
        # keeps the durable copy (users.totp_last_step).
        step_ttl = (2 * settings.totp_valid_window + 2) * totp.PERIOD + 60
        return cls(
            steps=TotpSteps(redis, step_ttl),
            tokens=MfaTokens(redis),
            email_codes=EmailCodeStore(redis),
            pending=PendingSecrets(redis, PENDING_TOTP_TTL),
            totp_cipher=Encryptor.from_settings(settings, "totp"),
            recovery_key=derive_key(settings.data_key, "recovery-codes"),
            recovery_keys=tuple(derive_key(k, "recovery-codes") for k in settings.data_keys),
            email_code_key=derive_key(settings.data_key, "email-codes"),
        )

    def now(self) -> float:
        return self.clock()
