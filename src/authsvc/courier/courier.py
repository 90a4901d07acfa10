"""Delivery in the background, so that no request waits for an SMTP server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from email.message import EmailMessage

from authsvc.courier.sender import MailRejected, MailSender

__all__ = ["Courier", "DeliveryFailed"]

log = logging.getLogger("authsvc.mail")


class DeliveryFailed(Exception):
    """Every try to send the message failed (raised by `Courier.send_now`)."""


class Courier:
    """Sends messages with `retries` more tries after the first, waiting `backoff * 2**n`
    seconds (at most `backoff_max`) between them. `on_sent()` / `on_failure()` are called once
    a message is delivered / given up on (metrics counters)."""

    def __init__(
        self,
        sender: MailSender,
        *,
        retries: int,
        on_failure: Callable[[], None] | None = None,
        on_sent: Callable[[], None] | None = None,
        backoff: float = 0.2,
        backoff_max: float = 5.0,
    ) -> None:
        self.sender = sender
        self.retries = retries
        self.on_failure = on_failure
        self.on_sent = on_sent
        self.backoff = backoff
        self.backoff_max = backoff_max
        # The loop keeps only weak references to tasks: without this set a send in flight
        # could be garbage-collected half-way and the mail silently lost.
        self._in_flight: set[asyncio.Task[bool]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def send_later(self, message: EmailMessage) -> asyncio.Task[bool]:
        """Start sending in the background and return at once; the task ends True when sent.

        Failures are logged and counted, never raised.
        """
        task = asyncio.create_task(self._deliver(message), name="authsvc.mail.send")
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return task

    async def send_now(self, message: EmailMessage) -> None:
        """Send and wait (the CLI); raises `DeliveryFailed` when every try failed."""
        if not await self._deliver(message):
            raise DeliveryFailed(f"could not send the mail to {_domain(message)}")

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109 - shutdown budget
        """Wait up to `timeout` seconds for the sends in flight; cancel the rest.

        Returns True when every send finished in time.
        """
        if not self._in_flight:
            return True
        _, pending = await asyncio.wait(set(self._in_flight), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            log.error("mail: %d sends still in flight at shutdown were abandoned", len(pending))
        return not pending

    # ------------------------------------------------------------------ internals
    async def _deliver(self, message: EmailMessage) -> bool:
        for attempt in range(self.retries + 1):
            try:
                await self.sender.send(message)
            except MailRejected as exc:
                return self._give_up(message, exc, attempt + 1)
            except Exception as exc:
                if attempt == self.retries:
                    return self._give_up(message, exc, attempt + 1)
                await asyncio.sleep(min(self.backoff * 2**attempt, self.backoff_max))
            else:
                if self.on_sent:
                    self.on_sent()
                return True
        return False  # pragma: no cover - the loop always returns

    def _give_up(self, message: EmailMessage, exc: BaseException, tries: int) -> bool:
        # Only the domain and the error's class: the body holds codes, the address is personal
        # data, and an SMTP error text may echo either.
        log.error(
            "mail to a recipient at %s not sent after %d tries: %s%s",
            _domain(message),
            tries,
            type(exc).__name__,
            f" ({exc.__cause__.__class__.__name__})" if exc.__cause__ else "",
        )
        if self.on_failure:
            self.on_failure()
        return False


def _domain(message: EmailMessage) -> str:
    return str(message.get("To", "")).rpartition("@")[2] or "(unknown)"
