"""Password login, shared by `POST /token` and the hosted login page: one implementation of the
lockout, the progressive delay, the audit trail and the suspicious-pattern alerts."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from authsvc.audit.service import AuditLog
from authsvc.errors import AuthError, InvalidGrant
from authsvc.identity.emails import try_canonical_email
from authsvc.identity.models import User
from authsvc.identity.service import IdentityService
from authsvc.protection.bruteforce import BruteForceProtector
from authsvc.protection.patterns import StuffingDetector
from authsvc.tokens.service import Client

if TYPE_CHECKING:
    from authsvc.state import AppState

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


class PasswordLogin:
    def __init__(
        self,
        identity: IdentityService,
        protector: BruteForceProtector,
        stuffing: StuffingDetector,
        audit: AuditLog,
        *,
        require_verified_email: bool = False,
    ) -> None:
        self.identity = identity
        self.protector = protector
        self.stuffing = stuffing
        self.audit = audit
        self.require_verified_email = require_verified_email

    @classmethod
    def of(cls, state: AppState, identity: IdentityService) -> PasswordLogin:
        """The one login rule, wired from the app's state: the API, the pages and MFA alike."""
        return cls(identity, state.protector, state.stuffing, state.audit,
                   require_verified_email=state.settings.require_verified_email)

    async def verify(self, username: str, password: str, client: Client) -> User:
        """The user, or InvalidGrant / TemporarilyLocked. The attempt is reserved before bcrypt."""
        key = lockout_key(username)
        await self.protector.begin(key)
        try:
            user = await self.identity.authenticate(username, password)
        except InvalidGrant:
            await self.record_failure(key, client)
            raise
        failures = await self.protector.succeeded(key)
        if failures >= BURST:
            await self.audit.record("login_after_failures", user_id=user.id, subject=key,
                                    client_ip=client.ip, failures=failures)
        if self.require_verified_email and not user.email_verified:
            raise EmailNotVerified()
        return user

    async def record_failure(self, key: str, client: Client, *, kind: str = "password") -> None:
        """Count a failed factor (password or MFA code) toward the username's lockout."""
        failure = await self.protector.failed(key)
        await self.audit.record("login_failure", subject=key, client_ip=client.ip,
                                factor=kind, failures=failure.count)
        if failure.locked:
            await self.audit.record("lockout", subject=key, client_ip=client.ip)
        if client.ip and await self.stuffing.failed(client.ip, key):
            await self.audit.record("credential_stuffing", client_ip=client.ip)
