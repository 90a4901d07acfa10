"""`grant_type=password` (RFC 6749 §4.3), for first-party services: the one password login rule
(identity/login.py), then an MFA challenge or a new token family."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.errors import InvalidClient
from authsvc.forms import require
from authsvc.identity.login import PasswordLogin
from authsvc.identity.models import User
from authsvc.mfa.login import MfaLogin
from authsvc.mfa.service import MfaService
from authsvc.tokens.grants.base import TokenRequest
from authsvc.tokens.service import Client, validate_scope

if TYPE_CHECKING:
    from authsvc.state import AppState


class PasswordGrant:
    grant_type = "password"

    async def issue(self, request: TokenRequest) -> dict[str, Any]:
        username, password = require(request.form, "username", "password")
        scope = validate_scope(request.form.get("scope"))
        client_id = await named_client(request)
        login = PasswordLogin.of(request.state, request.identity)
        user = await login.verify(username, password, request.caller)
        bound = Client(request.caller.user_agent, request.caller.ip, client_id)
        return await complete_login(request.state, request.session, user, bound, scope=scope)


async def named_client(request: TokenRequest) -> str | None:
    """The client named by the request: authenticated when credentials are given, otherwise a
    known public `client_id` or none."""
    clients = request.state.clients
    view = await clients.authenticate(request.authorization, request.form, required=False)
    if view is not None:
        return view.client_id
    client_id = request.form.get("client_id")
    if client_id:
        known = await clients.lookup(client_id[:64])
        if known is None or not known.active:
            raise InvalidClient()
        return known.client_id
    return None


async def complete_login(
    state: AppState, session: AsyncSession, user: User, client: Client, *, scope: str | None
) -> dict[str, Any]:
    """Tokens for a user whose password was just verified, or, when the user has MFA on,
    403 `mfa_required` carrying an `mfa_token` and the user's `mfa_methods`."""
    if user.mfa_enabled:
        challenge = await MfaLogin(MfaService.of(state, session)).start(user, client, scope=scope)
        raise challenge.error()
    body = await state.tokens.issue_for_user(session, user, amr=["pwd"], client=client,
                                             scope=scope)
    await state.audit.record("login_success", session=session, user_id=user.id,
                             client_ip=client.ip, method="password")
    return body
