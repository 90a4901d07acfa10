"""Token introspection (RFC 7662): the hot path of every service behind authsvc.

For an active access token in the steady state this costs a lookup in this process's memory of
tokens found live moments ago (`nearcache.NearCache`, invalidated through pub/sub whenever
anything is revoked or a user changes) and no I/O at all; otherwise one HMAC check (skipped for
a token already verified by this process), one pipelined Redis round trip (the revocation
list's marker with its high-water mark, revoked `jti`, revoked family, cached user, the client's
rate limit), and no SQL.
Anything not currently valid is `{"active": false}`; when Redis cannot be read the caller gets
a 503, never `active: true`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from redis.asyncio import Redis

from authsvc.errors import BindingMismatch, InvalidToken, TokenExpired, TokenRevoked
from authsvc.identity.cache import UserView
from authsvc.kv import Keys
from authsvc.ops.meter import Meter
from authsvc.security import jwt as tokens
from authsvc.security.binding import ClientBinding
from authsvc.security.jwt import TokenCodec, TokenError, TokenExpiredError
from authsvc.tokens.nearcache import MISSING, NearCache
from authsvc.tokens.revocations import RevocationList

INACTIVE: dict[str, Any] = {"active": False}
Limit = tuple[str, str, Any, int]  # (bucket, subject, ratelimit.Rate, requests to count)


CLIENT_CREDENTIALS = "client_credentials"
# Claims copied into an active access token's answer only when the token has them.
OPTIONAL_CLAIMS = ("client_id", "scope", "auth_time", "sid")


class VerifiedTokens:
    """A bounded cache of tokens whose signature this process already checked.

    Only the signature check is skipped on a hit: expiry and revocation are checked on every
    call. Keyed by the whole token string, so a token that differs in any byte is verified anew.
    """

    # About 3 KB a token (the token and its claims): 4,096 tokens ≈ 12 MB a worker. A miss
    # costs one HMAC check, so the bound trades little speed for a flat memory profile.
    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def get(self, token: str) -> dict[str, Any] | None:
        claims = self._items.get(token)
        if claims is not None:
            self._items.move_to_end(token)
        return claims

    def put(self, token: str, claims: dict[str, Any]) -> None:
        self._items[token] = claims
        if len(self._items) > self.size:
            self._items.popitem(last=False)


class Introspector:
    def __init__(
        self,
        codec: TokenCodec,
        binding: ClientBinding,
        redis: Redis,
        revocations: RevocationList,
        load_user: Any,
        check_refresh: Any,
        meter: Meter | None = None,
        near: NearCache | None = None,
        load_client: Any = None,
        limiter: Any = None,
    ) -> None:
        self.meter = meter or Meter()
        self.codec = codec
        self.binding = binding
        self.redis = redis
        self.revocations = revocations
        self.load_user = load_user  # async (user_id) -> UserView | None, fills the cache
        self.check_refresh = check_refresh  # async (claims) -> bool: unspent and family live
        self.load_client = load_client  # async (client_id, cached) -> ClientView | None
        self.verified = VerifiedTokens()
        self.limiter = limiter  # protection.ratelimit.RateLimiter, for `limit=` below
        self.near = near or NearCache(redis, ttl=0)

    def _decode(self, token: str, typ: str) -> dict[str, Any]:
        """Verified claims of a `typ` token, or InvalidToken / TokenExpired."""
        claims = self.verified.get(token)
        if claims is None:
            try:
                claims = self.codec.decode(token, typ=typ)
            except TokenExpiredError:
                raise TokenExpired() from None
            except TokenError:
                raise InvalidToken() from None
            self.verified.put(token, claims)
        if claims.get("typ") != typ:
            raise InvalidToken()
        if claims["exp"] <= time.time():
            raise TokenExpired()
        return claims

    async def verify_access(
        self, token: str, *, user_agent: str | None, ip: str | None, partial: bool = False,
        limit: list[Limit] | None = None,
    ) -> tuple[dict[str, Any], UserView | None]:
        """The one check of an access token, for /introspect and every bearer endpoint.

        Returns the claims and the user's current view (None for a client-credentials token);
        raises TokenExpired, TokenRevoked or InvalidToken (malformed, forged, wrong type or
        audience, bound to another client). `limit`: a list holding one pending rate-limit hit
        (bucket, subject, rate), taken from it when counted in the same Redis round trip.
        """
        claims = self._decode(token, tokens.ACCESS)
        if not self.binding.matches(claims.get("bnd"), user_agent, ip, partial=partial):
            raise BindingMismatch()
        remembered = self.near.get(claims["jti"])
        if remembered is not MISSING:  # found live moments ago, and nothing changed since
            if limit:
                await self.limiter.hit(*limit.pop())
            return claims, remembered
        generation = self.near.generation
        is_client = claims.get("gty") == CLIENT_CREDENTIALS
        revoked, cached = await self._states(claims, with_user=not is_client, limit=limit)
        if revoked:
            raise TokenRevoked()
        view: UserView | None = None
        if not is_client:
            view = await self.load_user(claims["sub"], cached)
            if view is None or not view.active:
                raise TokenRevoked("The access token's user is disabled or deleted.")
        elif self.load_client is not None:
            await self._check_client(claims, cached)
        self.near.put(claims["jti"], view, generation)
        return claims, view

    async def _check_client(self, claims: dict[str, Any], cached: bytes | None) -> None:
        """A client-credentials token dies with its client: deleted, disabled, or its secret
        rotated since (the client's not-before moved past the one the token carries)."""
        client = await self.load_client(str(claims.get("client_id") or claims["sub"])[:64],
                                        cached)
        if client is None or not client.active:
            raise TokenRevoked("The access token's client is disabled or deleted.")
        if int(claims.get("cnb") or 0) < int(client.not_before or 0):
            raise TokenRevoked("The access token's client secret was rotated.")

    async def introspect(
        self, token: str, hint: str | None, user_agent: str | None, ip: str | None,
        limit: Limit | None = None,
    ) -> dict[str, Any]:
        """RFC 7662 §2.2: the token's description, or `{"active": false}` (timed, counted).

        `limit`: the caller's rate-limit hit, counted exactly once: in the pipelined round trip
        of an access token's check, or on its own for anything else."""
        started = time.perf_counter()
        body = await self._introspect(token, hint, user_agent, ip, limit)
        self.meter.introspection("active" if body["active"] else "inactive",
                                 time.perf_counter() - started)
        return body

    async def _introspect(
        self, token: str, hint: str | None, user_agent: str | None, ip: str | None,
        limit: Limit | None = None,
    ) -> dict[str, Any]:
        pending = [limit] if limit is not None else []

        async def settle_alone() -> None:
            if pending:
                await self.limiter.hit(*pending.pop())

        if not token or len(token) > 8192:
            await settle_alone()
            return INACTIVE
        if hint != "refresh_token":
            try:
                claims, view = await self.verify_access(
                    token, user_agent=user_agent, ip=ip, partial=True, limit=pending
                )
            except TokenRevoked:
                return INACTIVE  # the limit was counted in the same round trip
            except (InvalidToken, BindingMismatch):
                pass
            else:
                return self._access_body(claims, view)
        await settle_alone()
        return await self._introspect_rest(token, hint, user_agent, ip)

    async def _introspect_rest(
        self, token: str, hint: str | None, user_agent: str | None, ip: str | None
    ) -> dict[str, Any]:
        try:
            claims = self._decode(token, tokens.REFRESH)
        except InvalidToken:
            if hint == "refresh_token":  # RFC 7662 §2.1: the hint is only a hint
                return await self._introspect(token, "access_token", user_agent, ip)
            return INACTIVE
        if not self.binding.matches(claims.get("bnd"), user_agent, ip, partial=True):
            return INACTIVE
        return await self._refresh(claims)

    async def _states(
        self, claims: dict[str, Any], with_user: bool, limit: list[Limit] | None = None
    ) -> tuple[bool, bytes | None]:
        """(revoked?, cached user entry) in one round trip, with the rate-limit hit `limit`
        if given (TooManyRequests). A revocation list that Redis lost or that is behind is
        rebuilt in the background; meanwhile the database answers (revocations.py)."""
        sid = claims.get("sid")
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(Keys.revocations_loaded)
        pipe.exists(Keys.revoked_jti(claims["jti"]))
        pipe.exists(Keys.revoked_family(sid) if sid else Keys.revoked_family("-"))
        pipe.get(Keys.user(claims["sub"]) if with_user else
                 Keys.client(str(claims.get("client_id") or "-")[:64]))
        hit = limit.pop() if limit else None
        if hit is not None and not self.limiter.can_pipeline:
            await self.limiter.hit(*hit)
            hit = None
        if hit is not None:
            self.limiter.queue(pipe, *hit)
        answers = await pipe.execute(raise_on_error=False)
        for answer in answers[:4]:
            if isinstance(answer, Exception):
                raise answer
        if hit is not None:
            await self.limiter.settle(answers[4], *hit)
        marker, jti_revoked, family_revoked, cached = answers[:4]
        if not self.revocations.is_behind(marker):
            return bool(jti_revoked or family_revoked), cached  # a client token's: its client
        # Redis lost the list (restart, FLUSHALL) or is behind (an older snapshot, a lagging
        # replica): rebuild it in the background, and ask the database meanwhile.
        self.revocations.reload_soon()
        revoked = await self.revocations.revoked_in_database(claims["jti"], sid)
        return revoked, cached

    @staticmethod
    def _access_body(claims: dict[str, Any], view: UserView | None) -> dict[str, Any]:
        """RFC 7662 §2.2: members without a value are left out, never sent as null."""
        body: dict[str, Any] = {
            "active": True,
            "sub": claims["sub"],
            "username": view.email if view else claims["sub"],
            "token_type": "access_token",
            "exp": claims["exp"],
            "iat": claims["iat"],
            "nbf": claims["nbf"],
            "jti": claims["jti"],
            "iss": claims["iss"],
            "aud": claims["aud"],
            "roles": list(view.roles) if view else list(claims.get("roles", [])),
            "amr": claims.get("amr", []),
        }
        for name in OPTIONAL_CLAIMS:
            value = claims.get(name)
            if value is not None:
                body[name] = value
        return body

    async def _refresh(self, claims: dict[str, Any]) -> dict[str, Any]:
        revoked, cached = await self._states(claims, with_user=True)
        if revoked or not await self.check_refresh(claims):
            return INACTIVE
        view = await self.load_user(claims["sub"], cached)
        if view is None or not view.active:
            return INACTIVE
        return {
            "active": True, "sub": claims["sub"], "username": view.email,
            "token_type": "refresh_token", "exp": claims["exp"], "iat": claims["iat"],
            "jti": claims["jti"], "iss": claims["iss"], "aud": claims["aud"],
            **({"sid": claims["sid"]} if claims.get("sid") else {}),
        }
