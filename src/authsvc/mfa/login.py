"""Login with a second factor: the `mfa_required` challenge after a password, and its completion
(the grant `urn:authsvc:params:oauth:grant-type:mfa`, or the hosted MFA page).

The mfa_token is a JWT of its own `typ` (never an access token), lives `mfa_token_ttl`, is
recorded in Redis at issue, spent by the first success and void after `mfa_max_attempts` wrong
codes. It carries the lockout subject of the password step (`dvc`: the id of the device token a
trusted client presented), so a wrong code counts where the password would have, and a fresh
mfa_token starts no fresh count: wrong codes add up under the username until a complete login.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from authsvc.audit.service import AuditLog
from authsvc.caller import Caller
from authsvc.errors import AuthError, InvalidCode, InvalidGrant
from authsvc.identity.login import lockout_key, lockout_subject
from authsvc.identity.models import User
from authsvc.mfa.mail import LOGIN
from authsvc.mfa.service import (
    PASSKEY_PURPOSES,
    MfaService,
    PasskeysOff,
)
from authsvc.protection.bruteforce import BruteForceProtector, Subject
from authsvc.protection.devices import DeviceTokens
from authsvc.security import jwt
from authsvc.security.binding import ClientBinding
from authsvc.security.jwt import TokenCodec, TokenError

TOKEN_INVALID = "The mfa_token is invalid, expired, spent or void."  # noqa: S105
CODE_INVALID = "The code is incorrect, expired or already used."


class MfaRequired(AuthError):
    status = 403
    code = "mfa_required"
    description = "A second factor is required to complete this login."


@dataclass(frozen=True, slots=True)
class Challenge:
    mfa_token: str
    methods: list[str]

    def error(self) -> MfaRequired:
        return MfaRequired(extra={"mfa_token": self.mfa_token, "mfa_methods": self.methods})


@dataclass(frozen=True, slots=True)
class Completed:
    user: User
    amr: list[str]  # ["mfa", <method's RFC 8176 value>]
    scope: str | None
    client_id: str | None


class MfaLogin:
    def __init__(self, mfa: MfaService, *, devices: DeviceTokens, binding: ClientBinding,
                 codec: TokenCodec) -> None:
        self.mfa = mfa
        self.settings = mfa.settings
        self.protector: BruteForceProtector = mfa.protector
        self.audit: AuditLog = mfa.audit
        self.devices = devices
        self.binding = binding
        self.codec = codec

    async def start(self, user: User, client: Caller, *, scope: str | None = None) -> Challenge:
        """The challenge for a user whose password was just verified."""
        jti = secrets.token_urlsafe(16)
        claims: dict[str, Any] = {
            "sub": str(user.id), "typ": jwt.MFA, "jti": jti,
            "exp": int(time.time()) + self.settings.mfa_token_ttl,
        }
        subject = await lockout_subject(self.protector, self.devices,
                                        lockout_key(user.email), client.device)
        extra = {"scope": scope, "cid": client.client_id,
                 "bnd": self.binding.claim(client.user_agent, client.ip),
                 "dvc": subject.value if subject.kind == "device" else None}
        claims.update({k: v for k, v in extra.items() if v})
        await self.mfa.runtime.tokens.issue(jti, self.settings.mfa_token_ttl)
        return Challenge(self.codec.encode(claims), await self.mfa.methods_of(user))

    async def send_email_code(self, mfa_token: str, client: Caller) -> int:
        """`POST /mfa/challenge` with method `email`: mail a code; returns its lifetime."""
        _claims, user = await self._open(mfa_token, client)
        if not user.email_mfa_enabled:
            raise AuthError("E-mail codes are not on for this account.", code="invalid_request")
        return await self.mfa.email.send(user, LOGIN)

    async def passkey_options(self, mfa_token: str, client: Caller) -> dict[str, Any]:
        """`POST /mfa/challenge` with method `webauthn`: request options listing the user's
        passkeys, their challenge bound to this mfa_token."""
        claims, user = await self._open(mfa_token, client)
        if self.mfa.passkeys is None:
            raise PasskeysOff()
        return await self.mfa.passkeys.factor_options(user, PASSKEY_PURPOSES["login"],
                                                      bind=claims["jti"])

    async def complete(self, mfa_token: str, method: str, code: str, client: Caller) -> Completed:
        """The user and the `amr` to add once `code` proves `method`; InvalidGrant for a wrong,
        replayed or expired code and for a spent or void token, TemporarilyLocked when locked."""
        claims, user = await self._open(mfa_token, client)
        subject = await self._subject(claims)
        try:
            amr = await self.mfa.verify_guarded(user, method, code, client, where="login",
                                                subject=subject, completes=True,
                                                bind=claims["jti"])
        except InvalidCode:
            await self._count_failure(claims, user, client)
            raise InvalidGrant(CODE_INVALID) from None
        if not await self.mfa.runtime.tokens.spend(claims["jti"]):
            raise InvalidGrant(TOKEN_INVALID)  # a concurrent completion spent it first
        return Completed(user, amr, claims.get("scope"), claims.get("cid"))

    async def _open(self, mfa_token: str, client: Caller) -> tuple[dict[str, Any], User]:
        """The token's claims and its active user, if the token is live and bound to `client`."""
        try:
            claims = self.codec.decode(mfa_token, typ=jwt.MFA)
        except TokenError:
            raise InvalidGrant(TOKEN_INVALID) from None
        if not self.binding.matches(claims.get("bnd"), client.user_agent, client.ip):
            raise InvalidGrant(TOKEN_INVALID)
        if not await self.mfa.runtime.tokens.live(claims["jti"]):
            raise InvalidGrant(TOKEN_INVALID)
        user = await self.mfa.identity.get(claims["sub"])
        if user is None or not user.is_active or not user.mfa_enabled:
            raise InvalidGrant(TOKEN_INVALID)
        return claims, user

    async def _subject(self, claims: dict[str, Any]) -> Subject | None:
        """The password step's device token, unless it has been locked since; None: decide
        again (the username, or a device token sent with this request)."""
        device = claims.get("dvc")
        if isinstance(device, str) and not await self.protector.is_locked(
                Subject.device(device)):
            return Subject.device(device)
        return None

    async def _count_failure(self, claims: dict[str, Any], user: User, client: Caller) -> None:
        if await self.mfa.runtime.tokens.failed(claims["jti"], self.settings.mfa_max_attempts):
            await self.audit.record("mfa_token_void", user_id=user.id, client_ip=client.ip)
