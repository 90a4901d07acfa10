"""The `/token` grants, one module each behind one small interface (base.Grant), registered once
here. A new grant is a module with a `grant_type` and an `issue` coroutine, added to
`default_grants`; the router and the metadata pick it up from the registry."""

from __future__ import annotations

from authsvc.tokens.grants.authorization_code import AuthorizationCodeGrant
from authsvc.tokens.grants.base import Grant, GrantRegistry, TokenRequest
from authsvc.tokens.grants.client_credentials import ClientCredentialsGrant
from authsvc.tokens.grants.mfa import MFA_GRANT, MfaGrant
from authsvc.tokens.grants.password import PasswordGrant
from authsvc.tokens.grants.refresh_token import RefreshTokenGrant

__all__ = ["MFA_GRANT", "Grant", "GrantRegistry", "TokenRequest", "default_grants"]


def default_grants() -> GrantRegistry:
    return GrantRegistry((
        PasswordGrant(), RefreshTokenGrant(), ClientCredentialsGrant(), MfaGrant(),
        AuthorizationCodeGrant(),
    ))
