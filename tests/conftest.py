"""Shared fixtures. One section per resource; add yours under its own heading."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.smtp_server import SmtpSink

# --------------------------------------------------------------------------- SMTP


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1 (plain); `smtp_sink.settings()` points authsvc at it."""
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
