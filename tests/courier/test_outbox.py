"""The durable outbox on real PostgreSQL with the real SMTP sink: transactional queueing,
retries with backoff, one sender per message across replicas, restarts, leases, encryption at
rest and the retention."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from authsvc.config import load_settings
from authsvc.courier import MessageFactory, SmtpSender
from authsvc.courier.models import OutboxMessage
from authsvc.courier.repository import OutboxRepository
from authsvc.db import transaction, utcnow
from authsvc.security.crypto import Encryptor
from tests import flows, infra
from tests.courier.conftest import KEY
from tests.mfa.helpers import open_world
from tests.recovery.helpers import RESET_SUBJECT, VERIFY_SUBJECT, code_in, forgot, mail, mails
from tests.smtp_server import SmtpSink

CODE = "493817"


def factory() -> MessageFactory:
    return MessageFactory(load_settings(env="testing", public_url="https://auth.example"))


class Recording:
    """The real SMTP sender, noting when each try began."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.tries: list[float] = []

    async def send(self, message: EmailMessage) -> None:
        self.tries.append(time.monotonic())
        await self.inner.send(message)


class Stuck:
    """A transport that never answers (a hung SMTP server)."""

    def __init__(self) -> None:
        self.tries = 0

    async def send(self, message: EmailMessage) -> None:
        self.tries += 1
        await asyncio.sleep(3600)


class Tally:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def smtp(sink: SmtpSink) -> SmtpSender:
    return SmtpSender(load_settings(env="testing", smtp_timeout=2, **sink.settings()))


async def rows(sessions: Any, queue: str) -> list[OutboxMessage]:
    async with sessions() as session:
        found = await session.execute(select(OutboxMessage).where(OutboxMessage.queue == queue))
        return list(found.scalars().all())


async def until(condition: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.02)


# ------------------------------------------------------------------- transactions


async def test_a_rolled_back_unit_of_work_sends_nothing_and_a_committed_one_is_sent(
    make_settings, smtp_sink: SmtpSink
) -> None:
    async with open_world(make_settings, smtp_sink) as world:
        state = world.state
        lost, kept = infra.unique_email("lost"), infra.unique_email("kept")
        # Driven as FastAPI drives the request's session dependency: the route's exception is
        # thrown into the unit of work, which rolls back.
        unit = transaction(state.sessions)
        session = await anext(unit)
        await state.courier.queue(session, state.messages.password_changed_message(lost))
        with pytest.raises(RuntimeError):
            await unit.athrow(RuntimeError("the request failed after queueing its mail"))
        async for session in transaction(state.sessions):
            await state.courier.queue(session, state.messages.password_changed_message(kept))

        await smtp_sink.wait_for_message(kept)
        assert await state.courier.drain(5)
        await asyncio.sleep(0.3)  # a poll or two more: the lost mail must never appear
        assert [m for m in smtp_sink.messages if m["To"] == lost] == []
        stored = await rows(state.sessions, state.settings.mail_queue)
        assert [r.status for r in stored] == ["sent"]


async def test_a_registration_that_fails_leaves_no_verification_mail(
    make_settings, smtp_sink: SmtpSink
) -> None:
    async with open_world(make_settings, smtp_sink) as world:
        user = await flows.register(world.api)
        await mail(smtp_sink, user["email"], VERIFY_SUBJECT)
        # The same address again: 409 email_taken before anything is queued, and the second
        # registration's transaction rolls back.
        again = await world.api.post("/users", json={"email": user["email"],
                                                     "password": infra.STRONG_PASSWORD})
        assert again.status_code == 409
        assert await world.state.courier.drain(5)
        assert len(mails(smtp_sink, user["email"], VERIFY_SUBJECT)) == 1


# ------------------------------------------------------------------- retries


async def test_a_mail_queued_while_smtp_is_down_is_sent_once_it_is_back(
    make_settings, smtp_sink: SmtpSink
) -> None:
    smtp_sink.stop()
    async with open_world(make_settings, smtp_sink, mail_retry_backoff=0.2,
                          smtp_timeout=2) as world:
        state, queue = world.state, world.state.settings.mail_queue
        user = await flows.register(world.api)
        answer = await forgot(world.api, user["email"])
        assert answer.status_code == 202  # nobody waits for SMTP

        async def retried() -> bool:
            return all(r.attempts >= 2 for r in await rows(state.sessions, queue))

        await until(retried)
        stored = await rows(state.sessions, queue)
        assert {r.status for r in stored} == {"queued"}
        assert all(r.last_error for r in stored)

        await asyncio.to_thread(smtp_sink.start)
        reset = await mail(smtp_sink, user["email"], RESET_SUBJECT, timeout=15)
        await mail(smtp_sink, user["email"], VERIFY_SUBJECT, timeout=15)
        assert len(code_in(reset)) == 8

        async def all_sent() -> bool:
            return {r.status for r in await rows(state.sessions, queue)} == {"sent"}

        await until(all_sent)
        assert all(r.body is None for r in await rows(state.sessions, queue))
        assert state.mail_counts["sent"] == 2 and state.mail_counts["failed"] == 0
        metrics = await world.api.get("/metrics")
        assert 'authsvc_mails_total{outcome="sent"} 2.0' in metrics.text


async def test_retries_back_off_exponentially_then_the_mail_is_failed_and_its_body_gone(
    outbox, db_sessions, caplog: pytest.LogCaptureFixture
) -> None:
    sink = SmtpSink()  # never started: every connection is refused
    sender = Recording(smtp(sink))
    failed = Tally()
    courier = outbox(sender, retries=4, backoff=0.1, on_failure=failed)
    with caplog.at_level(logging.ERROR, logger="authsvc.mail"):
        await courier.send(factory().mfa_code_message("alice@example.com", CODE, 600))
        async with asyncio.timeout(10):
            while failed.count == 0:
                await asyncio.sleep(0.01)

    assert len(sender.tries) == 5  # the first try and 4 retries
    gaps = [b - a for a, b in zip(sender.tries, sender.tries[1:], strict=False)]
    for n, gap in enumerate(gaps):  # 0.1, 0.2, 0.4, 0.8 s (+ a poll interval at most)
        assert gap >= 0.1 * 2**n * 0.9, gaps
    assert gaps[-1] > 2 * gaps[0], gaps
    [row] = await rows(db_sessions, courier.queue_name)
    assert (row.status, row.attempts, row.body) == ("failed", 5, None)
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("not sent after 5 tries" in m and "example.com" in m for m in logged), logged
    assert not any("alice" in m or CODE in m for m in logged)


async def test_a_mail_no_key_can_open_is_failed_not_retried_forever(outbox, db_sessions) -> None:
    writer = outbox(smtp(SmtpSink()), start=False)
    await writer.send(factory().password_changed_message("bob@example.com"))
    failed = Tally()
    reader = outbox(smtp(SmtpSink()), start=False, on_failure=failed)
    reader.encryptor = Encryptor([b"another-key-material-0123456789abcdef"],
                                 purpose="mail-outbox")
    assert await reader.run_once() == 1
    [row] = await rows(db_sessions, writer.queue_name)
    assert (row.status, row.last_error, failed.count) == ("failed", "undecryptable", 1)


# ------------------------------------------------------------------- replicas


async def test_two_replicas_on_one_database_send_every_message_exactly_once(
    make_settings, smtp_sink: SmtpSink
) -> None:
    queue = f"shared-{uuid.uuid4().hex[:12]}"
    async with (open_world(make_settings, smtp_sink, mail_queue=queue) as a,
                open_world(make_settings, smtp_sink, mail_queue=queue) as b):
        recipients = [infra.unique_email("many") for _ in range(60)]

        async def queue_half(world: Any, half: list[str]) -> None:
            async for session in transaction(world.state.sessions):
                for to in half:
                    await world.state.courier.queue(
                        session, world.state.messages.password_changed_message(to))

        await asyncio.gather(queue_half(a, recipients[::2]), queue_half(b, recipients[1::2]))
        a.state.courier.wake()
        b.state.courier.wake()
        await smtp_sink.wait_for(60, timeout=20)
        assert await a.state.courier.drain(5) and await b.state.courier.drain(5)
        await asyncio.sleep(0.5)  # time enough for any second delivery to show

        received = [m["To"] for m in smtp_sink.messages]
        assert sorted(received) == sorted(recipients)  # each once, none twice
        assert len({m["Message-ID"] for m in smtp_sink.messages}) == 60
        assert a.state.mail_counts["sent"] + b.state.mail_counts["sent"] == 60


async def test_concurrent_claims_never_share_a_message(outbox, db_sessions) -> None:
    writer = outbox(smtp(SmtpSink()), start=False)
    for n in range(40):
        await writer.send(factory().password_changed_message(f"user{n}@example.com"))

    async def claim(worker: str) -> set[uuid.UUID]:
        now = utcnow()
        async with db_sessions() as session:
            claimed = await OutboxRepository(session).claim(
                writer.queue_name, worker, now=now, lease_until=now + timedelta(minutes=1),
                limit=15)
            await asyncio.sleep(0.05)  # hold the row locks while the others claim
            await session.commit()
        return {c.id for c in claimed}

    first, second, third = await asyncio.gather(claim("a"), claim("b"), claim("c"))
    assert not (first & second) and not (first & third) and not (second & third)
    assert len(first | second | third) == 40
    assert await claim("d") == set()  # every message is leased


# ------------------------------------------------------------------- restarts


async def test_a_restart_keeps_queued_mail(make_settings, smtp_sink: SmtpSink) -> None:
    queue = f"restart-{uuid.uuid4().hex[:12]}"
    smtp_sink.stop()
    async with open_world(make_settings, smtp_sink, mail_queue=queue, smtp_timeout=2) as before:
        user = await flows.register(before.api)
        assert (await forgot(before.api, user["email"])).status_code == 202
        states = {r.status for r in await rows(before.state.sessions, queue)}
        assert states == {"queued"}
    # The first process is gone (its worker stopped); the SMTP server comes back.
    await asyncio.to_thread(smtp_sink.start)
    async with open_world(make_settings, smtp_sink, mail_queue=queue) as after:
        await mail(smtp_sink, user["email"], RESET_SUBJECT, timeout=15)
        await mail(smtp_sink, user["email"], VERIFY_SUBJECT, timeout=15)
        assert await after.state.courier.drain(5)
        assert after.state.mail_counts["sent"] == 2


async def test_a_dead_workers_lease_runs_out_and_another_sends_the_mail(
    outbox, db_sessions, smtp_sink: SmtpSink
) -> None:
    writer = outbox(smtp(smtp_sink), start=False)
    await writer.send(factory().password_changed_message("carol@example.com"))
    now = utcnow()
    async with db_sessions() as session:  # a worker that claimed the mail, then crashed
        claimed = await OutboxRepository(session).claim(
            writer.queue_name, "crashed", now=now, lease_until=now + timedelta(seconds=1),
            limit=5)
        await session.commit()
    assert len(claimed) == 1
    outbox(smtp(smtp_sink), queue=writer.queue_name)
    await asyncio.sleep(0.5)
    assert smtp_sink.messages == []  # leased: nobody else may touch it yet
    await smtp_sink.wait_for_message("carol@example.com", timeout=5)
    for _ in range(50):  # the worker marks the row once the SMTP server has answered
        [row] = await rows(db_sessions, writer.queue_name)
        if row.status != "queued":
            break
        await asyncio.sleep(0.1)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_shutdown_gives_unfinished_sends_back_for_the_next_worker(
    outbox, db_sessions, smtp_sink: SmtpSink
) -> None:
    stuck = Stuck()
    courier = outbox(stuck)
    await courier.send(factory().password_changed_message("dave@example.com"))
    async with asyncio.timeout(5):
        while stuck.tries == 0:
            await asyncio.sleep(0.01)
    assert await courier.stop(0.1) is False  # the hung send was cancelled
    [row] = await rows(db_sessions, courier.queue_name)
    assert (row.status, row.claimed_by, row.locked_until, row.attempts) == (
        "queued", None, None, 0)
    outbox(smtp(smtp_sink), queue=courier.queue_name)  # the next start, or another replica
    await smtp_sink.wait_for_message("dave@example.com", timeout=5)


# ------------------------------------------------------------------- at rest


async def test_bodies_are_encrypted_at_rest_and_removed_once_sent(
    outbox, db_sessions, smtp_sink: SmtpSink
) -> None:
    courier = outbox(smtp(smtp_sink), start=False)
    messages = factory()
    link = messages.link("/reset", token="secret-link-token-0123456789")
    await courier.send(messages.reset_message("erin@example.com", link, CODE, 1800))
    [row] = await rows(db_sessions, courier.queue_name)
    assert row.status == "queued" and row.recipient_domain == "example.com"
    for secret in ("secret-link-token", CODE, "erin"):
        assert secret not in row.body
    opened = Encryptor([KEY], purpose="mail-outbox").decrypt(row.body)
    assert b"secret-link-token" in opened  # the same message, sealed (AES-GCM)

    courier.start()
    await smtp_sink.wait_for_message("erin@example.com")
    assert await courier.drain(5)
    [row] = await rows(db_sessions, courier.queue_name)
    assert (row.status, row.body) == ("sent", None) and row.finished_at is not None


async def test_finished_rows_are_deleted_after_the_retention(
    outbox, db_sessions, smtp_sink: SmtpSink
) -> None:
    first = outbox(smtp(smtp_sink), retention=1)
    await first.send(factory().password_changed_message("frank@example.com"))
    await smtp_sink.wait_for_message("frank@example.com")
    assert await first.drain(5)
    assert len(await rows(db_sessions, first.queue_name)) == 1
    await asyncio.sleep(1.2)
    outbox(smtp(smtp_sink), queue=first.queue_name, retention=1)  # purges on its first idle pass

    async def purged() -> bool:
        return await rows(db_sessions, first.queue_name) == []

    await until(purged, timeout=5)


async def test_forgot_for_an_unknown_address_queues_and_sends_nothing(
    make_settings, smtp_sink: SmtpSink
) -> None:
    async with open_world(make_settings, smtp_sink) as world:
        unknown = infra.unique_email("nobody")
        assert (await forgot(world.api, unknown)).status_code == 202
        await world.state.tasks.drain(5)  # the account-dependent half runs after the answer
        assert await world.state.courier.drain(5)
        assert await rows(world.state.sessions, world.state.settings.mail_queue) == []
        assert smtp_sink.messages == []
