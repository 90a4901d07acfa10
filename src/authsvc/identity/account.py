"""What follows a change of credentials, once for the API, the pages and the reset flow:
every other refresh family and browser session of the user ends, and the change is audited."""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.audit.service import AuditLog
from authsvc.caller import Caller
from authsvc.errors import AuthError, TemporarilyLocked
from authsvc.identity.login import PasswordLogin, lockout_key
from authsvc.identity.models import User
from authsvc.protection.bruteforce import Subject


class WrongCurrentPassword(AuthError):
    code = "invalid_password"
    description = "The current password is incorrect."


class SessionEnder(Protocol):
    """Ends a user's refresh families and browser sessions, but the caller's own
    (tokens/signout.py)."""

    async def end_others(self, session: AsyncSession, user_id: uuid.UUID, reason: str, *,
                         keep_family: str | None = None,
                         keep_browser: str | None = None) -> None: ...


async def check_current_password(login: PasswordLogin, user: User, password: str,
                                 client: Caller) -> None:
    """A signed-in user's current password (password change, re-authentication) is a login
    attempt: refused while the username (or this device token) is locked, a wrong one counted
    in that lockout, and all of them also under a per-account limit whatever the device, so a
    stolen access token is no password oracle. Past either limit even the right password gets
    TemporarilyLocked (429). A right one does not clear failures (it completes no login)."""
    protector = login.protector
    key = lockout_key(user.email)
    subject = await login.subject(key, client)
    account = Subject.account(str(user.id))
    await protector.begin(account)
    try:
        await protector.begin(subject)
    except TemporarilyLocked:
        await protector.release(account)
        raise
    if not await login.identity.verify_current_password(user, password):
        await protector.failed(account)
        await login.record_failure(subject, client, key=key, user_id=user.id,
                                   kind="current_password")
        raise WrongCurrentPassword()
    await protector.release(subject)
    await protector.release(account)


async def change_password(
    login: PasswordLogin, ender: SessionEnder, audit: AuditLog, user: User,
    current: str, new: str, client: Caller, *, keep_family: str | None = None,
    keep_browser: str | None = None, **details: str | None,
) -> None:
    """Check the current password (as a login attempt), set the new one (policy applies:
    WeakPassword), and end every other session. The caller has already asked for a step-up
    when MFA is on."""
    await check_current_password(login, user, current, client)
    identity = login.identity
    await identity.set_password(user, new)
    await ender.end_others(identity.session, user.id, "password_changed",
                           keep_family=keep_family, keep_browser=keep_browser)
    await audit.record("password_changed", session=identity.session, user_id=user.id, **details)
