"""Recording security events: an audit row, a warning log line, and a counter.

An event that belongs to a change (a login that issued tokens, a new client) is written in the
request's own transaction (`session=`): the row exists exactly when the change committed. An event
about a refusal is written in a transaction of its own, so it stays although the request's
transaction rolls back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import uuid
from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.audit.models import AuditEvent
from authsvc.db import independent

log = logging.getLogger("authsvc.audit")

# Events worth a warning: someone may be attacking.
SUSPICIOUS = frozenset({
    "token_reuse", "binding_mismatch", "lockout", "credential_stuffing",
    "login_after_failures", "mfa_token_void", "passkey_sign_count_regressed",
})


class AuditLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, defer: bool = False,
                 subject_key: bytes | None = None, listeners: tuple[Any, ...] = ()) -> None:
        """`defer`: write refusal events from a background task (SQLite, the embedded default,
        has one writer: an event written while the request holds the write lock must wait for
        the request to finish rather than deadlock with it)."""
        self._sessions = sessions
        self._defer = defer
        self._subject_key = subject_key or secrets.token_bytes(32)
        self._pending: set[asyncio.Task[None]] = set()
        self.counts: Counter[str] = Counter()
        # callables(type, details) told of every event (metrics); they must be cheap.
        self.listeners: list[Any] = list(listeners)

    def digest(self, typed: str) -> str:
        """What the trail keeps of a typed username that matched no account: a keyed digest
        (HMAC-SHA256 under a key derived from the data key), the same for the same input, so
        failures still correlate, but a password typed into the username field is not kept."""
        mac = hmac.new(self._subject_key, typed.encode(), hashlib.sha256).hexdigest()
        return f"hmac:{mac[:40]}"

    async def record(
        self,
        type: str,
        *,
        session: AsyncSession | None = None,
        user_id: uuid.UUID | str | None = None,
        subject: str | None = None,
        client_ip: str | None = None,
        **details: Any,
    ) -> None:
        uid = uuid.UUID(str(user_id)) if user_id else None
        self.counts[type] += 1
        for listener in self.listeners:
            listener(type, details)
        level = logging.WARNING if type in SUSPICIOUS else logging.INFO
        log.log(level, "security event %s", type, extra={
            "event": type, "user_id": str(uid) if uid else None, "client_ip": client_ip,
        })
        event = AuditEvent(
            type=type, user_id=uid, subject=subject, client_ip=client_ip, details=details
        )
        if session is not None:
            session.add(event)
            return
        if self._defer:
            task = asyncio.create_task(self._write(event))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return
        await self._write(event)

    async def _write(self, event: AuditEvent) -> None:
        try:
            async with independent(self._sessions) as own:
                own.add(event)
        except Exception:  # an audit failure must not turn a refusal into a 500
            log.exception("could not write audit event %s", event.type)

    async def drain(self) -> None:
        """Wait for deferred writes (at shutdown)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
