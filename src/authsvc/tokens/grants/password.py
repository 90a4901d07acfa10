"""`grant_type=password` (RFC 6749 §4.3), for first-party services: the one password login rule
(identity/login.py), then an MFA challenge or a new token family."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.audit.service import AuditLog
from authsvc.caller import Caller
from authsvc.clients.service import ClientService
from authsvc.forms import require
from authsvc.identity.login import PasswordLogin
from authsvc.identity.models import User
from authsvc.mfa.login import MfaLogin
from authsvc.tokens.grants.base import TokenRequest, UnauthorizedClient
from authsvc.tokens.service import TokenService, allowed_scope


class PasswordGrant:
    grant_type = "password"

    def __init__(self, clients: ClientService, tokens: TokenService, audit: AuditLog, *,
                 default_scopes: tuple[str, ...]) -> None:
        self.clients = clients
        self.tokens = tokens
        self.audit = audit
        self.default_scopes = default_scopes

    async def issue(self, request: TokenRequest) -> dict[str, Any]:
        """Scopes within the named client's allow-list (AUTHSVC_DEFAULT_SCOPES without one);
        a client that has a secret must authenticate (RFC 6749 §3.2.1)."""
        username, password = require(request.form, "username", "password")
        named = await self.clients.identify(request.authorization, request.form)
        if named is not None and self.grant_type not in named.grant_types:
            raise UnauthorizedClient()
        allowed = named.scopes if named else self.default_scopes
        scope = allowed_scope(request.form.get("scope"), allowed)
        caller = with_device_token(request)
        login = request.login
        user = await login.verify(username, password, caller)
        bound = Caller(caller.user_agent, caller.ip, named.client_id if named else None,
                       caller.device)
        body = await complete_login(self.tokens, self.audit, request.mfa, request.session, user,
                                    bound, scope=scope)
        return await add_device_token(login, body, user, bound)


def with_device_token(request: TokenRequest) -> Caller:
    """The caller, with the `device_token` form field it sent (OWASP device cookies)."""
    sent = request.form.get("device_token")
    return replace(request.caller, device=sent) if sent else request.caller


async def add_device_token(login: PasswordLogin, body: dict[str, Any], user: User,
                           client: Caller) -> dict[str, Any]:
    """A complete login's answer carries a new device token for the app to keep and send back."""
    issued = await login.new_device_token(user, client)
    return {**body, "device_token": issued.token}


async def complete_login(
    tokens: TokenService, audit: AuditLog, mfa: MfaLogin, session: AsyncSession, user: User,
    client: Caller, *, scope: str | None,
) -> dict[str, Any]:
    """Tokens for a user whose password was just verified, or, when the user has MFA on,
    403 `mfa_required` carrying an `mfa_token` and the user's `mfa_methods`."""
    if user.mfa_enabled:
        challenge = await mfa.start(user, client, scope=scope)
        raise challenge.error()
    body = await tokens.issue_for_user(session, user, amr=["pwd"], client=client, scope=scope)
    await audit.record("login_success", session=session, user_id=user.id,
                       client_ip=client.ip, method="password")
    return body
