"""Second factors: which a user has, and checking one (RFC 6238 TOTP, e-mailed codes, recovery
codes). Shared by the MFA grant, step-up and the hosted pages; no HTTP here."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.caller import Caller
from authsvc.config import Settings
from authsvc.errors import AuthError, InvalidCode
from authsvc.identity.login import PasswordLogin, lockout_key
from authsvc.identity.models import User
from authsvc.mfa.mail import LOGIN, EmailCodes
from authsvc.mfa.repository import MfaRepository
from authsvc.mfa.runtime import MfaRuntime
from authsvc.protection.bruteforce import Subject
from authsvc.security import totp
from authsvc.security.codes import hash_code, new_recovery_codes

METHODS = ("totp", "email", "webauthn", "recovery_code")
# RFC 8176 values added to `amr` for each method (`webauthn`: `hwk` or `swk`, by the passkey).
AMR = {"totp": "otp", "email": "email", "recovery_code": "rcode"}
MAX_CODE_LENGTH = 64
# What a passkey's challenge was issued for, by the `where` of `verify_guarded`.
PASSKEY_PURPOSES = {"login": "mfa", "step_up": "step_up"}


class PasskeysOff(AuthError):
    status = 404
    code = "passkeys_disabled"
    description = "Passkeys are not enabled on this server."


class PasskeyFactor(Protocol):
    """What a second factor needs of the passkeys (passkeys/service.py PasskeyService)."""

    async def count(self, user: User) -> int: ...

    async def factor_options(self, user: User, purpose: str,
                             bind: str = "") -> dict[str, Any]: ...

    async def verify_factor(self, user: User, credential: Any, purpose: str,
                            bind: str = "") -> str: ...


class MfaService:
    """On one unit of work: the password login rule (`login`, with its identity service), the
    e-mailed codes, and the passkeys when they are on (None: off)."""

    def __init__(self, session: AsyncSession, login: PasswordLogin, runtime: MfaRuntime,
                 email: EmailCodes, settings: Settings,
                 passkeys: PasskeyFactor | None = None) -> None:
        self.session = session
        self.login = login
        self.identity = login.identity
        self.protector = login.protector
        self.audit = login.audit
        self.settings = settings
        self.runtime = runtime
        self.repo = MfaRepository(session)
        self.email = email
        self.passkeys = passkeys

    # ------------------------------------------------------------------- reading
    async def methods_of(self, user: User) -> list[str]:
        """The methods `user` can complete a login with, in the contract's order."""
        methods = [m for m, on in (("totp", user.totp_enabled),
                                   ("email", user.email_mfa_enabled)) if on]
        if methods and await self.has_passkey(user):
            methods.append("webauthn")
        if methods and await self.repo.recovery_codes_left(user.id):
            methods.append("recovery_code")
        return methods

    async def recovery_codes_left(self, user: User) -> int:
        return await self.repo.recovery_codes_left(user.id)

    async def has_passkey(self, user: User) -> bool:
        """A passkey can serve as the second factor (passkeys on and one registered)."""
        return self.passkeys is not None and await self.passkeys.count(user) > 0

    # ----------------------------------------------------------------- verifying
    async def verify_second_factor(self, user: User, method: str, code: str, *,
                                   purpose: str = "", bind: str = "") -> list[str]:
        """`["mfa", <RFC 8176 value>]` when `code` proves `method` for `user`, else InvalidCode.

        Every success spends the code: a TOTP step, an e-mailed code or a recovery code works once.
        For `webauthn`, `code` is the browser's credential JSON answering a challenge issued for
        `purpose` (and `bind`, the mfa_token of a login); it works once too.
        """
        if method == "webauthn":
            return ["mfa", await self._passkey(user, code, purpose, bind)]
        checks = {"totp": self._totp, "email": self._email, "recovery_code": self._recovery}
        check = checks.get(method)
        if check is None or not code or len(code) > MAX_CODE_LENGTH:
            raise InvalidCode()
        if not await check(user, code):
            raise InvalidCode()
        return ["mfa", AMR[method]]

    async def verify_guarded(self, user: User, method: str, code: str, client: Caller, *,
                             where: str, bind: str = "", subject: Subject | None = None,
                             completes: bool = False) -> list[str]:
        """`verify_second_factor` under the lockout: a locked subject is refused before any
        check, and a wrong code counts as a failed login attempt, whichever flow it came from
        (login, step-up, reset), so wrong codes add up to one lockout.

        `subject`: what the attempt counts under (the login's, carried by its mfa_token);
        by default the username's, or the device token's of a trusted client. Only a code
        that `completes` a login clears the failures; any other right code (step-up, reset)
        only gives its reserved attempt back."""
        login = self.login
        key = lockout_key(user.email)
        subject = subject or await login.subject(key, client)
        await self.protector.begin(subject)
        try:
            amr = await self.verify_second_factor(
                user, method, code, purpose=PASSKEY_PURPOSES.get(where, ""), bind=bind)
        except InvalidCode:
            await self.audit.record("mfa_failure", user_id=user.id, client_ip=client.ip,
                                          method=method, where=where)
            await login.record_failure(subject, client, key=key, user_id=user.id, kind="mfa")
            raise
        if completes:
            await login.cleared(subject, user, client, key=key)
        else:
            await self.protector.release(subject)
        return amr

    async def accept_totp(self, user: User, secret: str, code: str) -> bool:
        """True once per time step: Redis gates concurrent uses atomically, and the database
        copy keeps a step used even if Redis loses its keys (RFC 6238 §5.2)."""
        step = totp.match_step(secret, code, at=self.runtime.now(),
                               window=self.settings.totp_valid_window)
        if step is None or not await self.runtime.steps.advance(str(user.id), step):
            return False
        return await self.repo.advance_totp_step(user.id, step)

    async def _totp(self, user: User, code: str) -> bool:
        if not user.totp_enabled or not user.totp_secret:
            return False
        secret = self.runtime.totp_cipher.decrypt(user.totp_secret).decode()
        return await self.accept_totp(user, secret, code)

    async def _email(self, user: User, code: str) -> bool:
        return user.email_mfa_enabled and await self.email.check(user, LOGIN, code)

    async def _passkey(self, user: User, credential: str, purpose: str, bind: str) -> str:
        if not purpose or self.passkeys is None:
            raise InvalidCode()
        return await self.passkeys.verify_factor(user, credential, purpose, bind)

    async def _recovery(self, user: User, code: str) -> bool:
        if not user.mfa_enabled:
            return False
        for key in self.runtime.recovery_keys:  # the current key, then those before a rotation
            if await self.repo.use_recovery_code(user.id, hash_code(code, key=key)):
                break
        else:
            return False
        await self.identity.changed(user)  # the count GET /users/me shows (a new version)
        await self.audit.record("recovery_code_used", session=self.session, user_id=user.id,
                                left=await self.repo.recovery_codes_left(user.id))
        return True

    # ------------------------------------------------------------ recovery codes
    async def issue_recovery_codes(self, user: User) -> list[str]:
        """A fresh set, returned once in clear and stored as keyed digests; the old set is void."""
        codes = new_recovery_codes(self.settings.recovery_code_count)
        digests = [hash_code(c, key=self.runtime.recovery_key) for c in codes]
        await self.repo.replace_recovery_codes(user.id, digests)
        await self.identity.changed(user)  # the count GET /users/me shows (a new version)
        return codes
