"""Users: registration, password checks, profile reads through the cache, password changes."""

from __future__ import annotations

import hmac
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from authsvc.db import after_commit, independent, utcnow
from authsvc.errors import AuthError, Conflict, InvalidGrant, WeakPassword
from authsvc.identity.cache import UserCache, UserView
from authsvc.identity.emails import InvalidEmail, canonical_email, require_email
from authsvc.identity.models import User
from authsvc.identity.repository import UserRepository
from authsvc.security.breached import BreachCheckUnavailable, BreachedPasswords
from authsvc.security.passwords import HashingService
from authsvc.security.policy import PasswordValidator, Unmet, normalize_password

BAD_CREDENTIALS = "The username or password is incorrect."


BREACHED = Unmet("breached", "This password has appeared in a data breach; choose another.")


class BadCredentials(InvalidGrant):
    """Wrong username or password (one message for every case). `user_id` names the account
    the username matched, if any: for the audit trail only, never for the answer."""

    def __init__(self, user_id: uuid.UUID | None) -> None:
        super().__init__(BAD_CREDENTIALS)
        self.user_id = user_id


class PasswordTooLong(AuthError):
    status = 422
    code = "password_too_long"


class BreachCheckFailed(AuthError):
    """AUTHSVC_BREACHED_PASSWORDS_FAIL=closed and the range API did not answer in time."""

    status = 503
    code = "temporarily_unavailable"
    description = ("The new password could not be checked against the list of breached "
                   "passwords. Try again in a moment.")

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "5"})


class IdentityService:
    def __init__(
        self,
        session: AsyncSession,
        *,
        hasher: HashingService,
        validator: PasswordValidator,
        cache: UserCache,
        max_password_length: int,
        breached: BreachedPasswords | None = None,
        sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.session = session
        self.users = UserRepository(session)
        self.hasher = hasher
        self.validator = validator
        self.cache = cache
        self.max_password_length = max_password_length
        self.breached = breached if breached is not None and breached.enabled else None
        self._sessions = sessions  # for the breached-at-login mark, which outlives the request
        # The last new password the policy accepted, with the e-mail and MFA state it was for.
        self._passed: tuple[str, str | None, bool] | None = None

    # ------------------------------------------------------------------ passwords
    def prepare_password(self, password: str) -> str:
        """The one normalization (NFKC) before any check or hash; over-long input refused fast."""
        if len(password) > self.max_password_length:
            raise PasswordTooLong(
                f"Passwords are at most {self.max_password_length} characters."
            )
        return normalize_password(password)

    async def check_policy(self, password: str, *, email: str | None,
                           mfa_enabled: bool = False) -> None:
        """The one password policy of every new password (registration, change, reset, admin):
        the rules and the blocklist, then the breach lists. WeakPassword lists what failed."""
        unmet = self.validator.validate(password, email=email, mfa_enabled=mfa_enabled)
        if not unmet and self.breached is not None:
            try:
                if await self.breached.is_breached(password, new=True):
                    unmet.append(BREACHED)
            except BreachCheckUnavailable:
                raise BreachCheckFailed() from None
        if not unmet:
            self._passed = (password, email, mfa_enabled)
            return
        error = WeakPassword(
            "The password does not meet the policy: " + "; ".join(u.message for u in unmet),
            extra={"unmet": [u.code for u in unmet]},
        )
        error.messages = tuple(u.message for u in unmet)
        raise error

    def _already_passed(self, password: str, email: str | None, mfa_enabled: bool) -> bool:
        """The reset checked this very password a moment ago: no second range-API round trip."""
        if self._passed is None or self._passed[1:] != (email, mfa_enabled):
            return False
        return hmac.compare_digest(password.encode(), self._passed[0].encode())

    # ---------------------------------------------------------------- registration
    async def register(self, email: str, password: str, display_name: str | None) -> User:
        email = require_email(email)
        password = self.prepare_password(password)
        await self.check_policy(password, email=email)
        if await self.users.email_taken(email):
            raise Conflict("An account with this e-mail address already exists.",
                           code="email_taken")
        user = User(
            email=email,
            display_name=(display_name or "").strip()[:200] or None,
            password_hash=await self.hasher.hash_password(password),
            roles=[],
        )
        try:
            async with self.session.begin_nested():
                await self.users.add(user)
        except IntegrityError:  # two registrations raced for one address
            raise Conflict("An account with this e-mail address already exists.",
                           code="email_taken") from None
        return user

    # -------------------------------------------------------------- authentication
    async def authenticate(self, username: str, password: str) -> User:
        """The active user with this e-mail and password, else InvalidGrant.

        Unknown, disabled and wrong-password cases do the same bcrypt work and raise the same
        error, so neither the answer nor its timing tells which it was.
        """
        password = self.prepare_password(password)
        try:
            email = canonical_email(username)
        except InvalidEmail:
            email = None
        user = await self.users.get_by_email(email) if email else None
        ok = await self.hasher.verify_password(password, user.password_hash if user else None)
        if not ok or user is None or not user.is_active:
            raise BadCredentials(user.id if user is not None else None)
        if self.hasher.needs_rehash(user.password_hash):
            user.password_hash = await self.hasher.hash_password(password)
        if self.breached is not None and not user.password_reset_required:
            if await self.breached.is_breached(password, new=False):
                await self._require_reset(user)
        return user

    async def _require_reset(self, user: User) -> None:
        """The password is in a breach list: the account must choose a new one. Written in a
        transaction of its own, so the mark stays when the login stops at a second factor
        (that answer rolls the request back). The login itself succeeds: the pages then ask
        for a new password, and the API shows `password_reset_required` on /users/me."""
        if self._sessions is None:
            return
        async with independent(self._sessions) as own:
            version = await UserRepository(own).require_password_reset(user.id)
        if version is None:
            return
        set_committed_value(user, "password_reset_required", True)
        set_committed_value(user, "version", version)
        await self.cache.put(UserView.of(user))

    async def verify_current_password(self, user: User, password: str) -> bool:
        prepared = self.prepare_password(password)
        return await self.hasher.verify_password(prepared, user.password_hash)

    async def set_password(self, user: User, new_password: str) -> None:
        password = self.prepare_password(new_password)
        if not self._already_passed(password, user.email, user.mfa_enabled):
            await self.check_policy(password, email=user.email, mfa_enabled=user.mfa_enabled)
        user.password_hash = await self.hasher.hash_password(password)
        user.password_changed_at = utcnow()
        user.password_reset_required = False
        await self.changed(user)

    # --------------------------------------------------------------------- reads
    async def get(self, user_id: uuid.UUID | str) -> User | None:
        try:
            uid = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
        except ValueError:
            return None
        return await self.users.get(uid)

    async def changed(self, user: User) -> None:
        """Every change to a user goes through here: version bump, cache write after commit."""
        await self.users.touch(user)
        view = UserView.of(user)

        async def write_through() -> None:
            await self.cache.put(view)

        after_commit(self.session, write_through)
