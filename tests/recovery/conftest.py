"""An app per test pointed at a real SMTP sink on loopback, with links under PUBLIC_URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from tests.mfa.helpers import World, open_world
from tests.recovery.helpers import PUBLIC_URL
from tests.smtp_server import SmtpSink


@pytest_asyncio.fixture
async def world(make_settings: Any, smtp_sink: SmtpSink) -> AsyncIterator[World]:
    async with open_world(make_settings, smtp_sink, public_url=PUBLIC_URL) as opened:
        yield opened
