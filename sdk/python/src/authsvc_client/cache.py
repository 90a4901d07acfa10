"""The cache of active introspection answers, safe by construction.

It answers only while the revocation stream is connected (`up()` after the stream's `ready`):
`down()` empties it and turns it off the moment the stream breaks, so a revocation it could not
hear can never be outlived by a cached "active". Each event drops the entries it names (`jti`,
`sid`/`family`, `sub`, `kid`); an event naming none of them, or a `reset`, drops everything.

A fill races with events: an answer read before a revocation may arrive after its event. So a
fill is kept only if nothing happened since it started (`begin()` returns a generation; any
event, connect or disconnect moves it on).

Entries are keyed by a digest of the token *and* the client it was presented by (User-Agent,
address): authsvc checks the token's client binding, so an answer for one client says nothing
about another. An entry lives `ttl` seconds at most, never past the token's `exp`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

MATCHED = ("jti", "sid", "sub", "kid")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def cache_key(token: str, client_ip: str | None, user_agent: str | None) -> str:
    raw = "\0".join((token, client_ip or "", user_agent or "", str(client_ip is None),
                     str(user_agent is None)))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def header_kid(token: str) -> str | None:
    """The `kid` of a JWT's header, unverified: only to find the entries a retired key signed."""
    try:
        head = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return str(kid) if kid else None


class AnswerCache:
    def __init__(self, ttl: float, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self.connected = False
        self.generation = 0
        self.stale_after = 45.0  # seconds of silence after which the stream counts as dead
        self.last_heard = 0.0
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, dict[str, Any], tuple[tuple[str, str], ...]]] = {}
        self._index: dict[tuple[str, str], set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    # ------------------------------------------------------------------ reads
    def begin(self) -> int:
        return self.generation

    @property
    def live(self) -> bool:
        return self.connected and self.clock() - self.last_heard <= self.stale_after

    def get(self, key: str) -> dict[str, Any] | None:
        if not self.live:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self.clock():
                self._remove(key)
                return None
            return dict(entry[1])

    def put(self, key: str, answer: dict[str, Any], generation: int, token: str) -> None:
        """Remember an active answer, unless the stream is down or anything happened since
        `generation`."""
        if self.ttl <= 0 or answer.get("active") is not True:
            return
        lifetime = self.ttl
        exp = answer.get("exp")
        if isinstance(exp, int | float):
            lifetime = min(lifetime, exp - time.time())
        if lifetime <= 0:
            return
        names = [("tok", token_digest(token))]
        names += [(name, str(answer[name])) for name in ("jti", "sid", "sub") if answer.get(name)]
        kid = header_kid(token)
        if kid:
            names.append(("kid", kid))
        with self._lock:
            if not self.live or generation != self.generation:
                return
            if len(self._entries) >= self.max_entries:
                self._clear()
            self._remove(key)
            self._entries[key] = (self.clock() + lifetime, dict(answer), tuple(names))
            for name in names:
                self._index.setdefault(name, set()).add(key)

    # ----------------------------------------------------------- invalidation
    def drop(self, event: dict[str, Any]) -> None:
        """A `revoked` event: forget the entries it names (`family` is the `sid` of access
        tokens); an event naming nothing we know drops everything."""
        names = [(field, str(event[field])) for field in MATCHED if event.get(field)]
        if event.get("family"):
            names.append(("sid", str(event["family"])))
        with self._lock:
            self.generation += 1
            if not names:
                self._clear()
                return
            for name in names:
                for key in list(self._index.get(name, ())):
                    self._remove(key)

    def drop_token(self, token: str) -> None:
        with self._lock:
            self.generation += 1
            for key in list(self._index.get(("tok", token_digest(token)), ())):
                self._remove(key)

    def reset(self) -> None:
        with self._lock:
            self.generation += 1
            self._clear()

    def heard(self) -> None:
        """A line arrived on the stream (an event or a keep-alive)."""
        self.last_heard = self.clock()

    def up(self, stale_after: float = 45.0) -> None:
        """The stream is live (its `ready` arrived): caching may start."""
        with self._lock:
            self.generation += 1
            self._clear()
            self.stale_after = stale_after
            self.last_heard = self.clock()
            self.connected = True

    def down(self) -> None:
        """The stream broke or closed: stop caching and forget everything, now."""
        with self._lock:
            self.connected = False
            self.generation += 1
            self._clear()

    # --------------------------------------------------------------- helpers
    def _clear(self) -> None:
        self._entries.clear()
        self._index.clear()

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for name in entry[2]:
            keys = self._index.get(name)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._index[name]
