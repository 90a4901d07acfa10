"""What admins do to users and service clients; shared by the admin API and the CLI.

Every change to a user goes through `IdentityService.changed` (cache write-through after
commit), so `/introspect` sees a disabled user or new roles at once; every change leaves an
audit row naming the actor (`None`: the command line).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.admin.schemas import UserPatch
from authsvc.audit.service import AuditLog
from authsvc.clients.models import Client
from authsvc.clients.registration import ClientSpec
from authsvc.clients.service import ClientService, IssuedClient
from authsvc.errors import Conflict, NotFound
from authsvc.identity.emails import try_canonical_email
from authsvc.identity.login import lockout_key
from authsvc.identity.models import User
from authsvc.identity.repository import UserRepository
from authsvc.identity.service import IdentityService
from authsvc.paging import decode_cursor, encode_cursor
from authsvc.protection.bruteforce import BruteForceProtector
from authsvc.tokens.service import TokenService

USER_CURSOR = "u"


class UserNotFound(NotFound):
    description = "No user has this id."


class ClientNotFound(NotFound):
    description = "No client has this id."


def parse_user_id(user_id: str) -> uuid.UUID:
    """A malformed id names no user: 404, like an unknown one."""
    try:
        return uuid.UUID(user_id)
    except ValueError:
        raise UserNotFound() from None


class AdminService:
    def __init__(self, session: AsyncSession, identity: IdentityService, *, audit: AuditLog,
                 tokens: TokenService, clients: ClientService, protector: BruteForceProtector,
                 actor: str | None = None, client_ip: str | None = None) -> None:
        self.session = session
        self.identity = identity
        self.audit = audit
        self.tokens = tokens
        self.client_service = clients
        self.protector = protector
        self.actor = actor
        self.client_ip = client_ip

    async def _audit(self, type: str, **details: object) -> None:
        """In the change's own transaction: the row exists exactly when the change committed."""
        await self.audit.record(type, session=self.session, client_ip=self.client_ip,
                                actor=self.actor, via="api" if self.actor else "cli",
                                      **details)  # type: ignore[arg-type]

    # -------------------------------------------------------------------- users
    async def page_users(self, cursor: str | None, limit: int) -> tuple[Sequence[User], str | None]:
        """Users in id order after the cursor; the next cursor when a further page may exist."""
        position = decode_cursor(USER_CURSOR, cursor)
        after = parse_cursor_uuid(position)
        users = await UserRepository(self.session).page(after=after, limit=limit)
        more = len(users) == limit
        return users, encode_cursor(USER_CURSOR, str(users[-1].id)) if more and users else None

    async def user(self, user_id: str) -> User:
        user = await self.identity.get(parse_user_id(user_id))
        if user is None:
            raise UserNotFound()
        return user

    async def user_by_email(self, email: str) -> User:
        canonical = try_canonical_email(email)
        user = await UserRepository(self.session).get_by_email(canonical) if canonical else None
        if user is None:
            raise UserNotFound("No user has this e-mail address.")
        return user

    async def update_user(self, user: User, patch: UserPatch) -> User:
        """Apply `roles` and `is_active`; the caller has checked the step-up for roles."""
        if self.actor == str(user.id) and (
            patch.is_active is False or (patch.roles is not None and "admin" not in patch.roles)
        ):
            raise Conflict("Admins cannot disable themselves or drop their own admin role.",
                           code="cannot_change_self")
        if patch.roles is not None:
            await self.set_roles(user, list(dict.fromkeys(patch.roles)))
        if patch.is_active is not None and patch.is_active != user.is_active:
            await self.set_active(user, patch.is_active)
        return user

    async def set_roles(self, user: User, roles: list[str]) -> None:
        old = list(user.roles or [])
        if old == roles:
            return
        user.roles = roles
        await self.identity.changed(user)
        await self._audit("role_changed", user_id=user.id, old=old, new=roles)

    async def set_active(self, user: User, active: bool) -> None:
        """Disabling ends every session: the user view turns inactive (so do all access tokens
        at /introspect) and every refresh family is revoked."""
        user.is_active = active
        await self.identity.changed(user)
        if not active:
            await self.tokens.revoke_user_families(self.session, user.id, "user_disabled")
        await self._audit("user_enabled" if active else "user_disabled", user_id=user.id)

    async def unlock(self, user: User) -> None:
        key = lockout_key(user.email)
        await self.protector.unlock(key)
        await self._audit("unlock", user_id=user.id, subject=key)

    # ------------------------------------------------------------------ clients
    async def create_client(self, spec: ClientSpec | str) -> IssuedClient:
        issued = await self.client_service.create(self.session, spec)
        await self._audit("client_created", subject=issued.client_id, name=issued.name)
        return issued

    async def clients(self) -> list[Client]:
        return await self.client_service.list(self.session)

    async def client(self, client_id: str) -> Client:
        client = await self.client_service.get(self.session, client_id)
        if client is None:
            raise ClientNotFound()
        return client

    async def update_client(self, client_id: str, changes: dict[str, Any]) -> Client:
        client = await self.client(client_id)
        await self.client_service.update(self.session, client, changes)
        await self._audit("client_changed", subject=client.client_id, fields=sorted(changes))
        return client

    async def rotate_secret(self, client_id: str) -> IssuedClient:
        client = await self.client(client_id)
        if client.type != "confidential":
            raise Conflict("A public client has no secret.", code="public_client")
        issued = await self.client_service.rotate_secret(self.session, client.client_id)
        if issued is None:
            raise ClientNotFound()
        await self._audit("client_secret_rotated", subject=client_id)
        return issued

    async def delete_client(self, client_id: str) -> None:
        if not await self.client_service.delete(self.session, client_id[:64]):
            raise ClientNotFound()
        # Its client-credentials tokens die with it (introspection finds no client); the
        # users' tokens issued to it are revoked here.
        await self.tokens.revoke_client_families(self.session, client_id[:64],
                                                       "client_deleted")
        await self._audit("client_deleted", subject=client_id)


def parse_cursor_uuid(position: str | None) -> uuid.UUID | None:
    from authsvc.paging import InvalidCursor

    if position is None:
        return None
    try:
        return uuid.UUID(position)
    except ValueError:
        raise InvalidCursor() from None
