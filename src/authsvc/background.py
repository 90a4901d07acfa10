"""Work the answer must not wait for (and must not be timed by): tasks of the process, kept
until done so that none is garbage-collected mid-flight, drained at shutdown and by tests."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("authsvc.background")

# Work to start once the current request's answer has been sent (set by middleware.RequestContext
# for each request; None outside a request, e.g. the CLI).
after_response: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "after_response", default=None)


def run_after_response(pending: list[Callable[[], None]]) -> None:
    for start in pending:
        start()
    pending.clear()


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        context = contextvars.copy_context()
        context.run(after_response.set, None)  # not the request's: its answer has left
        task = asyncio.get_running_loop().create_task(self._run(work, name), name=name,
                                                      context=context)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def spawn_after_response(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """`spawn`, but only once the answer of the current request has left (so the answer's
        time never includes any of this work); at once outside a request."""
        pending = after_response.get()
        if pending is None:
            self.spawn(work, name)
        else:
            pending.append(lambda: self.spawn(work, name))

    async def _run(self, work: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await work
        except Exception:  # logged here: nobody awaits a background task's result
            log.exception("background task %s failed", name)

    async def drain(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait for the tasks in flight (and those they start)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
            if timeout is not None:
                return
