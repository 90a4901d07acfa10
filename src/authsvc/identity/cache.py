"""The user cache: what introspection and the session layer need of a user, in Redis.

Readers fill a missing entry with SET NX; every change to a user overwrites it after the change
has committed. A reader that loaded an old row just before a change can therefore never
overwrite the newer entry, so no stale `active` or `roles` is served (the design's 5-minute cache,
invalidated on change).

GET /users/me's answer (the profile: the view plus the display name and the counts of recovery
codes and passkeys) is cached per user *version*: every change that affects it (MFA on or off,
a recovery code used or the set regenerated, a passkey added or removed) goes through
`IdentityService.changed`, which bumps the version, so an answer cached for an older version is
never read again. The version the request asks for comes from the user's current view. For
the same reason each process also keeps the profiles it read, by (user, version), in memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import cast

import orjson
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.identity.models import User
from authsvc.identity.repository import UserRepository
from authsvc.identity.schemas import user_body
from authsvc.kv import Keys
from authsvc.ops.meter import Meter


@dataclass(frozen=True, slots=True)
class UserView:
    id: str
    email: str
    roles: tuple[str, ...]
    active: bool
    email_verified: bool
    totp: bool
    email_mfa: bool
    version: int
    password_reset_required: bool = False  # entries cached before the field load as False

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=str(user.id),
            email=user.email,
            roles=tuple(user.roles or ()),
            active=bool(user.is_active),
            email_verified=bool(user.email_verified),
            totp=bool(user.totp_enabled),
            email_mfa=bool(user.email_mfa_enabled),
            version=int(user.version or 1),
            password_reset_required=bool(user.password_reset_required),
        )

    def dumps(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def loads(cls, raw: bytes) -> UserView:
        data = orjson.loads(raw)
        data["roles"] = tuple(data["roles"])
        return cls(**data)


class UserCache:
    def __init__(
        self, redis: Redis, ttl: int, meter: Meter | None = None,
        notify: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._notify = notify  # tells every process's introspection cache about a change
        self.redis = redis
        self.ttl = ttl
        self.meter = meter or Meter()
        self.hits = 0
        self.misses = 0

    def counted(self, hit: bool) -> None:
        if hit:
            self.hits += 1
        else:
            self.misses += 1
        self.meter.user_cache(hit)

    async def fill(self, view: UserView) -> None:
        await self.redis.set(Keys.user(view.id), view.dumps(), ex=self.ttl, nx=True)

    async def put(self, view: UserView) -> None:
        await self.redis.set(Keys.user(view.id), view.dumps(), ex=self.ttl)
        if self._notify is not None:
            await self._notify(f"user:{view.id}")

    async def forget(self, user_id: uuid.UUID | str) -> None:
        await self.redis.delete(Keys.user(str(user_id)))
        if self._notify is not None:
            await self._notify(f"user:{user_id}")


# What the profile shows of the factors other rooms keep: (recovery codes left, passkeys), read
# in the profile's session (the composition root joins the MFA and passkey repositories in).
FactorCounts = Callable[[AsyncSession, uuid.UUID], Awaitable[tuple[int, int]]]


class UserDirectory:
    """Cache-aside reads of users for the hot paths (introspection, bearer endpoints, sessions)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], cache: UserCache,
                 factor_counts: FactorCounts) -> None:
        self._sessions = sessions
        self.cache = cache
        self._factor_counts = factor_counts
        # Profiles by (user id, version): a version's profile never changes, so this memory
        # needs no invalidation (a change makes a new version); bounded, dropped when full.
        self._profiles: dict[tuple[str, int], bytes] = {}

    async def view(self, user_id: str, cached: bytes | None = None) -> UserView | None:
        """The user's view: `cached` if the caller already fetched the entry, else from Redis,
        else from the database (then cached with SET NX)."""
        if cached is None:
            cached = cast("bytes | None", await self.cache.redis.get(Keys.user(user_id)))
        if cached:
            self.cache.counted(True)
            return UserView.loads(cached)
        self.cache.counted(False)
        try:
            uid = uuid.UUID(user_id)
        except ValueError:
            return None
        async with self._sessions() as session:
            user = await UserRepository(session).get(uid)
        if user is None:
            return None
        view = UserView.of(user)
        await self.cache.fill(view)
        return view

    async def profile(self, view: UserView) -> bytes | None:
        """GET /users/me's JSON body for `view`'s version: from Redis, else from the database
        (one read, then cached with SET NX under the version read); None for a user deleted or
        disabled meanwhile."""
        known = self._profiles.get((view.id, view.version))
        if known is not None:
            return known
        key = Keys.profile(view.id, view.version)
        cached = cast("bytes | None", await self.cache.redis.get(key))
        if cached:
            self._remember(view.id, view.version, cached)
            return cached
        async with self._sessions() as session:
            # The row first: counts read after it are at least as new as its version (each
            # change to them bumps the version in the same transaction).
            user = await UserRepository(session).get(uuid.UUID(view.id))
            if user is None or not user.is_active:
                return None
            left, passkeys = await self._factor_counts(session, user.id)
        body = orjson.dumps(user_body(user, recovery_codes_left=left, passkeys=passkeys))
        version = int(user.version or 1)
        await self.cache.redis.set(Keys.profile(view.id, version), body, ex=self.cache.ttl,
                                   nx=True)
        self._remember(view.id, version, body)
        return body

    def _remember(self, user_id: str, version: int, body: bytes) -> None:
        if len(self._profiles) >= 10_000:
            self._profiles.clear()
        self._profiles[(user_id, version)] = body
