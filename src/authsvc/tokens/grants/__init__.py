"""The `/token` grants, one module each behind one small interface (base.Grant), registered once
here. A new grant is a module with a `grant_type` and an `issue` coroutine, added to
`default_grants`; the router and the metadata pick it up from the registry."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.audit.service import AuditLog
from authsvc.clients.service import ClientService
from authsvc.config import Settings
from authsvc.oidc.codes import AuthorizationStore
from authsvc.security.jwt import TokenCodec
from authsvc.tokens.grants.authorization_code import AuthorizationCodeGrant
from authsvc.tokens.grants.base import Grant, GrantRegistry, TokenRequest
from authsvc.tokens.grants.client_credentials import ClientCredentialsGrant
from authsvc.tokens.grants.mfa import MFA_GRANT, MfaGrant
from authsvc.tokens.grants.password import PasswordGrant
from authsvc.tokens.grants.refresh_token import RefreshTokenGrant
from authsvc.tokens.service import TokenService

__all__ = ["MFA_GRANT", "Grant", "GrantRegistry", "TokenRequest", "default_grants"]


def default_grants(settings: Settings, sessions: async_sessionmaker[AsyncSession], *,
                   clients: ClientService, tokens: TokenService, audit: AuditLog,
                   authorizations: AuthorizationStore, codec: TokenCodec,
                   passkeys: bool) -> GrantRegistry:
    """The grants /token accepts; the passkey grant only while passkeys are on."""
    registry = GrantRegistry((
        PasswordGrant(clients, tokens, audit, default_scopes=tuple(settings.default_scopes)),
        RefreshTokenGrant(tokens),
        ClientCredentialsGrant(clients, tokens),
        MfaGrant(tokens, audit),
        AuthorizationCodeGrant(clients, authorizations, tokens, audit, codec, sessions,
                               id_token_ttl=settings.id_token_ttl),
    ))
    if passkeys:
        from authsvc.tokens.grants.webauthn import WebAuthnGrant

        registry.register(WebAuthnGrant(tokens, audit))
    return registry
