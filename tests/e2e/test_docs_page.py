"""/docs in a real headless Chromium: Swagger UI from our own static files renders under our
own Content-Security-Policy, with no console error and no request leaving the origin."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.test_browser import ARGS, CHROMIUM, SHOTS, server  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium"),
]
playwright_api = pytest.importorskip("playwright.async_api")


def test_the_docs_page_keeps_the_strict_policy(server: str) -> None:  # noqa: F811
    response = httpx.get(f"{server}/docs")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "http" not in csp
    assert "<script>" not in response.text  # start-up code is /static/js/docs.js
    for asset in ("/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css",
                  "/static/js/docs.js"):
        assert asset in response.text
        assert httpx.get(f"{server}{asset}").status_code == 200


async def test_the_docs_page_renders_the_operations(server: str) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            elsewhere: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 else None)
            page.on("request", lambda r: elsewhere.append(r.url)
                    if not r.url.startswith(server) and not r.url.startswith("data:") else None)
            await page.goto(f"{server}/docs")
            await page.wait_for_selector(".opblock", timeout=20_000)
            paths = await page.locator(".opblock-summary-path").all_inner_texts()
            flat = {p.replace("\u200b", "").strip() for p in paths}
            assert {"/token", "/introspect", "/users/me", "/admin/users"} <= flat, flat
            await page.screenshot(path=str(SHOTS / "docs.png"), full_page=False)
            assert not errors, errors  # a CSP refusal is a console error
            assert not elsewhere, elsewhere
        finally:
            await browser.close()
