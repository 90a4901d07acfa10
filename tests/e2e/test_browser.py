"""End to end in a real headless Chromium (Debian's, driven by Playwright): register, sign in,
set up TOTP from the page, sign out, sign in again through /login/mfa, check /auth/verify.

A real `authsvc serve` runs on a free port, on the run's PostgreSQL database and Redis.
Screenshots of the pages go to artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from tests.infra import STRONG_PASSWORD, unique_email
from tests.processes import free_port, serving

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium"),
]
playwright_api = pytest.importorskip("playwright.async_api")


@pytest.fixture
def server(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path, AUTHSVC_DATABASE_URL=database_url, AUTHSVC_REDIS_URL=redis_url)


@pytest.fixture
def embedded_server(tmp_path: Path) -> Iterator[str]:
    """The embedded default: no database or Redis URL (a SQLite file, the in-process stand-in)."""
    yield from serve(tmp_path)


def serve(tmp_path: Path, **storage: str) -> Iterator[str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")},
        "AUTHSVC_ENV": "testing",
        **storage,
        "AUTHSVC_JWT_SECRET": "e2e-jwt-secret-that-is-long-enough-0123456789",
        "AUTHSVC_ENCRYPTION_KEY": "e2e-encryption-key-long-enough-0123456789",
        "AUTHSVC_ISSUER": f"http://127.0.0.1:{port}",
        "AUTHSVC_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
    }
    with serving(env, port, tmp_path) as base:
        yield base


def totp_now(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    # Never use a code in the last seconds of its step: it may be stale when it arrives.
    if 30 - time.time() % 30 < 3:
        time.sleep(3.5)
    return totp.now()


def next_totp(secret: str, used: str) -> str:
    """A code of a later time step than `used` (each step works once)."""
    while (code := totp_now(secret)) == used:
        time.sleep(1)
    return code


async def test_register_login_totp_logout_mfa_login_verify(server: str) -> None:
    await register_login_totp_logout_mfa_login_verify(server)


async def test_the_same_in_chromium_on_the_embedded_default(embedded_server: str) -> None:
    await register_login_totp_logout_mfa_login_verify(embedded_server)


async def register_login_totp_logout_mfa_login_verify(server: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    email = unique_email("e2e")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1200, "height": 900})
            page = await context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            # Register (the password hints react to typing) and land on the account.
            await page.goto(f"{server}/register")
            await page.fill("#email", email)
            await page.fill("#password", "short")
            assert await page.locator('li[data-rule="min_length"].met').count() == 0
            await page.fill("#password", STRONG_PASSWORD)
            assert await page.locator('li[data-rule="min_length"].met').count() == 1
            # The show-password toggle (static/js/pages.js): shows, hides, says which.
            toggle = page.locator("button.password-toggle[aria-controls='password']")
            await toggle.click()
            assert await page.get_attribute("#password", "type") == "text"
            assert await toggle.get_attribute("aria-pressed") == "true"
            await toggle.click()
            assert await page.get_attribute("#password", "type") == "password"
            await page.screenshot(path=str(SHOTS / "register.png"), full_page=True)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{server}/account")

            # Sign out, then sign in with the password.
            await page.click("header button:has-text('Log out')")
            await page.wait_for_url(re.compile(r".*/login.*"))
            await page.fill("#username", email)
            await page.fill("#password", "wrong-password-0")
            await page.click("form[action='/login'] button[type=submit]")
            await page.wait_for_selector("text=Wrong e-mail or password.")
            await asyncio.sleep(2)  # the progressive pause after a failure (brute-force protection)
            await page.fill("#password", STRONG_PASSWORD)
            await page.screenshot(path=str(SHOTS / "login.png"), full_page=True)
            await page.click("form[action='/login'] button[type=submit]")
            await page.wait_for_url(f"{server}/account")

            # Set up TOTP from the page: read the secret, compute the code.
            await page.click("text=Set up an authenticator app")
            await page.wait_for_selector("#totp-secret")
            assert await page.locator(".qr svg").count() == 1
            secret = (await page.text_content("#totp-secret") or "").strip()
            await page.screenshot(path=str(SHOTS / "account-totp-setup.png"), full_page=True)
            first = totp_now(secret)
            await page.fill("#totp-code", first)
            await page.click("form[action='/account/totp/confirm'] button[type=submit]")
            await page.wait_for_selector("#recovery-codes")
            assert await page.locator("#recovery-codes li").count() == 10
            assert await page.locator("[data-copy-codes]").is_visible()
            async with page.expect_download() as download_info:
                await page.click("[data-download-codes]")
            download = await download_info.value
            saved = Path(await download.path()).read_text().split()  # noqa: ASYNC240 - tiny file
            shown = [c.strip() for c in
                     await page.locator("#recovery-codes code").all_text_contents()]
            assert saved == shown and len(saved) == 10
            await page.reload()  # a GET (Post/Redirect/Get): nothing is posted again
            assert await page.locator("#recovery-codes").count() == 0
            await page.screenshot(path=str(SHOTS / "account.png"), full_page=True)

            # Sign out, and in again through /login/mfa.
            await page.click("header button:has-text('Log out')")
            await page.wait_for_url(re.compile(r".*/login.*"))
            await page.fill("#username", email)
            await page.fill("#password", STRONG_PASSWORD)
            await page.click("form[action='/login'] button[type=submit]")
            await page.wait_for_url(f"{server}/login/mfa")
            await page.screenshot(path=str(SHOTS / "login-mfa.png"), full_page=True)
            await page.fill("#login-code", next_totp(secret, first))
            await page.click("form[action='/login/mfa'] button[type=submit]")
            await page.wait_for_url(f"{server}/account")
            assert await page.locator("text=Authenticator app").count() >= 1

            # The forward-auth check sees the browser's session.
            verify = await page.request.get(f"{server}/auth/verify")
            assert verify.status == 200
            assert verify.headers["x-auth-user-email"] == email
            cookies = {c["name"]: c for c in await context.cookies()}
            assert cookies["authsvc_session"]["httpOnly"] is True
            assert cookies["authsvc_session"]["sameSite"] == "Lax"
            assert not [e for e in errors if "Content Security Policy" in e], errors
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.screenshot(path=str(SHOTS / "account-phone.png"), full_page=True)
        finally:
            await browser.close()
