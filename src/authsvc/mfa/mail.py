"""E-mailed one-time codes: 6 digits, stored as keyed digests in Redis, a resend replaces the
old code, void after `email_code_max_attempts` wrong tries, sending limited per user."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.config import Settings
from authsvc.courier import Courier, MessageFactory
from authsvc.identity.models import User
from authsvc.mfa.runtime import MfaRuntime
from authsvc.mfa.stores import CodeCheck
from authsvc.protection.ratelimit import Rate, RateLimiter
from authsvc.security.codes import hash_code, new_numeric_code

LOGIN = "login"  # completing a login or a step-up
ENROL = "enrol"  # proving the mailbox before e-mail MFA is turned on
DIGITS = 6


class EmailCodes:
    def __init__(self, session: AsyncSession, runtime: MfaRuntime, *, courier: Courier,
                 messages: MessageFactory, limiter: RateLimiter, settings: Settings) -> None:
        self.session = session
        self.runtime = runtime
        self.courier = courier
        self.messages = messages
        self.limiter = limiter
        self.settings = settings

    async def send(self, user: User, purpose: str) -> int:
        """Mail a new code (replacing any older one); returns its lifetime in seconds.

        TooManyRequests (429 + Retry-After) past the per-user limits. The mail is queued in the
        request's transaction and leaves from the outbox: a delivery failure is logged and
        counted by the courier, never shown here.
        """
        await self._limit(str(user.id))
        code = new_numeric_code(DIGITS)
        ttl = self.settings.email_code_ttl
        await self.runtime.email_codes.put(
            str(user.id), purpose, self._digest(code), expires=self.runtime.now() + ttl, ttl=ttl
        )
        await self.courier.queue(
            self.session, self.messages.mfa_code_message(user.email, code, ttl))
        return ttl

    async def check(self, user: User, purpose: str, code: str) -> bool:
        """True (and the code spent) when `code` is the live code; each wrong try counts."""
        result = await self.runtime.email_codes.check(
            str(user.id), purpose, self._digest(code), now=self.runtime.now(),
            max_attempts=self.settings.email_code_max_attempts,
        )
        return result is CodeCheck.RIGHT

    async def _limit(self, user_id: str) -> None:
        # The minute first: a refused burst should not eat into the hour's budget.
        limiter, settings = self.limiter, self.settings
        await limiter.hit("mfa_mail_minute", user_id, Rate(settings.email_send_per_minute, 60))
        await limiter.hit("mfa_mail_hour", user_id, Rate(settings.email_send_per_hour, 3600))

    def _digest(self, code: str) -> str:
        return hash_code(code, key=self.runtime.email_code_key)
