"""`grant_type=client_credentials` (RFC 6749 §4.4): an access token for the authenticated client
itself (`sub` = client_id), no refresh token."""

from __future__ import annotations

from typing import Any

from authsvc.tokens.grants.base import TokenRequest
from authsvc.tokens.service import validate_scope


class ClientCredentialsGrant:
    grant_type = "client_credentials"

    async def issue(self, request: TokenRequest) -> dict[str, Any]:
        state = request.state
        view = await state.clients.authenticate(request.authorization, request.form)
        assert view is not None
        scope = validate_scope(request.form.get("scope"))
        return state.tokens.issue_for_client(view.client_id, scope, request.caller)
