"""Turning factors on and off: TOTP set-up with a QR code, e-mail MFA, new recovery codes.

Every change to a user goes through `IdentityService.changed` (cache write-through) and leaves
an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass

from authsvc.errors import AuthError, Conflict, InvalidCode
from authsvc.identity.models import User
from authsvc.mfa.mail import ENROL
from authsvc.mfa.service import MfaService
from authsvc.security import totp


class NoPendingSetup(AuthError):
    code = "mfa_setup_required"
    description = "Start the TOTP set-up first (POST /mfa/totp/setup); it lasts 15 minutes."


def already_on(method: str) -> Conflict:
    return Conflict(f"{method} is already on for this account.", code="mfa_already_enabled")


@dataclass(frozen=True, slots=True)
class TotpSetup:
    secret: str
    otpauth_uri: str
    qr_svg: str


class Enrolment:
    def __init__(self, mfa: MfaService) -> None:
        self.mfa = mfa
        self.runtime = mfa.runtime
        self.audit = mfa.audit

    # ---------------------------------------------------------------------- TOTP
    async def totp_setup(self, user: User) -> TotpSetup:
        """A new secret, kept encrypted and pending until a first code confirms it."""
        if user.totp_enabled:
            raise already_on("TOTP")
        secret = totp.new_secret()
        await self.runtime.pending.put(str(user.id), self.runtime.totp_cipher.encrypt(
            secret.encode()))
        uri = self._uri(user, secret)
        return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))

    async def pending_setup(self, user: User) -> TotpSetup | None:
        """The set-up in progress, to show it again (hosted pages), or None."""
        if user.totp_enabled or await self.runtime.pending.get(str(user.id)) is None:
            return None
        secret = await self._pending(user)
        uri = self._uri(user, secret)
        return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))

    async def totp_qr_png(self, user: User) -> bytes:
        """The pending set-up's QR code; an enabled secret is never shown again."""
        return totp.qr_png(self._uri(user, await self._pending(user)))

    async def totp_confirm(self, user: User, code: str) -> list[str]:
        """Turn TOTP on with a first code; returns a fresh set of recovery codes (shown once)."""
        if user.totp_enabled:
            raise already_on("TOTP")
        secret = await self._pending(user)
        if not await self.mfa.accept_totp(user, secret, code):
            raise InvalidCode()
        user.totp_secret = self.runtime.totp_cipher.encrypt(secret.encode())
        user.totp_enabled = True
        await self.mfa.identity.changed(user)
        await self.runtime.pending.drop(str(user.id))
        codes = await self.mfa.issue_recovery_codes(user)
        await self.audit.record("mfa_enabled", session=self.mfa.session, user_id=user.id,
                                method="totp")
        return codes

    async def totp_disable(self, user: User) -> None:
        if not user.totp_enabled:
            return
        user.totp_enabled = False
        user.totp_secret = None
        await self._after_disable(user, "totp")

    # -------------------------------------------------------------------- e-mail
    async def email_enable(self, user: User) -> int:
        """Mail a code that proves the mailbox; returns its lifetime in seconds."""
        if user.email_mfa_enabled:
            raise already_on("E-mail MFA")
        return await self.mfa.email.send(user, ENROL)

    async def email_confirm(self, user: User, code: str) -> None:
        if user.email_mfa_enabled:
            raise already_on("E-mail MFA")
        if len(code) > 64 or not await self.mfa.email.check(user, ENROL, code):
            raise InvalidCode()
        user.email_mfa_enabled = True
        await self.mfa.identity.changed(user)
        await self.audit.record("mfa_enabled", session=self.mfa.session, user_id=user.id,
                                method="email")

    async def email_disable(self, user: User) -> None:
        if not user.email_mfa_enabled:
            return
        user.email_mfa_enabled = False
        await self._after_disable(user, "email")

    # ------------------------------------------------------------ recovery codes
    async def regenerate_recovery_codes(self, user: User) -> list[str]:
        if not user.mfa_enabled:
            raise AuthError("Turn on a second factor first.", code="mfa_not_enabled")
        codes = await self.mfa.issue_recovery_codes(user)
        await self.audit.record("recovery_codes_regenerated", session=self.mfa.session,
                                user_id=user.id)
        return codes

    # ----------------------------------------------------------------- internals
    async def _after_disable(self, user: User, method: str) -> None:
        await self.mfa.identity.changed(user)
        if not user.mfa_enabled:  # recovery codes without a factor would be a factor of their own
            await self.mfa.repo.drop_recovery_codes(user.id)
        await self.audit.record("mfa_disabled", session=self.mfa.session, user_id=user.id,
                                method=method)

    async def _pending(self, user: User) -> str:
        sealed = await self.runtime.pending.get(str(user.id))
        if sealed is None:
            raise NoPendingSetup()
        return self.runtime.totp_cipher.decrypt(sealed).decode()

    def _uri(self, user: User, secret: str) -> str:
        return totp.provisioning_uri(secret, user.email, self.mfa.settings.totp_issuer)
