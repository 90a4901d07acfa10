"""One `authsvc serve` on localhost and one Chromium for the module; a fresh page (on the
server's origin) with its own virtual authenticator for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.passkeys.browser import ARGS, CHROMIUM, Authenticator, serve

pytestmark = pytest.mark.slow
HAVE_CHROMIUM = Path(CHROMIUM).exists()


@pytest.fixture(scope="module")
def server(database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[str]:
    with serve(database_url, redis_url, tmp_path_factory.mktemp("passkeys")) as url:
        yield url


@pytest_asyncio.fixture(scope="module")
async def chromium() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        pytest.skip("needs /usr/bin/chromium")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


class Device:
    """A browser page on the server's origin and its virtual authenticator."""

    def __init__(self, context: Any, page: Any, cdp: Any, authenticator: Authenticator) -> None:
        self.context = context
        self.page = page
        self.cdp = cdp
        self.authenticator = authenticator


async def open_device(chromium: Any, origin: str, **options: Any) -> Device:
    context = await chromium.new_context()
    page = await context.new_page()
    await page.goto(f"{origin}/forgot")  # a page of the origin without passkeys.js
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable", {"enableUI": False})
    return Device(context, page, cdp, await Authenticator.add(cdp, **options))


@pytest_asyncio.fixture
async def device(chromium: Any, server: str) -> AsyncIterator[Device]:
    opened = await open_device(chromium, server)
    try:
        yield opened
    finally:
        await opened.context.close()
