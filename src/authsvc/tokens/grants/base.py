"""The shape every /token grant has (RFC 6749 §4): a `grant_type` and one `issue` coroutine that
turns a token request into the success body, or raises the grant's AuthError. Grants are
registered once (Authlib's `AuthorizationServer.register_grant`); the router only looks them up."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.caller import Caller
from authsvc.errors import AuthError, UnsupportedGrantType
from authsvc.identity.login import PasswordLogin
from authsvc.identity.service import IdentityService
from authsvc.mfa.login import MfaLogin

if TYPE_CHECKING:
    from authsvc.passkeys.service import PasskeyService


class UnauthorizedClient(AuthError):
    """RFC 6749 §5.2: the client is not registered for this grant type."""

    code = "unauthorized_client"
    description = "This client may not use this grant type."


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """One `POST /token` as a grant sees it: the form, the client-authentication header and the
    caller (user agent and address), with the request's database session and the use cases
    on it (the grants' long-lived collaborators are given to their constructors)."""

    form: dict[str, str]
    authorization: str | None
    caller: Caller
    session: AsyncSession
    identity: IdentityService
    login: PasswordLogin
    mfa: MfaLogin
    passkeys: PasskeyService | None  # None: passkeys off


class Grant(Protocol):
    grant_type: str

    async def issue(self, request: TokenRequest) -> dict[str, Any]:
        """The `/token` success body (RFC 6749 §5.1) for this request."""
        ...


class GrantRegistry:
    """The grants `/token` accepts, by `grant_type`, in registration order (the metadata's
    `grant_types_supported`)."""

    def __init__(self, grants: tuple[Grant, ...] = ()) -> None:
        self._grants: dict[str, Grant] = {}
        for grant in grants:
            self.register(grant)

    def register(self, grant: Grant) -> None:
        if grant.grant_type in self._grants:
            raise ValueError(f"grant type {grant.grant_type!r} is registered twice")
        self._grants[grant.grant_type] = grant

    def find(self, grant_type: str) -> Grant:
        """The grant for `grant_type`; 400 `unsupported_grant_type` (RFC 6749 §5.2) otherwise."""
        grant = self._grants.get(grant_type)
        if grant is None:
            raise UnsupportedGrantType()
        return grant

    def __iter__(self) -> Iterator[str]:
        return iter(self._grants)
