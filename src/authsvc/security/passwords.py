"""Password hashing: the one module that knows passlib (swap it here and nowhere else).

bcrypt reads only the first 72 bytes of its input. We never truncate silently: passwords are
hashed with passlib's `bcrypt_sha256` (HMAC-SHA256 of the whole password, keyed by the salt, then
bcrypt), so every byte counts, and plain `$2b$` hashes from elsewhere still verify and are
upgraded at the next login. Hashing runs in a worker pool, never on the event loop: bcrypt
releases the GIL, so the pool uses every core.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple

from passlib.context import CryptContext

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class HashingService:
    """bcrypt with a configurable work factor, rehash-on-login, the same cost for unknown users."""

    def __init__(self, rounds: int, *, threads: int = 0) -> None:
        self.rounds = rounds
        self._context = CryptContext(
            schemes=["bcrypt_sha256", "bcrypt"],
            deprecated=["bcrypt"],
            bcrypt_sha256__rounds=rounds,
            bcrypt__rounds=rounds,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=threads or os.cpu_count() or 2, thread_name_prefix="bcrypt"
        )
        # A real hash at the configured cost: unknown and disabled users are checked against
        # it so their answer takes the same time as a wrong password (no user enumeration).
        self._dummy_hash = self._context.hash("authsvc-dummy-password")
        self.verifications = 0  # counted for the brute-force bound tests and metrics

    async def _run(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def hash_password(self, password: str) -> str:
        return await self._run(self._context.hash, password)

    async def verify_password(self, password: str, password_hash: str | None) -> bool:
        """Verify in the pool; with no hash (unknown user) verify against the dummy and fail."""
        self.verifications += 1
        if password_hash is None:
            await self._run(self._context.verify, password, self._dummy_hash)
            return False
        try:
            return bool(await self._run(self._context.verify, password, password_hash))
        except (ValueError, TypeError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return bool(self._context.needs_update(password_hash))
        except (ValueError, TypeError):
            return False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
