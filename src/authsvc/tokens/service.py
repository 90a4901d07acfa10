"""The token life cycle: issue, rotate with reuse detection, revoke (RFC 6749, RFC 9700 §4.14).

Access tokens are short JWTs carrying the family id as `sid`; refresh tokens are JWTs of `typ`
refresh whose `jti` is recorded, so each can be spent once. Spending one twice revokes its
whole family, the family's access tokens with it — except that rotation is retry-safe: within
`AUTHSVC_REFRESH_REUSE_GRACE` seconds of the first use, the same client (same binding)
presenting the just-spent token again gets the very same successor pair (kept encrypted with
the spent token), so two tabs, a retry after a timeout or an answer lost with a killed worker
cost nobody their session. A family still never has more than one live refresh token.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.audit.service import AuditLog
from authsvc.caller import Caller
from authsvc.config import Settings
from authsvc.db import outlive, utcnow
from authsvc.errors import InvalidGrant, InvalidRequest
from authsvc.identity.models import User
from authsvc.ops.meter import Meter
from authsvc.security import jwt as tokens
from authsvc.security.binding import ClientBinding
from authsvc.security.crypto import DecryptionError, Encryptor
from authsvc.security.jwt import TokenCodec, TokenError
from authsvc.tokens.models import RefreshFamily, RefreshToken
from authsvc.tokens.repository import TokenRepository
from authsvc.tokens.revocations import RevocationList

REFRESH_INVALID = "The refresh token is invalid, expired or revoked."
_SCOPE_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F)) - {'"', "\\"}


@dataclass(frozen=True, slots=True)
class Issued:
    """What a login issued: the `/token` body, its family and its access token's claims."""

    body: dict[str, Any]
    family: RefreshFamily
    access_claims: dict[str, Any]


def validate_scope(scope: str | None) -> str | None:
    """RFC 6749 §3.3: space-delimited tokens of printable ASCII without `"` and `\\`."""
    if scope is None or scope == "":
        return None
    items = scope.split(" ")
    if len(scope) > 1000 or any(not item or not set(item) <= _SCOPE_CHARS for item in items):
        raise InvalidRequest("The scope is malformed.", code="invalid_scope")
    return " ".join(dict.fromkeys(items))


def allowed_scope(scope: str | None, allowed: tuple[str, ...] | list[str]) -> str | None:
    """`scope` (RFC 6749 §3.3) if every item is on the allow-list, else 400 `invalid_scope`."""
    scope = validate_scope(scope)
    if scope is not None:
        outside = [item for item in scope.split(" ") if item not in allowed]
        if outside:
            raise InvalidRequest(f"The scope {outside[0][:100]!r} is not allowed.",
                                 code="invalid_scope")
    return scope


def _new_jti() -> str:
    return secrets.token_urlsafe(16)


class TokenService:
    def __init__(
        self,
        settings: Settings,
        codec: TokenCodec,
        binding: ClientBinding,
        revocations: RevocationList,
        audit: AuditLog,
        meter: Meter | None = None,
    ) -> None:
        self.meter = meter or Meter()
        self.settings = settings
        self.codec = codec
        self.binding = binding
        self.revocations = revocations
        self.audit = audit
        self._successors = Encryptor.from_settings(settings, "refresh-successor")
        self.now = utcnow  # the reuse grace's clock (tests move it)

    # ------------------------------------------------------------------- issuing
    def _access_claims(
        self, *, sub: str, sid: str | None, roles: list[str], amr: list[str], auth_time: int,
        scope: str | None, client_id: str | None, client: Caller,
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": sub, "typ": tokens.ACCESS, "jti": _new_jti(),
            "exp": now + self.settings.access_token_ttl, "roles": roles, "amr": amr,
            "auth_time": auth_time,
        }
        if sid:
            claims["sid"] = sid
        if scope:
            claims["scope"] = scope
        if client_id:
            claims["client_id"] = client_id
        bound = self.binding.claim(client.user_agent, client.ip)
        if bound:
            claims["bnd"] = bound
        return claims

    def _body(self, access: str, scope: str | None, refresh: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": access, "token_type": "Bearer",
            "expires_in": self.settings.access_token_ttl,
        }
        if refresh:
            body["refresh_token"] = refresh
        if scope:
            body["scope"] = scope
        return body

    async def _new_refresh(
        self, session: AsyncSession, family: RefreshFamily, user_id: str, client: Caller
    ) -> str:
        jti = _new_jti()
        expires_at = family.expires_at
        await TokenRepository(session).add_refresh(jti, family.id, expires_at)
        claims: dict[str, Any] = {
            "sub": user_id, "typ": tokens.REFRESH, "jti": jti, "sid": str(family.id),
            "exp": int(expires_at.replace(tzinfo=expires_at.tzinfo or UTC).timestamp()),
        }
        bound = self.binding.claim(client.user_agent, client.ip)
        if bound:
            claims["bnd"] = bound
        return self.codec.encode(claims)

    async def issue_for_user(
        self, session: AsyncSession, user: User, *, amr: list[str], client: Caller,
        scope: str | None = None, auth_time: int | None = None,
    ) -> dict[str, Any]:
        """A new family: access + refresh token after a completed login."""
        issued = await self.issue_family(session, user, amr=amr, client=client, scope=scope,
                                         auth_time=auth_time)
        return issued.body

    async def issue_family(
        self, session: AsyncSession, user: User, *, amr: list[str], client: Caller,
        scope: str | None = None, auth_time: int | None = None, refresh: bool = True,
    ) -> Issued:
        """A new family and its access token, with a refresh token unless `refresh` is off
        (the authorization code grant without `offline_access`)."""
        auth_time = auth_time or int(time.time())
        family = await TokenRepository(session).add_family(RefreshFamily(
            user_id=user.id, client_id=client.client_id, scope=scope, amr=amr,
            auth_time=auth_time, user_agent=(client.user_agent or "")[:300] or None,
            expires_at=utcnow() + timedelta(seconds=self.settings.refresh_token_ttl),
        ))
        claims = self._access_claims(
            sub=str(user.id), sid=str(family.id), roles=list(user.roles or []), amr=amr,
            auth_time=auth_time, scope=scope, client_id=client.client_id, client=client,
        )
        access = self.codec.encode(claims)
        token = await self._new_refresh(session, family, str(user.id), client) if refresh else None
        self.meter.token("issued")
        return Issued(self._body(access, scope, token), family, claims)

    def issue_step_up(self, user: User, claims: dict[str, Any], method_amr: list[str],
                      client: Caller) -> dict[str, Any]:
        """A fresh access token in the same family, with `mfa` in `amr` and `auth_time` now."""
        amr = list(dict.fromkeys([*claims.get("amr", []), "mfa", *method_amr]))
        access = self.codec.encode(self._access_claims(
            sub=str(user.id), sid=claims.get("sid"), roles=list(user.roles or []), amr=amr,
            auth_time=int(time.time()), scope=claims.get("scope"),
            client_id=claims.get("client_id"), client=client,
        ))
        self.meter.token("issued")
        return self._body(access, claims.get("scope"))

    def issue_for_client(self, client_id: str, scope: str | None, client: Caller,
                         not_before: int | None = None) -> dict[str, Any]:
        """Client credentials (RFC 6749 §4.4): an access token whose subject is the client.
        `cnb`: the client's not-before at issue; a secret rotation moves it on (introspection
        then refuses the token)."""
        claims = self._access_claims(
            sub=client_id, sid=None, roles=[], amr=[], auth_time=int(time.time()), scope=scope,
            client_id=client_id, client=client,
        )
        claims["gty"] = "client_credentials"
        if not_before:
            claims["cnb"] = not_before
        self.meter.token("issued")
        return self._body(self.codec.encode(claims), scope)

    # ------------------------------------------------------------------- refresh
    def decode_refresh(self, token: str) -> dict[str, Any]:
        try:
            return self.codec.decode(token, typ=tokens.REFRESH)
        except TokenError:
            raise InvalidGrant(REFRESH_INVALID) from None

    async def rotate(
        self, session: AsyncSession, token: str, client: Caller
    ) -> dict[str, Any]:
        """Spend `token` and issue the next of its family; a replay revokes the family."""
        claims = self.decode_refresh(token)
        if not self.binding.matches(claims.get("bnd"), client.user_agent, client.ip):
            # Checked before the token is spent: a thief's attempt leaves the owner's token usable.
            await self.audit.record("binding_mismatch", subject=claims.get("sub"),
                                    client_ip=client.ip, where="refresh")
            raise InvalidGrant(REFRESH_INVALID)
        repo = TokenRepository(session)
        spender = self._spender(client)
        # The deadline: a COMMIT arriving after the /token budget is refused by the database,
        # so a rotation answered 503 (timed out) is never committed later.
        family_id = await repo.spend_refresh(claims["jti"], spender,
                                             deadline=self.settings.db_token_timeout)
        if family_id is None:
            return await self._spent_again(session, claims, client, spender)
        family, user = await repo.get_family_and_user(family_id)
        if family is None or family.revoked_at is not None or str(family.id) != claims.get("sid"):
            raise InvalidGrant(REFRESH_INVALID)
        if user is None or not user.is_active:
            await self._revoke_anyway(session, family, "user_inactive")
            raise InvalidGrant(REFRESH_INVALID)
        access = self.codec.encode(self._access_claims(
            sub=str(user.id), sid=str(family.id), roles=list(user.roles or []),
            amr=list(family.amr or []), auth_time=family.auth_time, scope=family.scope,
            client_id=family.client_id, client=client,
        ))
        refresh = await self._new_refresh(session, family, str(user.id), client)
        body = self._body(access, family.scope, refresh)
        if self.settings.refresh_reuse_grace > 0:
            sealed = self._successors.encrypt(json.dumps(body).encode())
            await repo.keep_successor(claims["jti"], sealed)
        self.meter.token("refreshed")
        return body

    def _spender(self, client: Caller) -> str:
        """Who presents the token: the User-Agent and the address (keyed digests), in every
        binding mode, so that a reuse from another client is never taken for a retry."""
        return self.binding.fingerprint(client.user_agent, client.ip)

    async def _spent_again(self, session: AsyncSession, claims: dict[str, Any],
                           client: Caller, spender: str) -> dict[str, Any]:
        """The token exists but was spent (or expired). The same client within the grace
        window gets the same answer again; any other reuse revokes the family (RFC 9700
        §4.14), atomically with respect to the rotation that spent it (the same row)."""
        repo = TokenRepository(session)
        known = await repo.get_refresh(claims["jti"])
        if known is None or known.used_at is None:
            raise InvalidGrant(REFRESH_INVALID)
        family = await repo.get_family(known.family_id)
        if family is None or family.revoked_at is not None:
            raise InvalidGrant(REFRESH_INVALID)
        replay = await self._replay(repo, known, spender)
        if replay is not None:
            return replay
        user_id, family_id = family.user_id, family.id
        await self._revoke_anyway(session, family, "refresh_token_reuse")
        await self.audit.record("token_reuse", user_id=user_id, client_ip=client.ip,
                                family=str(family_id))
        raise InvalidGrant(REFRESH_INVALID)

    async def _revoke_anyway(self, session: AsyncSession, family: RefreshFamily,
                             reason: str) -> None:
        """The request fails, the revocation of `family` stands (`db.outlive`)."""
        family_id, expires_at = family.id, family.expires_at

        async def revoke(own: AsyncSession) -> None:
            await self.revocations.revoke_family(own, family_id, expires_at, reason)

        await outlive(session, revoke)

    async def _replay(self, repo: TokenRepository, spent: RefreshToken,
                      spender: str) -> dict[str, Any] | None:
        """The successor pair of `spent`, if this is a retry the grace window allows: the
        same binding, within the window, and the successor refresh token still unspent."""
        grace = self.settings.refresh_reuse_grace
        if grace <= 0 or not spent.successor or not spent.spent_binding or spent.used_at is None:
            return None
        used_at = spent.used_at.replace(tzinfo=spent.used_at.tzinfo or UTC)
        if (self.now() - used_at).total_seconds() > grace:
            return None
        if not hmac.compare_digest(spent.spent_binding, spender):
            return None
        try:
            body: dict[str, Any] = json.loads(self._successors.decrypt(spent.successor))
            successor = self.codec.decode(body["refresh_token"], typ=tokens.REFRESH)
        except (DecryptionError, TokenError, ValueError, KeyError):
            return None
        current = await repo.get_refresh(str(successor["jti"]))
        if current is None or current.used_at is not None:
            return None  # it rotated on since: this is no retry of the last rotation
        return body

    # -------------------------------------------------------------------- revoke
    async def revoke_access(self, session: AsyncSession, claims: dict[str, Any],
                            reason: str) -> None:
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        sid = claims.get("sid") or ""
        await self.revocations.revoke_jti(session, claims["jti"], expires, reason, sid=sid,
                                          family=sid, sub=str(claims.get("sub") or ""))
        self.meter.token("revoked")

    async def revoke_family_of(self, session: AsyncSession, sid: str | None, reason: str) -> None:
        if not sid:
            return
        try:
            family_id = uuid.UUID(sid)
        except ValueError:
            return
        family = await TokenRepository(session).get_family(family_id)
        if family is not None:
            await self.revocations.revoke_family(session, family.id, family.expires_at, reason)
            self.meter.token("revoked")

    async def revoke_user_families(
        self, session: AsyncSession, user_id: uuid.UUID, reason: str, *, keep: str | None = None
    ) -> int:
        """Revoke every live family of a user (but `keep`, the caller's own)."""
        count = 0
        for family in await TokenRepository(session).live_families(user_id):
            if keep and str(family.id) == keep:
                continue
            await self.revocations.revoke_family(session, family.id, family.expires_at, reason)
            self.meter.token("revoked")
            count += 1
        self.revocations.announce_after_commit(session, reason, sub=str(user_id))  # all of them
        return count

    async def revoke_client_families(self, session: AsyncSession, client_id: str,
                                     reason: str) -> int:
        """Revoke every live family issued to a client (a deleted client's users' tokens)."""
        families = await TokenRepository(session).live_families_of_client(client_id)
        for family in families:
            await self.revocations.revoke_family(session, family.id, family.expires_at, reason)
            self.meter.token("revoked")
        return len(families)

    async def revoke(self, session: AsyncSession, token: str, hint: str | None,
                     requester: str | None = None) -> None:
        """RFC 7009: revoke whatever this token is; unknown tokens are silently accepted.

        A token issued to a client is revoked only by that client (§2.1); another client's
        request is accepted and changes nothing, so it learns nothing. A token issued to no
        client may be revoked by any authenticated one."""
        order = (tokens.REFRESH, tokens.ACCESS) if hint == "refresh_token" else (
            tokens.ACCESS, tokens.REFRESH)
        for typ in order:
            try:
                claims = self.codec.decode(token, typ=typ)
            except TokenError:
                continue
            if typ == tokens.ACCESS:
                if requester is None or claims.get("client_id") in (None, requester):
                    await self.revoke_access(session, claims, "revoked")
            else:
                owner = await self._family_client(session, claims.get("sid"))
                if requester is None or owner in (None, requester):
                    await self.revoke_family_of(session, claims.get("sid"), "revoked")
            return

    async def _family_client(self, session: AsyncSession, sid: str | None) -> str | None:
        try:
            family = await TokenRepository(session).get_family(uuid.UUID(str(sid)))
        except ValueError:
            return None
        return family.client_id if family is not None else None
