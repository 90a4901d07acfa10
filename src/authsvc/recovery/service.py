"""Account recovery and e-mail verification: the one implementation behind the API and the pages.

A reset or verification mail carries a link token (256 random bits, stored as its SHA-256) and a
short code (stored as a keyed digest) that can stand in for the link when typed with the e-mail
address. Both are single use and share one row: spending either spends the token.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.audit.service import AuditLog
from authsvc.background import Background
from authsvc.caller import Caller
from authsvc.config import Settings
from authsvc.courier import Courier, MessageFactory
from authsvc.db import after_commit, independent, utcnow
from authsvc.errors import AuthError, Conflict, TooManyRequests
from authsvc.identity.account import SessionEnder
from authsvc.identity.emails import require_email, try_canonical_email
from authsvc.identity.login import lockout_key
from authsvc.identity.models import User
from authsvc.kv import Keys
from authsvc.mfa.service import MfaService
from authsvc.protection.bruteforce import BruteForceProtector
from authsvc.protection.ratelimit import Rate, RateLimiter
from authsvc.recovery.models import ActionToken
from authsvc.recovery.repository import RESET, VERIFY, ActionTokenRepository
from authsvc.security.codes import codes_equal, hash_code, new_numeric_code, new_token, token_digest
from authsvc.security.crypto import derive_key

__all__ = ["InvalidActionToken", "MfaRequiredForReset", "RecoveryService"]

CODE_DIGITS = 8
MAX_CODE_TRIES = 5  # wrong typed codes before the token behind them is void


class InvalidActionToken(AuthError):
    """Used, expired, voided and unknown tokens alike: the answer tells them apart for nobody."""

    code = "invalid_token"
    description = "The link or code is invalid, expired or already used."


class MfaRequiredForReset(AuthError):
    code = "mfa_required"
    description = "This account has a second factor: send `method` and `code` with the reset."

    def __init__(self, methods: list[str]) -> None:
        super().__init__(extra={"mfa_methods": methods})


@dataclass(frozen=True, slots=True)
class RecoveryDependencies:
    """What recovery uses beyond its unit of work (Kratos' handler `dependencies`)."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]  # for the voiding that outlives a rollback
    redis: Redis
    tasks: Background  # work no answer waits for
    messages: MessageFactory
    courier: Courier
    limiter: RateLimiter
    rates: dict[str, Rate]
    audit: AuditLog
    protector: BruteForceProtector
    ender: SessionEnder


class RecoveryService:
    """On one unit of work: MFA (with its identity service) and `reset_later`, which runs
    `send_reset` for an address in a unit of work of its own once the answer has left."""

    def __init__(self, session: AsyncSession, mfa: MfaService, deps: RecoveryDependencies,
                 reset_later: Callable[[str], Coroutine[Any, Any, None]]) -> None:
        self.session = session
        self.mfa = mfa
        self.deps = deps
        self.settings = deps.settings
        self.identity = mfa.identity
        self.reset_later = reset_later
        self.tokens = ActionTokenRepository(session)
        self._code_key = derive_key(self.settings.data_key, "action-codes")

    # ------------------------------------------------------------- forgot password
    async def request_reset(self, email: str) -> None:
        """Mail a reset link and code to an active account; for anything else send nothing.
        The caller answers 202 either way.

        The answer must not tell whether the address has an account, by its body or by its
        time: the request itself does the same work for every address (a syntax check, then
        handing the address over), and everything that depends on the account (the per-address
        budget, the lookup, the token, the mail) starts once the answer has been sent, in the
        background, in a transaction of its own. A mail outbox would be written there too.
        Raises EmailRefused (422) for an address we never accept; a database that cannot answer
        is 503 (for every address alike), not a 202 for a mail that would never leave."""
        canonical = require_email(email)
        await self.identity.users.reachable()
        self.deps.tasks.spawn_after_response(self.reset_later(canonical),
                                             "authsvc.recovery.reset")

    async def send_reset(self, canonical: str) -> None:
        """The account-dependent half of `request_reset` (on this service's own session)."""
        under_limit = await self._account_budget(canonical)
        user = await self.identity.users.get_by_email(canonical)
        if user is None or not user.is_active or not under_limit:
            return
        link_token, code = await self._issue(user, RESET, self.settings.reset_token_ttl)
        messages = self.deps.messages
        await self._mail(messages.reset_message(
            user.email, messages.link("/reset", token=link_token), code,
            self.settings.reset_token_ttl))

    async def _account_budget(self, canonical: str) -> bool:
        """Count a reset mail against the address (known or not); False once over the limit."""
        subject = hashlib.sha256(canonical.encode()).hexdigest()
        try:
            await self.deps.limiter.hit("forgot_account", subject,
                                        self.deps.rates["rate_limit_forgot_account"])
        except TooManyRequests:
            return False
        return True

    # ---------------------------------------------------------------------- reset
    async def reset_password(
        self, token: str, new_password: str, client: Caller, *, email: str | None = None,
        method: str | None = None, code: str | None = None,
    ) -> User:
        """Set a new password with a reset token (or its code and `email`).

        Order matters: the token is only looked at until the policy and the second factor
        passed, then spent atomically, so a weak password or a wrong MFA code leaves it usable.
        """
        now = utcnow()
        action = await self._find(RESET, token, email, now)
        user = await self.identity.get(action.user_id)
        if user is None or not user.is_active:
            raise InvalidActionToken()
        password = self.identity.prepare_password(new_password)
        await self.identity.check_policy(password, email=user.email,
                                         mfa_enabled=user.mfa_enabled)
        if user.mfa_enabled:
            await self._second_factor(user, method, code, client)
        if await self.tokens.spend(action.id, RESET, now) is None:
            raise InvalidActionToken()
        user.email_verified = True  # the link reached the mailbox: that is a verification
        await self.identity.set_password(user, new_password)
        await self.deps.ender.end_others(self.session, user.id, "password_reset")
        await self.deps.audit.record("password_reset", session=self.session, user_id=user.id,
                                      client_ip=client.ip, method=method if user.mfa_enabled
                                      else None)
        await self._mail(self.deps.messages.password_changed_message(user.email))
        self._after_reset(user)
        return user

    async def _second_factor(self, user: User, method: str | None, code: str | None,
                             client: Caller) -> None:
        """A reset never bypasses MFA. The e-mail factor is not offered when the user has
        another one: the reset link already proves the mailbox, so accepting an e-mailed code
        would let whoever reads the mail past the TOTP app."""
        mfa = self.mfa
        allowed = await self._reset_factors(mfa, user)
        if not allowed:
            # E-mail is the only second factor and the link itself was that proof; asking for
            # another code to the same mailbox would add nothing (see README).
            return
        if method not in allowed or not code:
            raise MfaRequiredForReset(allowed)
        await mfa.verify_guarded(user, method, code, client, where="password_reset")

    async def reset_factors(self, token: str) -> list[str]:
        """The second factors a reset with this link will ask for, so that a page asks for the
        new password and the code at once. Looks, never spends; an unusable link: []."""
        try:
            action = await self._find(RESET, token, None, utcnow())
        except InvalidActionToken:
            return []
        user = await self.identity.get(action.user_id)
        if user is None or not user.is_active or not user.mfa_enabled:
            return []
        return await self._reset_factors(self.mfa, user)

    @staticmethod
    async def _reset_factors(mfa: MfaService, user: User) -> list[str]:
        # A passkey has no reset challenge to answer: the reset takes typed codes only.
        return [m for m in await mfa.methods_of(user) if m not in ("email", "webauthn")]

    def _after_reset(self, user: User) -> None:
        protector, email = self.deps.protector, user.email

        async def finish() -> None:
            await protector.unlock(lockout_key(email))

        after_commit(self.session, finish)

    # --------------------------------------------------------------- verification
    async def send_verification(self, user: User) -> None:
        """Mail a verification link and code (queued in the caller's transaction)."""
        link_token, code = await self._issue(user, VERIFY, self.settings.verify_token_ttl)
        messages = self.deps.messages
        await self._mail(messages.verify_message(
            user.email, messages.link("/verify", token=link_token), code,
            self.settings.verify_token_ttl))

    async def resend_verification(self, user: User) -> None:
        """A new verification mail (the older link void); limited per user like code mails."""
        if user.email_verified:
            raise Conflict("This e-mail address is already verified.",
                           code="email_already_verified")
        # The minute first: a refused burst should not eat into the hour's budget.
        limiter, settings, uid = self.deps.limiter, self.settings, str(user.id)
        await limiter.hit("verify_mail_minute", uid, Rate(settings.email_send_per_minute, 60))
        await limiter.hit("verify_mail_hour", uid, Rate(settings.email_send_per_hour, 3600))
        await self.send_verification(user)

    async def verify_email(self, token: str, *, email: str | None = None) -> User:
        now = utcnow()
        action = await self._find(VERIFY, token, email, now)
        if await self.tokens.spend(action.id, VERIFY, now) is None:
            raise InvalidActionToken()
        user = await self.identity.get(action.user_id)
        if user is None or not user.is_active:
            raise InvalidActionToken()
        if not user.email_verified:
            user.email_verified = True
            await self.identity.changed(user)
        await self.deps.audit.record("email_verified", session=self.session, user_id=user.id)
        return user

    # ------------------------------------------------------------------ internals
    async def _issue(self, user: User, purpose: str, ttl: int) -> tuple[str, str]:
        """A new token of `purpose` for `user`, the older ones void; returns (link token, code)."""
        link_token, code = new_token(32), new_numeric_code(CODE_DIGITS)
        now = utcnow()
        await self.tokens.replace(ActionToken(
            user_id=user.id, purpose=purpose, digest=token_digest(link_token),
            code_digest=hash_code(code, key=self._code_key), created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        ))
        return link_token, code

    async def _find(self, purpose: str, token: str, email: str | None,
                    now: datetime) -> ActionToken:
        """The live token named by a link token, or by the typed code of `email`'s token."""
        if not token:
            raise InvalidActionToken()
        if email is None:
            found = await self.tokens.live_by_digest(token_digest(token), purpose, now)
        else:
            found = await self._find_by_code(purpose, token, email, now)
        if found is None:
            raise InvalidActionToken()
        return found

    async def _find_by_code(self, purpose: str, code: str, email: str,
                            now: datetime) -> ActionToken | None:
        canonical = try_canonical_email(email)
        user = await self.identity.users.get_by_email(canonical) if canonical else None
        found = await self.tokens.live_for_user(user.id, purpose, now) if user else None
        if found is None or not found.code_digest:
            return None
        # An 8-digit code is guessable only with many tries: count them per token, and void the
        # token at the cap. The count is reserved before comparing, so parallel guesses share it.
        key = Keys.action_code_tries(str(found.id))
        async with self.deps.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, int((found.expires_at - now).total_seconds()) + 60)
            tries, _ = await pipe.execute()
        if int(tries) > MAX_CODE_TRIES:
            await self._void_in_own_transaction(found.user_id, purpose)
            return None
        if not codes_equal(hash_code(code, key=self._code_key), found.code_digest):
            return None
        return found

    async def _void_in_own_transaction(self, user_id: uuid.UUID, purpose: str) -> None:
        # The request's transaction rolls back with the 400; the voiding must stay.
        async with independent(self.deps.sessions) as own:
            await ActionTokenRepository(own).void_all(user_id, purpose)

    async def _mail(self, message: EmailMessage) -> None:
        # Into the outbox in this transaction: a request that rolls back mails nothing.
        await self.deps.courier.queue(self.session, message)
