"""Work the answer must not wait for (and must not be timed by): tasks of the process, kept
until done so that none is garbage-collected mid-flight, drained at shutdown and by tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("authsvc.background")


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
