"""Users: registration, password checks, profile reads through the cache, password changes."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.db import after_commit, utcnow
from authsvc.errors import AuthError, Conflict, InvalidGrant, WeakPassword
from authsvc.identity.cache import UserCache, UserView
from authsvc.identity.emails import InvalidEmail, canonical_email, require_email
from authsvc.identity.models import User
from authsvc.identity.repository import UserRepository
from authsvc.security.passwords import HashingService
from authsvc.security.policy import PasswordValidator, normalize_password

if TYPE_CHECKING:
    from authsvc.state import AppState

BAD_CREDENTIALS = "The username or password is incorrect."


class BadCredentials(InvalidGrant):
    """Wrong username or password (one message for every case). `user_id` names the account
    the username matched, if any: for the audit trail only, never for the answer."""

    def __init__(self, user_id: uuid.UUID | None) -> None:
        super().__init__(BAD_CREDENTIALS)
        self.user_id = user_id


class PasswordTooLong(AuthError):
    status = 422
    code = "password_too_long"


class IdentityService:
    def __init__(
        self,
        session: AsyncSession,
        *,
        hasher: HashingService,
        validator: PasswordValidator,
        cache: UserCache,
        max_password_length: int,
    ) -> None:
        self.session = session
        self.users = UserRepository(session)
        self.hasher = hasher
        self.validator = validator
        self.cache = cache
        self.max_password_length = max_password_length

    @classmethod
    def of(cls, state: AppState, session: AsyncSession) -> IdentityService:
        """The service on a unit of work, wired from the app's state (requests, CLI, MFA)."""
        return cls(
            session,
            hasher=state.hasher,
            validator=state.validator,
            cache=state.user_cache,
            max_password_length=state.settings.password_max_length,
        )

    # ------------------------------------------------------------------ passwords
    def prepare_password(self, password: str) -> str:
        """The one normalization (NFKC) before any check or hash; over-long input refused fast."""
        if len(password) > self.max_password_length:
            raise PasswordTooLong(
                f"Passwords are at most {self.max_password_length} characters."
            )
        return normalize_password(password)

    def check_policy(self, password: str, *, email: str | None, mfa_enabled: bool = False) -> None:
        unmet = self.validator.validate(password, email=email, mfa_enabled=mfa_enabled)
        if unmet:
            error = WeakPassword(
                "The password does not meet the policy: "
                + "; ".join(u.message for u in unmet),
                extra={"unmet": [u.code for u in unmet]},
            )
            error.messages = tuple(u.message for u in unmet)
            raise error

    # ---------------------------------------------------------------- registration
    async def register(self, email: str, password: str, display_name: str | None) -> User:
        email = require_email(email)
        password = self.prepare_password(password)
        self.check_policy(password, email=email)
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
        return user

    async def verify_current_password(self, user: User, password: str) -> bool:
        prepared = self.prepare_password(password)
        return await self.hasher.verify_password(prepared, user.password_hash)

    async def set_password(self, user: User, new_password: str) -> None:
        password = self.prepare_password(new_password)
        self.check_policy(password, email=user.email, mfa_enabled=user.mfa_enabled)
        user.password_hash = await self.hasher.hash_password(password)
        user.password_changed_at = utcnow()
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
