"""An app per test with its own SMTP sink and MFA clock (see helpers.open_world)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from tests.mfa.helpers import World, open_world
from tests.smtp_server import SmtpSink


@pytest_asyncio.fixture
async def world(make_settings: Any, smtp_sink: SmtpSink) -> AsyncIterator[World]:
    async with open_world(make_settings, smtp_sink) as opened:
        yield opened
