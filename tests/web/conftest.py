"""Fixtures of the page tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authsvc.composition import Components


class SessionClock:
    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def session_clock(state: Components) -> Iterator[SessionClock]:
    """Moves the browser-session store's clock (restored after)."""
    fake = SessionClock()
    saved = state.session_store.clock
    state.session_store.clock = fake
    try:
        yield fake
    finally:
        state.session_store.clock = saved
