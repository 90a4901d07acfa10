"""Password login, shared by `POST /token` and the hosted login page: one implementation of the
lockout, the progressive delay, the audit trail and the suspicious-pattern alerts.

What a failure counts under is the attempt's *lockout subject* (`lockout_subject`): the username
for an untrusted client, or the device token of a trusted one (OWASP device cookies,
protection/devices.py). Only a complete login clears the count: for a user with MFA on, the right
password only gives its reserved attempt back, and the second factor (mfa/service.py) finishes.
"""

from __future__ import annotations

import unicodedata
import uuid
from typing import Any

from authsvc.audit.service import AuditLog
from authsvc.caller import Caller
from authsvc.errors import AuthError, InvalidGrant
from authsvc.identity.emails import try_canonical_email
from authsvc.identity.models import User
from authsvc.identity.service import BadCredentials, IdentityService
from authsvc.protection.bruteforce import BruteForceProtector, Subject
from authsvc.protection.devices import DeviceToken, DeviceTokens
from authsvc.protection.patterns import StuffingDetector

BURST = 3  # a success after this many failures is worth a look


class EmailNotVerified(AuthError):
    status = 403
    code = "email_not_verified"
    description = "Verify your e-mail address before signing in."


def lockout_key(username: str) -> str:
    """The name failures are counted under: the canonical e-mail, or for input that is not an
    address, its normalized lower-case form (so junk usernames lock like real ones)."""
    canonical = try_canonical_email(username)
    if canonical:
        return canonical
    return unicodedata.normalize("NFKC", username).strip().lower()[:320]


async def lockout_subject(protector: BruteForceProtector, devices: DeviceTokens,
                          username_key: str, device_token: str | None) -> Subject:
    """The device token's own subject when `device_token` is valid for this username and not
    itself locked (a trusted client); otherwise the username (OWASP device cookies)."""
    jti = devices.open(device_token, username_key)
    if jti is not None:
        device = Subject.device(jti)
        if not await protector.is_locked(device):
            return device
    return Subject.username(username_key)


class PasswordLogin:
    def __init__(
        self,
        identity: IdentityService,
        protector: BruteForceProtector,
        stuffing: StuffingDetector,
        audit: AuditLog,
        devices: DeviceTokens,
        *,
        require_verified_email: bool = False,
    ) -> None:
        self.identity = identity
        self.protector = protector
        self.stuffing = stuffing
        self.audit = audit
        self.devices = devices
        self.require_verified_email = require_verified_email

    async def subject(self, username_key: str, client: Caller) -> Subject:
        subject = await lockout_subject(self.protector, self.devices, username_key, client.device)
        if client.device and subject.kind != "device":
            await self.audit.record("device_token_untrusted", client_ip=client.ip,
                                    subject=self.audit.digest(username_key))
        return subject

    async def verify(self, username: str, password: str, client: Caller) -> User:
        """The user, or InvalidGrant / TemporarilyLocked. The attempt is reserved before bcrypt.

        A user without MFA has logged in completely: the failures are cleared. A user with MFA
        has not yet: the reserved attempt is given back, the failures stay until the second
        factor is right too."""
        key = lockout_key(username)
        subject = await self.subject(key, client)
        await self.protector.begin(subject)
        try:
            user = await self.identity.authenticate(username, password)
        except BadCredentials as exc:
            await self.record_failure(subject, client, key=key, user_id=exc.user_id)
            raise
        if user.mfa_enabled:
            await self.protector.release(subject)
        else:
            await self.cleared(subject, user, client, key=key)
        if self.require_verified_email and not user.email_verified:
            raise EmailNotVerified()
        return user

    async def new_device_token(self, user: User, client: Caller) -> DeviceToken:
        """A complete login's device token (audited with the login's transaction)."""
        issued = self.devices.issue(str(user.id), lockout_key(user.email))
        await self.audit.record("device_token_issued", session=self.identity.session,
                                user_id=user.id, client_ip=client.ip, device=issued.jti[:8],
                                renewed=bool(client.device))
        return issued

    async def cleared(self, subject: Subject, user: User, client: Caller, *, key: str) -> None:
        """A complete login: the subject's failures are cleared (audited after a burst)."""
        failures = await self.protector.succeeded(subject)
        if failures >= BURST:
            await self.audit.record("login_after_failures", user_id=user.id, subject=key,
                                    client_ip=client.ip, failures=failures,
                                    device=subject.kind == "device")

    async def record_failure(self, subject: Subject, client: Caller, *, key: str,
                             user_id: uuid.UUID | None = None, kind: str = "password") -> None:
        """Count a failed factor (password, MFA code, current password) toward the subject's
        lockout. A typed username that names no account is audited only as a keyed digest."""
        failure = await self.protector.failed(subject)
        shown = key if user_id else self.audit.digest(key)
        where: dict[str, Any] = {"device": True} if subject.kind == "device" else {}
        await self.audit.record("login_failure", subject=shown, user_id=user_id,
                                client_ip=client.ip, factor=kind, failures=failure.count, **where)
        if failure.locked:
            await self.audit.record("lockout", subject=shown, user_id=user_id,
                                    client_ip=client.ip, **where)
        if client.ip and subject.kind == "username" and await self.stuffing.failed(client.ip, key):
            await self.audit.record("credential_stuffing", client_ip=client.ip)


__all__ = ["BURST", "EmailNotVerified", "InvalidGrant", "PasswordLogin", "lockout_key",
           "lockout_subject"]
