"""Server-side browser sessions in Redis (OWASP Session Management Cheat Sheet).

The cookie holds a 256-bit random id and nothing else. Redis holds, under the SHA-256 of that id,
the payload encrypted with AES-GCM (`Encryptor(purpose="session")`), so neither a Redis dump nor a
replica leaks a usable id or the session's contents. Idle and absolute timeouts are enforced here
from the payload's own timestamps; the Redis TTL only collects garbage. A per-user index of key
digests makes "revoke this session" and "log out everywhere" possible.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from authsvc.kv import Keys
from authsvc.security.crypto import DecryptionError, Encryptor
from authsvc.security.csrf import new_csrf_token
from authsvc.sessions.model import Session

__all__ = ["SessionConflict", "SessionStore"]

T = TypeVar("T")
_ID_BYTES = 32
_SID = re.compile(r"\A[A-Za-z0-9_-]{43}\Z")
_HANDLE_CHARS = 16
_RETRIES = 8
_STAMPS = frozenset({"created_at", "last_seen"})


class SessionConflict(Exception):
    """A session kept changing under a transaction; the caller may retry the request."""


class SessionStore:
    """Create, load, save, rotate and destroy browser sessions.

    `clock` returns seconds since the epoch and may be replaced (tests move time). `key_prefix` is
    prepended to every key (tests isolate their runs with it).
    """

    def __init__(
        self,
        redis: Redis,
        encryptor: Encryptor,
        idle_timeout: int,
        absolute_timeout: int,
        clock: Callable[[], float] = time.time,
        *,
        key_prefix: str = "",
    ) -> None:
        if idle_timeout <= 0 or absolute_timeout <= 0:
            raise ValueError("session timeouts must be positive")
        self._redis = redis
        self._box = encryptor
        self.idle_timeout = idle_timeout
        self.absolute_timeout = absolute_timeout
        self.clock = clock
        self._prefix = key_prefix

    # ------------------------------------------------------------------ public API
    def handle(self, sid: str) -> str:
        """The public name of a session for lists and revoke buttons; never reveals the id."""
        return _handle(_digest(sid))

    async def create(self, data: Mapping[str, Any] | None = None) -> tuple[str, Session]:
        """Start a session holding `data` (Session fields); returns the new id and the session."""
        values = dict(data or {})
        unknown = set(values) - Session.field_names() | (set(values) & _STAMPS)
        if unknown:
            raise TypeError(f"not settable session fields: {', '.join(sorted(unknown))}")
        now = self.clock()
        values.setdefault("csrf_token", new_csrf_token())
        session = Session(created_at=now, last_seen=now, **values)
        sid = secrets.token_urlsafe(_ID_BYTES)
        digest = _digest(sid)

        async def write(pipe: Pipeline) -> None:
            pipe.multi()
            self._queue_write(pipe, digest, session, now, exists=False)

        await self._transact(write, self._key(digest))
        return sid, session

    async def load(self, sid: str | None) -> Session | None:
        """The live session for `sid`, its idle clock restarted; None if unknown or timed out."""
        digest = _digest_or_none(sid)
        if digest is None:
            return None
        key = self._key(digest)
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            session = await self._read(pipe, key)
            now = self.clock()
            if session is None or self._expired(session, now):
                pipe.multi()
                self._queue_delete(pipe, digest, session)
                await _execute_quietly(pipe)
                return None
            session.last_seen = now
            pipe.multi()
            self._queue_write(pipe, digest, session, now, exists=True)
            # A concurrent write already refreshed the session; ours must not overwrite it.
            await _execute_quietly(pipe)
            return session

    async def save(self, sid: str, session: Session) -> bool:
        """Store `session` under `sid`; False when that session no longer exists or timed out."""
        digest = _digest_or_none(sid)
        if digest is None:
            return False
        key = self._key(digest)

        async def write(pipe: Pipeline) -> bool:
            # Not pipe.exists(): a Cluster pipeline splits EXISTS by slot and, while WATCHing,
            # hands back the pipeline itself (always true) instead of the answer.
            alive = bool(await pipe.execute_command("EXISTS", key))
            now = self.clock()
            pipe.multi()
            if not alive or self._expired(session, now):
                self._queue_delete(pipe, digest, session if alive else None)
                return False
            self._queue_write(pipe, digest, session, now, exists=True)
            return True

        return await self._transact(write, key)

    async def rotate(self, sid: str, session: Session | None = None) -> str | None:
        """Move the session to a fresh id and kill the old id in the same transaction.

        The new id holds `session` if given (e.g. with the user just signed in), otherwise the
        stored payload. Call it at login, at MFA completion, at privilege changes (session
        fixation, OWASP). Returns None when `sid` is unknown or timed out.
        """
        old = _digest_or_none(sid)
        if old is None:
            return None
        old_key = self._key(old)
        new_sid = secrets.token_urlsafe(_ID_BYTES)
        new = _digest(new_sid)

        async def move(pipe: Pipeline) -> bool:
            stored = await self._read(pipe, old_key)
            now = self.clock()
            pipe.multi()
            if stored is None or self._expired(stored, now):
                self._queue_delete(pipe, old, stored)
                return False
            payload = session if session is not None else stored
            payload.last_seen = now
            self._queue_delete(pipe, old, stored)
            self._queue_write(pipe, new, payload, now, exists=False)
            return True

        return new_sid if await self._transact(move, old_key) else None

    async def destroy(self, sid: str | None) -> None:
        """End the session now (logout). Unknown ids are ignored."""
        digest = _digest_or_none(sid)
        if digest is not None:
            await self._destroy_digest(digest)

    async def list_for_user(self, user_id: str) -> list[tuple[str, Session]]:
        """The user's live sessions as `(handle, session)`, most recently used first."""
        index = self._user_key(user_id)
        # The casts say what the client answers: bytes (kv.make_redis: decode_responses=False).
        digests = sorted(d.decode() for d in cast("set[bytes]", await self._redis.smembers(index)))
        if not digests:
            return []
        raws = cast("list[bytes | None]", await self._redis.mget([self._key(d) for d in digests]))
        now = self.clock()
        live: list[tuple[str, Session]] = []
        stale: list[str] = []
        for digest, raw in zip(digests, raws, strict=True):
            session = self._decode(raw) if raw is not None else None
            if session is None or session.user_id != user_id or self._expired(session, now):
                stale.append(digest)
            else:
                live.append((_handle(digest), session))
        if stale:
            await self._redis.srem(index, *stale)
        live.sort(key=lambda item: item[1].last_seen, reverse=True)
        return live

    async def destroy_for_user(self, user_id: str, except_sid: str | None = None) -> int:
        """End every session of the user but `except_sid`; returns how many were ended."""
        keep = _digest_or_none(except_sid)
        index = self._user_key(user_id)

        async def purge(pipe: Pipeline) -> int:
            digests = {d.decode() for d in cast("set[bytes]", await pipe.smembers(index))} - {keep}
            pipe.multi()
            if digests:
                pipe.delete(*(self._key(d) for d in digests))
                pipe.srem(index, *digests)
            return len(digests)

        # Watching the index: a login that lands mid-purge retries the purge instead of surviving.
        return await self._transact(purge, index)

    async def destroy_by_handle(self, user_id: str, handle: str) -> bool:
        """End one of the user's sessions by its public handle; False if it is not theirs."""
        if not isinstance(handle, str) or not handle.isascii():
            return False
        members = cast("set[bytes]", await self._redis.smembers(self._user_key(user_id)))
        for raw in members:
            digest = raw.decode()
            if secrets.compare_digest(_handle(digest), handle):
                await self._destroy_digest(digest)
                return True
        return False

    # ---------------------------------------------------------------- internals
    def _key(self, digest: str) -> str:
        return self._prefix + Keys.session(digest)

    def _user_key(self, user_id: str) -> str:
        return self._prefix + Keys.user_sessions(user_id)

    def _expired(self, session: Session, now: float) -> bool:
        return (
            now - session.last_seen >= self.idle_timeout
            or now - session.created_at >= self.absolute_timeout
        )

    def _ttl(self, session: Session, now: float) -> int:
        remaining = min(
            self.idle_timeout - (now - session.last_seen),
            self.absolute_timeout - (now - session.created_at),
        )
        return max(1, math.ceil(remaining))

    def _decode(self, raw: bytes) -> Session | None:
        try:
            return Session.from_json(self._box.decrypt(raw.decode("ascii")))
        except (DecryptionError, UnicodeDecodeError, ValueError, TypeError):
            return None

    async def _read(self, pipe: Pipeline, key: str) -> Session | None:
        raw = cast("bytes | None", await pipe.get(key))
        return self._decode(raw) if raw is not None else None

    def _queue_write(
        self, pipe: Pipeline, digest: str, session: Session, now: float, *, exists: bool
    ) -> None:
        # Set XX on updates: a session destroyed meanwhile must not come back to life.
        sealed = self._box.encrypt(session.to_json())
        pipe.set(self._key(digest), sealed, ex=self._ttl(session, now), xx=exists, nx=not exists)
        if session.user_id is not None:
            index = self._user_key(session.user_id)
            pipe.sadd(index, digest)
            # No member outlives absolute_timeout from now, so neither need the index.
            pipe.expire(index, self.absolute_timeout)

    def _queue_delete(self, pipe: Pipeline, digest: str, session: Session | None) -> None:
        pipe.delete(self._key(digest))
        if session is not None and session.user_id is not None:
            pipe.srem(self._user_key(session.user_id), digest)

    async def _destroy_digest(self, digest: str) -> None:
        key = self._key(digest)

        async def delete(pipe: Pipeline) -> None:
            session = await self._read(pipe, key)
            pipe.multi()
            self._queue_delete(pipe, digest, session)

        await self._transact(delete, key)

    async def _transact(self, fn: Callable[[Pipeline], Awaitable[T]], *watch: str) -> T:
        """Run `fn` under WATCH/MULTI/EXEC, retrying a few times when a watched key changes."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(_RETRIES):
                try:
                    await pipe.watch(*watch)
                    result = await fn(pipe)
                    await pipe.execute()
                    return result
                except WatchError:
                    continue  # execute() has already reset the pipeline
        raise SessionConflict("the session changed too often to update it")


async def _execute_quietly(pipe: Pipeline) -> None:
    try:
        await pipe.execute()
    except WatchError:
        pass


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _digest_or_none(sid: str | None) -> str | None:
    # Only well-formed ids reach Redis: anything else is refused before any lookup.
    return _digest(sid) if isinstance(sid, str) and _SID.match(sid) else None


def _handle(digest: str) -> str:
    return hashlib.sha256(b"authsvc/session-handle|" + digest.encode()).hexdigest()[:_HANDLE_CHARS]
