"""Every hosted page, in every state a user meets it, passes axe-core in Chromium: zero violations,
in the light and the dark colour scheme.

axe-core is the npm package (scripts/install.sh puts it in $VENV/node); it is injected into the
page by Playwright (the context bypasses our CSP for this one script: the pages themselves keep
theirs). A real `authsvc serve` runs as in test_browser.py.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_browser import ARGS, CHROMIUM, server, totp_now  # noqa: F401 - the fixture
from tests.infra import STRONG_PASSWORD, unique_email

AXE = Path(sys.prefix) / "node" / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium"),
    pytest.mark.skipif(not AXE.exists(), reason=f"needs axe-core at {AXE} (scripts/install.sh)"),
]
playwright_api = pytest.importorskip("playwright.async_api")

# WCAG 2.1 A and AA, plus axe's best practices (landmarks, headings, one <h1>).
RUN = "axe.run(document, {runOnly: {type: 'tag', values: " \
      "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"


async def violations(page: Any) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(RUN)
    return [{"id": v["id"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result["violations"]]


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_every_page_has_no_accessibility_violations(server: str, scheme: str) -> None:  # noqa: F811
    email = unique_email("a11y")
    found: dict[str, list[dict[str, Any]]] = {}
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = await browser.new_context(bypass_csp=True, color_scheme=scheme)
            page = await context.new_page()

            async def check(name: str) -> None:
                found[name] = await violations(page)

            async def visit(name: str, path: str) -> None:
                await page.goto(f"{server}{path}")
                await check(name)

            await visit("login", "/login")
            await visit("forgot", "/forgot")
            await visit("reset", "/reset?token=" + "A" * 43)
            await visit("verify", "/verify?token=" + "A" * 43)
            await visit("not found", "/no-such-page")
            await visit("register", "/register")
            await page.fill("#email", email)
            await page.fill("#password", "short")
            await page.click("form[action='/register'] button[type=submit]")
            await page.wait_for_selector("#password-unmet")
            await check("register, weak password")
            await page.fill("#password", STRONG_PASSWORD)
            await page.click("form[action='/register'] button[type=submit]")
            await page.wait_for_url(f"{server}/account")
            await check("account")

            await page.click("text=Set up an authenticator app")
            await page.wait_for_selector("#totp-secret")
            await check("account, authenticator set-up")
            secret = (await page.text_content("#totp-secret") or "").strip()
            await page.fill("#totp-code", totp_now(secret))
            await page.click("form[action='/account/totp/confirm'] button[type=submit]")
            await page.wait_for_selector("#recovery-codes")
            await check("account, recovery codes")

            await page.click("header button:has-text('Log out')")
            await page.wait_for_url(re.compile(r".*/login.*"))
            await page.fill("#username", email)
            await page.fill("#password", "wrong-password-0")
            await page.click("form[action='/login'] button[type=submit]")
            await page.wait_for_selector("#form-error")
            await check("login, wrong password")
            await page.wait_for_timeout(2000)  # the pause after a failure
            await page.fill("#password", STRONG_PASSWORD)
            await page.click("form[action='/login'] button[type=submit]")
            await page.wait_for_url(f"{server}/login/mfa")
            await check("login, second factor")
            await page.fill("#login-code", "000000")
            await page.click("form[action='/login/mfa'] button[type=submit]")
            await page.wait_for_selector("#form-error")
            await check("login, wrong code")
        finally:
            await browser.close()
    bad = {name: v for name, v in found.items() if v}
    assert len(found) == 13
    assert not bad, json.dumps(bad, indent=1)
