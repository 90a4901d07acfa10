"""`grant_type=client_credentials` (RFC 6749 §4.4): an access token for the authenticated client
itself (`sub` = client_id), no refresh token. The token carries the client's not-before
(`cnb`): rotating the secret or deleting the client ends it at once (introspection)."""

from __future__ import annotations

from typing import Any

from authsvc.clients.service import ClientService
from authsvc.tokens.grants.base import TokenRequest, UnauthorizedClient
from authsvc.tokens.service import TokenService, allowed_scope


class ClientCredentialsGrant:
    grant_type = "client_credentials"

    def __init__(self, clients: ClientService, tokens: TokenService) -> None:
        self.clients = clients
        self.tokens = tokens

    async def issue(self, request: TokenRequest) -> dict[str, Any]:
        view = await self.clients.authenticate(request.authorization, request.form)
        assert view is not None
        if self.grant_type not in view.grant_types:
            raise UnauthorizedClient()
        scope = allowed_scope(request.form.get("scope"), view.scopes)  # the client's allow-list
        return self.tokens.issue_for_client(view.client_id, scope, request.caller,
                                            not_before=view.not_before)
