"""The revocation list: Redis in front (read on every introspection), PostgreSQL behind it.

Every revocation is written to both: first to PostgreSQL, in the revoking transaction, which also
takes the next *high-water mark* from a sequence; then, once that transaction has committed, to
Redis (the entry, and the mark raised in the list's "complete" marker, in one script). Redis keys
live only as long as the token they kill could.

The marker says "the list in Redis is complete up to mark M". Each process knows the highest
mark handed out (its own revocations, the marks published with every revocation, and a poll of
the sequence every `AUTHSVC_REVOCATION_MARK_POLL` seconds). A reader that finds the marker gone
(restart, FLUSHALL) or *behind* (a Redis restored from an older snapshot, a failover to a lagging
replica) starts one reload from the database in the background and, until the list is complete
again, asks the database itself (two primary-key lookups, `is_revoked`): a rebuild of a million
entries takes tens of seconds, and nobody waits for it or gets a 503 meanwhile. The database is
the list's truth, so that answer is never `active: true` for an acknowledged revocation.

Why the order cannot lose an acknowledged revocation: the Redis write comes after the commit, so
a reload that runs in between finds the revocation in the database; a reload takes the
revocation lock exclusively (revoking transactions hold it shared), so it never reads the
database past a revocation that is in flight; and a revocation that commits after a reload read
the database carries a mark above the reloaded one, so the marker it finds is behind until the
revocation's own write raised it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.db import after_commit
from authsvc.kv import Keys
from authsvc.tokens.repository import TokenRepository

Notify = Callable[[str], Awaitable[None]]
Announce = Callable[..., Awaitable[object]]  # (reason, jti=, family=, sid=, sub=): the feed

log = logging.getLogger("authsvc.revocations")

# KEYS[1] an entry, KEYS[2] the marker; ARGV[1] the entry's value, ARGV[2] its TTL, ARGV[3] its
# mark. The marker is raised only where it exists: a missing marker already means "reload".
_WRITE = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local mark = redis.call('GET', KEYS[2])
if mark and tonumber(mark) < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[3])
end
return 1
"""


# The end of a reload: KEYS[1] the marker, KEYS[2] the reload's fence, ARGV[1] the fence's
# value (this reload's id), ARGV[2] the mark. The marker says "complete" only if the fence this
# reload set before its first entry is still there: a FLUSHDB, a restart or a failover while it
# wrote took the fence with the entries, and then no marker is written (readers keep asking
# the database, and the next one starts another reload).
_COMPLETE = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
return 1
"""


# One chunk of the reload. KEYS[1] the marker (it routes the call: the entries share its hash
# tag, so on a Cluster they live in its slot); ARGV[1] the entries' key prefix, ARGV[2] their
# ids and ARGV[3] their TTLs, each space-separated in the same order. Three arguments, not two a
# row: redis-py packs every argument in Python.
_LOAD = """
local ttls = {}
for ttl in string.gmatch(ARGV[3], '%d+') do ttls[#ttls + 1] = ttl end
local n = 0
for id in string.gmatch(ARGV[2], '%S+') do
  n = n + 1
  redis.call('SET', ARGV[1] .. id, 'reloaded', 'EX', ttls[n])
end
return n
"""
RELOAD_CHUNK = 5000  # rows a fetch from the cursor and entries a script call


def _ttl_until(expires_at: datetime | int) -> int:
    end = expires_at if isinstance(expires_at, int) else int(expires_at.timestamp())
    return max(1, end - int(time.time()) + 60)


def parse_mark(value: bytes | str | None) -> int | None:
    """The marker's mark, or None when there is no (usable) marker."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


class RevocationList:
    def __init__(
        self, redis: Redis, sessions: async_sessionmaker[AsyncSession],
        notify: Notify | None = None, announce: Announce | None = None, poll: float = 1.0,
    ) -> None:
        self._notify = notify  # tells every process's introspection cache
        self.announce = announce  # tells resource servers (GET /revocations/stream)
        self.redis = redis
        self._sessions = sessions
        self._reload_lock = asyncio.Lock()
        self._write = redis.register_script(_WRITE)
        self._load = redis.register_script(_LOAD)
        self._complete = redis.register_script(_COMPLETE)
        self.known = 0  # the highest mark this process knows was handed out
        self.poll = poll
        self._polled: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._rebuild: asyncio.Task[None] | None = None  # the background rebuild, while it runs

    # ------------------------------------------------------------------ writes
    async def revoke_jti(
        self, session: AsyncSession, jti: str, expires_at: datetime, reason: str, **ids: str
    ) -> None:
        """`ids`: what else the event names (`sid`, `family`, `sub`)."""
        await TokenRepository(session).add_revocation(jti, expires_at, reason)
        mark = await self._mark(session)
        self._after_commit(session, Keys.revoked_jti(jti), reason, expires_at, mark, f"jti:{jti}",
                           {"jti": jti, **ids})

    async def revoke_family(
        self, session: AsyncSession, family_id: uuid.UUID, expires_at: datetime, reason: str
    ) -> None:
        await TokenRepository(session).revoke_family(family_id, reason)
        mark = await self._mark(session)
        # access tokens carry their family as `sid`
        self._after_commit(session, Keys.revoked_family(str(family_id)), reason, expires_at,
                           mark, f"family:{family_id}",
                           {"family": str(family_id), "sid": str(family_id)})

    async def _mark(self, session: AsyncSession) -> int:
        """One mark a transaction, however many revocations it makes."""
        mark = session.info.get("revocation_mark")
        if mark is None:
            mark = await TokenRepository(session).next_revocation_mark()
            session.info["revocation_mark"] = mark
        return int(mark)

    def _after_commit(self, session: AsyncSession, key: str, reason: str,
                      expires_at: datetime, mark: int, what: str, ids: dict[str, str]) -> None:
        async def write() -> None:
            self.seen(mark)  # committed: this process never accepts a marker below it again
            await self.write(key, reason, expires_at, mark)
            if self._notify is not None:
                await self._notify(f"{what}@{mark}")
            if self.announce is not None:
                await self.announce(reason, **ids)

        after_commit(session, write)

    def announce_after_commit(self, session: AsyncSession, reason: str, **ids: str) -> None:
        """Tell resource servers (GET /revocations/stream) once the transaction committed: an
        event heard before the commit would let them cache the still-active answer again."""
        announce = self.announce
        if announce is not None:
            async def send() -> None:
                await announce(reason, **ids)

            after_commit(session, send)

    async def write(self, key: str, reason: str, expires_at: datetime | int, mark: int) -> None:
        """The Redis side of one committed revocation. If Redis refuses it, the marker is
        dropped (best effort) so that every reader reloads; the caller sees the outage."""
        try:
            await self._write(keys=[key, Keys.revocations_loaded],
                              args=[reason, _ttl_until(expires_at), mark])
        except Exception:
            with contextlib.suppress(Exception):
                await self.redis.delete(Keys.revocations_loaded)
            raise

    def seen(self, mark: int) -> None:
        if mark > self.known:
            self.known = mark

    def seen_message(self, message: str) -> None:
        """An invalidation message `what@mark` (from another process): learn its mark."""
        _, _, mark = message.rpartition("@")
        if mark.isdigit():
            self.seen(int(mark))

    # ------------------------------------------------------------------ reads
    def is_behind(self, marker: bytes | str | None) -> bool:
        """Is Redis's list (its marker's value) missing or older than what was revoked?"""
        mark = parse_mark(marker)
        return mark is None or mark < self.known

    def reload_soon(self) -> None:
        """Start rebuilding the Redis side in the background, unless a rebuild already runs
        in this process (the revocation lock makes the processes of a deployment take turns,
        and a process that finds the list complete after its turn does nothing)."""
        if self._rebuild is None or self._rebuild.done():
            self._rebuild = asyncio.get_running_loop().create_task(
                self._reload_logged(), name="authsvc-revocation-rebuild")

    async def _reload_logged(self) -> None:
        try:
            await self.ensure_loaded()
        except Exception:  # the next reader that finds the list behind starts another
            log.exception("revocation list reload failed")

    async def revoked_in_database(self, jti: str, sid: str | None) -> bool:
        """The database's answer, for readers that find the Redis side behind."""
        try:
            family = uuid.UUID(sid) if sid else None
        except ValueError:
            family = None  # not a family id of ours: nothing to look up
        async with self._sessions() as session:
            return await TokenRepository(session).is_revoked(jti, family)

    async def ensure_loaded(self) -> None:
        """Rebuild the Redis side from the database if Redis lost it or is behind. Idempotent."""
        async with self._reload_lock:
            if not self.is_behind(await self.redis.get(Keys.revocations_loaded)):
                return
            started = time.monotonic()
            async with self._sessions() as session:
                repo = TokenRepository(session)
                mark = await repo.lock_revocations()
                # Another process may have reloaded the list while this one waited for the lock
                # (every worker of a deployment finds the marker gone at once): once is enough.
                if not self.is_behind(await self.redis.get(Keys.revocations_loaded)):
                    await session.rollback()
                    return
                fence = uuid.uuid4().hex
                await self.redis.set(Keys.revocations_loading, fence, ex=3600)
                jtis = await self._reload(repo.live_revocations(RELOAD_CHUNK), Keys.revoked_jti)
                families = await self._reload(repo.revoked_families(RELOAD_CHUNK),
                                              Keys.revoked_family)
                # Last, and before the lock is released: complete up to `mark`, unless Redis
                # lost what this reload wrote meanwhile.
                complete = await self._complete(
                    keys=[Keys.revocations_loaded, Keys.revocations_loading], args=[fence, mark])
                await session.rollback()  # releases the lock
            if not complete:
                log.warning("revocation list reload lost its writes (Redis flushed or restarted "
                            "meanwhile): the database answers until the next reload")
                return
            self.seen(mark)
            log.warning(
                "revocation list reloaded into Redis: %d tokens, %d families, mark %d, in %.2f s",
                jtis, families, mark, time.monotonic() - started,
            )

    async def _reload(self, chunks: AsyncIterator[Sequence[tuple[Any, datetime]]],
                      key: Callable[[str], str]) -> int:
        """Write each chunk of (id, expiry) rows as one script call; how many rows there were.

        One call a chunk, not one command a row: redis-py packs and parses every pipelined
        command in Python, which took 10 s for 100,000 entries (with the event loop blocked
        while it packed); a chunk is one command of three arguments, and the loop runs between
        chunks. `key("")` is the entries' prefix (`key(id)` is prefix + id)."""
        prefix = key("")

        async def write(rows: Sequence[tuple[Any, datetime]]) -> int:
            return int(await self._load(
                keys=[Keys.revocations_loaded],
                args=[prefix, " ".join(str(ident) for ident, _ in rows),
                      " ".join(str(_ttl_until(expires)) for _, expires in rows)]))

        count = 0
        async for rows in chunks:
            count += await write(rows)
        return count

    # ------------------------------------------------------------- mark poll
    async def refresh_known(self, *, lagged: bool) -> None:
        """Learn the database's mark. `lagged`: adopt the value read one poll earlier, so a
        revocation between its commit and its Redis write is not mistaken for a lost list."""
        async with self._sessions() as session:
            mark = await TokenRepository(session).revocation_mark()
        if not lagged:
            self.seen(mark)
        elif self._polled is not None:
            self.seen(self._polled)
        self._polled = mark

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._poll_marks(), name="authsvc-revocation-mark")

    async def stop(self) -> None:
        for task in (self._task, self._rebuild):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=2.0)
        self._task = self._rebuild = None

    async def _poll_marks(self) -> None:
        first = True
        while True:
            try:
                await self.refresh_known(lagged=not first)
                first = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a database outage: keep what we know
                log.debug("revocation mark poll failed: %s", type(exc).__name__)
            await asyncio.sleep(self.poll)
