"""`grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6, OpenID Connect Core 1.0
§3.1.3): a code, its redirect URI and its PKCE verifier, from the client it was issued to
(authenticated; a public client by `client_id` alone). The answer adds an `id_token` for scope
`openid`, and a refresh token only for `offline_access`.

The code works once. Every check of the binding (client, redirect URI, verifier) comes before
it is spent, so a thief's failed attempt does not burn the owner's code. A spent code presented
again revokes the family its first use issued, access tokens included (RFC 6749 §4.1.2); the
first use records what it issued only after its transaction commits, so a replay that arrives
meanwhile is noticed by the issuer, which then revokes at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.audit.service import AuditLog
from authsvc.caller import Caller
from authsvc.clients.registration import AUTHORIZATION_CODE
from authsvc.clients.service import ClientService, ClientView
from authsvc.db import after_commit, outlive, transaction
from authsvc.errors import InvalidClient, InvalidGrant, InvalidRequest
from authsvc.identity.service import IdentityService
from authsvc.oidc.claims import id_token
from authsvc.oidc.codes import AuthorizationStore, Grant
from authsvc.security.jwt import TokenCodec
from authsvc.tokens.grants.base import TokenRequest, UnauthorizedClient
from authsvc.tokens.service import TokenService

VERIFIER = re.compile(r"\A[A-Za-z0-9\-._~]{43,128}\Z")  # RFC 7636 §4.1
CODE_INVALID = "The authorization code is invalid, expired or already used."
REUSE = "authorization_code_reuse"


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))), no padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class AuthorizationCodeGrant:
    grant_type = AUTHORIZATION_CODE

    def __init__(self, clients: ClientService, authorizations: AuthorizationStore,
                 tokens: TokenService, audit: AuditLog, codec: TokenCodec,
                 sessions: async_sessionmaker[AsyncSession], *, id_token_ttl: int) -> None:
        self.clients = clients
        self.authorizations = authorizations
        self.tokens = tokens
        self.audit = audit
        self.codec = codec
        self.sessions = sessions  # for the revocation after a replay seen past the commit
        self.id_token_ttl = id_token_ttl

    async def issue(self, request: TokenRequest) -> dict[str, Any]:
        named = await self.clients.identify(request.authorization, request.form)
        if named is None:
            raise InvalidClient("Client authentication (or a public client_id) is required.")
        return await self.exchange_code(request.session, request.identity, request.form, named,
                                        request.caller)

    async def exchange_code(self, session: AsyncSession, identity: IdentityService,
                            form: dict[str, str], requester: ClientView,
                            client: Caller) -> dict[str, Any]:
        """The `/token` body (with `id_token` for scope openid) for a valid code, or
        InvalidGrant."""
        code, redirect_uri, verifier = (form.get(n) or "" for n in
                                        ("code", "redirect_uri", "code_verifier"))
        for name, value in (("code", code), ("redirect_uri", redirect_uri),
                            ("code_verifier", verifier)):
            if not value:
                raise InvalidRequest(f"The parameter {name!r} is required.")
        if AUTHORIZATION_CODE not in requester.grant_types:
            raise UnauthorizedClient()
        found = await self.authorizations.peek(code)
        if found is None:
            raise InvalidGrant(CODE_INVALID)
        grant, spent = found
        if spent:
            await self._replayed(session, code, client)
        if (grant.client_id != requester.client_id or grant.redirect_uri != redirect_uri
                or not VERIFIER.match(verifier)
                or not hmac.compare_digest(s256(verifier), grant.code_challenge)):
            await self.audit.record("authorization_code_refused", subject=requester.client_id,
                                    client_ip=client.ip)
            raise InvalidGrant(CODE_INVALID)
        used = await self.authorizations.spend(code)
        if used is None:
            raise InvalidGrant(CODE_INVALID)
        if not used.first_use:
            await self._replayed(session, code, client)
        return await self._issue(session, identity, code, grant, requester, client)

    async def _issue(self, session: AsyncSession, identity: IdentityService, code: str,
                     grant: Grant, requester: ClientView, client: Caller) -> dict[str, Any]:
        user = await identity.get(grant.user_id)
        if user is None or not user.is_active:
            raise InvalidGrant(CODE_INVALID)
        scopes = grant.scope.split(" ")
        offline = "offline_access" in scopes and "refresh_token" in requester.grant_types
        issued = await self.tokens.issue_family(
            session, user, amr=list(grant.amr), client=Caller(client.user_agent, client.ip,
                                                              requester.client_id),
            scope=grant.scope, auth_time=grant.auth_time, refresh=offline,
        )
        body = dict(issued.body)
        sid = str(issued.family.id)
        if "openid" in scopes:
            body["id_token"] = id_token(
                self.codec, user=user, client_id=requester.client_id,
                alg=requester.id_token_alg, scope=grant.scope, auth_time=grant.auth_time,
                amr=list(grant.amr), sid=sid, nonce=grant.nonce,
                access_token=body["access_token"], ttl=self.id_token_ttl,
            )
        authorizations, tokens, sessions = self.authorizations, self.tokens, self.sessions

        async def remember() -> None:
            if await authorizations.record_issued(code, {"sid": sid}):
                async for later in transaction(sessions):  # a replay came in meanwhile
                    await tokens.revoke_family_of(later, sid, REUSE)

        after_commit(session, remember)
        await self.audit.record("login_success", session=session, user_id=user.id,
                                client_ip=client.ip, method="authorization_code",
                                client_id=requester.client_id)
        return body

    async def _replayed(self, session: AsyncSession, code: str, client: Caller) -> None:
        """A spent code again: revoke what its first use issued (committed even though the
        request fails), then refuse."""
        used = await self.authorizations.spend(code)
        sid = used.issued.get("sid") if used is not None else None
        if sid:
            tokens = self.tokens
            await outlive(session, lambda own: tokens.revoke_family_of(own, sid, REUSE))
        await self.audit.record("token_reuse", subject=used.grant.client_id if used else None,
                                client_ip=client.ip, family=sid, kind="authorization_code")
        raise InvalidGrant(CODE_INVALID)
