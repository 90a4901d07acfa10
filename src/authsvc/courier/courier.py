"""Durable mail: an outbox table in the database and a worker in every process that sends it.

`Courier.queue(session, message)` writes the message, encrypted, in the caller's transaction:
a request that rolls back sends nothing, one that commits cannot lose its mail to a crash or a
restart (Ory Kratos' courier keeps its messages the same way). Each server process runs a
worker (`start()` in the app's lifespan, `stop()` at shutdown) that leases due messages with
`FOR UPDATE SKIP LOCKED`, sends them, and marks them `sent`, or retries with exponential backoff
and finally marks them `failed`. A lease outlives the longest send, so two workers never hold
one message; a worker that dies mid-send loses its lease and the message is sent again
(delivery is at least once, as with any outbox: only a crash between the SMTP server's 250 and
our write repeats a mail).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.courier.models import FAILED, SENT, OutboxMessage
from authsvc.courier.repository import Claimed, OutboxRepository
from authsvc.courier.sender import MailRejected, MailSender
from authsvc.db import after_commit, independent, transaction, utcnow
from authsvc.security.crypto import DecryptionError, Encryptor

__all__ = ["Courier"]

log = logging.getLogger("authsvc.mail")

BATCH = 10  # messages leased and sent (concurrently) per pass
PURGE_EVERY = 3600.0  # seconds between deletions of finished rows past the retention


class Courier:
    """The outbox of one service (`queue`, shared by its replicas) and this process's worker.

    `retries` tries after the first, `backoff * 2**n` seconds apart (at most `backoff_max`);
    `on_sent()` / `on_failure()` are called once a message is delivered / given up on.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sender: MailSender,
        encryptor: Encryptor,
        *,
        queue: str = "authsvc",
        retries: int = 8,
        backoff: float = 10.0,
        backoff_max: float = 3600.0,
        poll_interval: float = 2.0,
        retention: float = 604_800,
        send_timeout: float = 40.0,
        on_sent: Callable[[], None] | None = None,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.sender = sender
        self.encryptor = encryptor
        self.queue_name = queue
        self.retries = retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.poll_interval = poll_interval
        self.retention = retention
        self.send_timeout = send_timeout
        # The lease covers the longest send (bounded by send_timeout) with room to record it.
        self.lease = timedelta(seconds=2 * send_timeout + 30)
        self.on_sent = on_sent
        self.on_failure = on_failure
        self.worker_id = uuid.uuid4().hex
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._passes = 0
        self._idle_pass = 0
        self._sending: set[uuid.UUID] = set()
        self._last_purge = float("-inf")
        self._outage = False

    @classmethod
    def from_settings(cls, settings: Any, sessions: async_sessionmaker[AsyncSession],
                      sender: MailSender, **callbacks: Any) -> Courier:
        return cls(
            sessions, sender, Encryptor.from_settings(settings, "mail-outbox"),
            queue=settings.mail_queue, retries=settings.smtp_retries,
            backoff=settings.mail_retry_backoff, backoff_max=settings.mail_retry_backoff_max,
            poll_interval=settings.mail_poll_interval, retention=settings.mail_retention,
            # aiosmtplib's timeout is per step; a whole send takes a handful of them.
            send_timeout=4 * settings.smtp_timeout, **callbacks,
        )

    # ------------------------------------------------------------------ queueing
    async def queue(self, session: AsyncSession, message: EmailMessage) -> uuid.UUID:
        """Write `message` to the outbox in `session`'s transaction; sent once it commits."""
        row = OutboxMessage(
            queue=self.queue_name, body=self.encryptor.encrypt(message.as_bytes()),
            recipient_domain=_domain(message)[:255], next_attempt_at=utcnow(),
        )
        await OutboxRepository(session).add(row)
        after_commit(session, self._wake_after_commit)
        return row.id

    async def send(self, message: EmailMessage) -> uuid.UUID:
        """Queue `message` in a transaction of its own (callers without a unit of work)."""
        async for session in transaction(self.sessions):
            message_id = await self.queue(session, message)
        return message_id

    def wake(self) -> None:
        self._wake.set()

    async def _wake_after_commit(self) -> None:
        self._wake.set()

    # -------------------------------------------------------------------- worker
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Run this process's worker (the server's lifespan; the CLI only queues)."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                name="authsvc.mail.outbox")

    async def stop(self, timeout: float) -> bool:  # noqa: ASYNC109 - shutdown budget
        """Let the sends in flight finish for up to `timeout` seconds, then cancel them and give
        their leases back, so another replica (or the next start) sends them at once.

        Returns True when nothing had to be cancelled.
        """
        task, self._task = self._task, None
        if task is None:
            return True
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if done:
            return True
        task.cancel()
        await asyncio.wait({task})
        abandoned = list(self._sending)
        self._sending.clear()
        try:
            async with independent(self.sessions) as session:
                await OutboxRepository(session).release(abandoned, self.worker_id)
        except Exception as exc:  # the database is gone too: the leases simply run out
            log.warning("mail: could not give back %d leases at shutdown (%s)", len(abandoned),
                        type(exc).__name__)
        log.warning("mail: %d sends in flight at shutdown were left for later", len(abandoned))
        return False

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109 - a wait budget
        """Wait until this worker has sent every message that is due now (tests, operators);
        messages waiting for a retry are not waited for. False after `timeout` seconds."""
        if not self.running:
            return not self._sending
        target = self._passes + 2  # a whole pass that began after this call found nothing due
        self._wake.set()
        try:
            async with asyncio.timeout(timeout):
                while self._idle_pass < target:
                    await asyncio.sleep(0.01)
                    if not self.running:
                        return False
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        while not self._stopping:
            try:
                handled = await self.run_once()
            except Exception as exc:
                if not self._outage:  # once an outage, not once a poll
                    log.error("mail: the outbox cannot be read (%s); trying every %g s",
                              type(exc).__name__, self.poll_interval)
                self._outage = True
                self._passes += 1
                await self._sleep()
                continue
            if self._outage:
                log.warning("mail: the outbox can be read again")
                self._outage = False
            self._passes += 1
            if handled == 0:
                self._idle_pass = self._passes
                await self._sleep()

    async def _sleep(self) -> None:
        try:
            async with asyncio.timeout(self.poll_interval):
                await self._wake.wait()
        except TimeoutError:
            pass
        self._wake.clear()

    async def run_once(self) -> int:
        """One pass: lease the due messages, send them, record each outcome. How many."""
        now = utcnow()
        async with independent(self.sessions) as session:
            claimed = await OutboxRepository(session).claim(
                self.queue_name, self.worker_id, now=now, lease_until=now + self.lease,
                limit=BATCH)
        if not claimed:
            await self._purge_now_and_then()
            return 0
        self._sending.update(c.id for c in claimed)
        await asyncio.gather(*(self._deliver(c) for c in claimed))
        return len(claimed)

    # ----------------------------------------------------------------- internals
    async def _deliver(self, claimed: Claimed) -> None:
        try:
            message = self._open(claimed.body)
        except DecryptionError:
            # Made under a key this process no longer holds: nothing can ever send it.
            await self._give_up(claimed, "undecryptable", None)
            return
        try:
            async with asyncio.timeout(self.send_timeout):
                await self.sender.send(message)
        except MailRejected as exc:
            await self._give_up(claimed, _reason(exc), exc)
        except Exception as exc:
            if claimed.attempts > self.retries:
                await self._give_up(claimed, _reason(exc), exc)
            else:
                delay = min(self.backoff * 2 ** (claimed.attempts - 1), self.backoff_max)
                await self._record(claimed, retry_at=utcnow() + timedelta(seconds=delay),
                                   error=_reason(exc))
        else:
            await self._record(claimed, status=SENT)
            if self.on_sent:
                self.on_sent()

    async def _give_up(self, claimed: Claimed, reason: str, exc: BaseException | None) -> None:
        # Only the domain and the error's class: the body holds codes, the address is personal
        # data, and an SMTP error text may echo either.
        cause = exc.__cause__ if exc is not None else None
        log.error("mail to a recipient at %s not sent after %d tries: %s%s",
                  claimed.recipient_domain or "(unknown)", claimed.attempts, reason,
                  f" ({cause.__class__.__name__})" if cause else "")
        await self._record(claimed, status=FAILED, error=reason)
        if self.on_failure:
            self.on_failure()

    async def _record(self, claimed: Claimed, *, status: str | None = None,
                      retry_at: datetime | None = None, error: str | None = None) -> None:
        try:
            async with independent(self.sessions) as session:
                repo = OutboxRepository(session)
                if retry_at is not None:
                    await repo.retry_at(claimed.id, self.worker_id, retry_at, error or "")
                else:
                    await repo.finish(claimed.id, self.worker_id, status or FAILED, utcnow(),
                                      error)
        except Exception as exc:  # the lease runs out and the message is tried again
            log.error("mail: could not record the outcome of a send (%s)", type(exc).__name__)
        finally:
            self._sending.discard(claimed.id)

    async def _purge_now_and_then(self) -> None:
        if time.monotonic() - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = time.monotonic()
        async with independent(self.sessions) as session:
            await OutboxRepository(session).purge(
                utcnow() - timedelta(seconds=self.retention))

    def _open(self, body: str) -> EmailMessage:
        parsed = email.message_from_bytes(self.encryptor.decrypt(body),
                                          policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def _reason(exc: BaseException) -> str:
    return type(exc).__name__[:200]


def _domain(message: EmailMessage) -> str:
    return str(message.get("To", "")).rpartition("@")[2] or "(unknown)"
