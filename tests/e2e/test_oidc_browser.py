"""Apps sign users in through a real `authsvc serve`, with the hosted pages in a real headless
Chromium: node's openid-client (a confidential, third-party web app: password, TOTP on
/login/mfa, the consent page) and Authlib's OAuth2Session (a public, first-party SPA: the same
browser session, no pages at all), each validating the ID token against /jwks; then
RP-initiated logout back to the app. The apps' callbacks land on a tiny HTTP server of the
test's own (loopback), which records where the browser arrived.

openid-client is installed from the npm registry into tests/e2e/node (package-lock.json pins it)
by the `node_rp` fixture.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.infra import STRONG_PASSWORD, unique_email
from tests.processes import cli, environment, free_port, serving

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
NODE_DIR = Path(__file__).parent / "node"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium"),
]
playwright_api = pytest.importorskip("playwright.async_api")


@pytest.fixture(scope="session")
def node_rp() -> Path:
    """tests/e2e/node with openid-client installed (npm ci from the lock file, once)."""
    npm = shutil.which("npm")
    assert npm and shutil.which("node"), "node and npm are needed (Debian: nodejs npm)"
    if not (NODE_DIR / "node_modules" / "openid-client").is_dir():
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
    return NODE_DIR / "rp.cjs"


def node(script: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(["node", str(script), *args], capture_output=True, text=True,
                          timeout=60, check=False)
    out = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    assert done.returncode == 0, (out, done.stderr)
    return out


@pytest.fixture
def app_server() -> Iterator[tuple[str, list[str]]]:
    """The apps' side: http://localhost:PORT, answering every GET with a page; the URLs the
    browser arrived at are recorded."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    arrived: list[str] = []
    port = free_port()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            if self.path != "/favicon.ico":
                arrived.append(f"http://localhost:{port}{self.path}")
            body = b"<!doctype html><title>app</title><p>back in the app</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{port}", arrived
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = environment(database_url, redis_url, AUTHSVC_ISSUER=base,
                      AUTHSVC_DATA_DIR=str(tmp_path))
    with serving(env, port, tmp_path, ready="/health/ready"):
        yield {"url": base, "env": env}


def create_client(env: dict[str, str], *args: str) -> dict[str, Any]:
    made = cli(env, "create-client", *args)
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)  # type: ignore[no-any-return]


def totp_code(secret: str, not_this: str | None = None) -> str:
    while True:
        if 30 - time.time() % 30 < 3:  # never a code about to go stale
            time.sleep(3.5)
        code = pyotp.TOTP(secret).now()
        if code != not_this:
            return code
        time.sleep(1)


def user_with_totp(base: str) -> dict[str, Any]:
    email = unique_email("rp")
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.post("/users", json={"email": email, "password": STRONG_PASSWORD,
                                         "display_name": "Ada Lovelace"}).status_code == 201
        tokens = http.post("/token", data={"grant_type": "password", "username": email,
                                           "password": STRONG_PASSWORD}).json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        setup = http.post("/mfa/totp/setup", headers=bearer)
        assert setup.status_code == 200, setup.text
        secret = setup.json()["secret"]
        first = totp_code(secret)
        confirmed = http.post("/mfa/totp/confirm", json={"code": first}, headers=bearer)
        assert confirmed.status_code == 200, confirmed.text
    return {"email": email, "secret": secret, "used": first}


async def test_openid_client_and_authlib_sign_in_through_the_hosted_pages(
    server: dict[str, Any], node_rp: Path, app_server: tuple[str, list[str]]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    base, env = server["url"], server["env"]
    app, caught = app_server
    WEB_CALLBACK, SPA_CALLBACK, BYE = (f"{app}/web/callback", f"{app}/spa/callback",  # noqa: N806
                                       f"{app}/web/signed-out")
    web = create_client(env, "Acme Web", "--redirect-uri", WEB_CALLBACK,
                        "--post-logout-redirect-uri", BYE)
    spa = create_client(env, "Acme SPA", "--public", "--first-party",
                        "--redirect-uri", SPA_CALLBACK)
    user = await asyncio.to_thread(user_with_totp, base)
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = await browser.new_context()
            page = await context.new_page()

            # 1. node openid-client, a confidential third-party web app.
            start = await asyncio.to_thread(node, node_rp, "start", base, web["client_id"],
                                            web["client_secret"], WEB_CALLBACK,
                                            "openid email profile offline_access")
            await page.goto(start["url"])
            await page.wait_for_url(f"{base}/login?**")
            await page.fill("#username", user["email"])
            await page.fill("#password", STRONG_PASSWORD)
            await page.click("form[action='/login'] button[type=submit]")
            await page.wait_for_url(f"{base}/login/mfa")
            code = await asyncio.to_thread(totp_code, user["secret"], user["used"])
            await page.fill("#login-code", code)
            await page.click("form[action='/login/mfa'] button[type=submit]")
            await page.wait_for_selector("#consent-allow")
            assert "Acme Web" in await page.content()
            await page.screenshot(path=str(SHOTS / "consent.png"), full_page=True)
            await page.click("#consent-allow")
            await page.wait_for_url(f"{WEB_CALLBACK}?**")
            callback = caught[-1]
            assert f"iss={base.replace(':', '%3A').replace('/', '%2F')}" in callback
            done = await asyncio.to_thread(node, node_rp, "finish", base, web["client_id"],
                                           web["client_secret"], WEB_CALLBACK, callback,
                                           start["verifier"], start["state"], start["nonce"])
            claims = done["claims"]
            assert claims["email"] == user["email"] and claims["name"] == "Ada Lovelace"
            assert claims["nonce"] == start["nonce"] and claims["aud"] == web["client_id"]
            assert set(claims["amr"]) == {"pwd", "mfa", "otp"}
            assert done["userinfo"]["sub"] == claims["sub"] and done["has_refresh_token"]

            # A replayed callback (the same code) is refused by authsvc.
            replay = await asyncio.to_thread(
                subprocess.run, ["node", str(node_rp), "finish", base, web["client_id"],
                                 web["client_secret"], WEB_CALLBACK, callback,
                                 start["verifier"], start["state"], start["nonce"]],
                capture_output=True, text=True, timeout=60)
            assert replay.returncode == 1 and "invalid_grant" in replay.stdout

            # 2. Authlib, a public first-party SPA: the session is there, no page shows.
            from authlib.integrations.requests_client import OAuth2Session
            from authlib.jose import JsonWebKey, jwt
            from authlib.oidc.core import CodeIDToken

            async with httpx.AsyncClient() as http:
                metadata = (await http.get(f"{base}/.well-known/openid-configuration")).json()
                jwks = (await http.get(metadata["jwks_uri"])).json()
            rp = OAuth2Session(spa["client_id"], redirect_uri=SPA_CALLBACK,
                               scope="openid email", code_challenge_method="S256",
                               token_endpoint_auth_method="none")
            verifier = "spa-" + "x" * 60
            url, rp_state = rp.create_authorization_url(
                metadata["authorization_endpoint"], code_verifier=verifier, nonce="spa-nonce",
                prompt="none")
            await page.goto(url)
            await page.wait_for_url(f"{SPA_CALLBACK}?**")
            token = await asyncio.to_thread(
                rp.fetch_token, metadata["token_endpoint"], authorization_response=caught[-1],
                code_verifier=verifier, state=rp_state)
            keys = JsonWebKey.import_key_set(jwks)
            id_claims = jwt.decode(token["id_token"], keys, claims_cls=CodeIDToken,
                                   claims_options={"iss": {"essential": True, "value": base}},
                                   claims_params={"nonce": "spa-nonce",
                                                  "client_id": spa["client_id"],
                                                  "access_token": token["access_token"]})
            id_claims.validate()
            assert id_claims["sub"] == claims["sub"] and "refresh_token" not in token

            # 3. RP-initiated logout with the web app's ID token, back to its page.
            await page.goto(f"{base}/logout?" + httpx.QueryParams({
                "id_token_hint": done["id_token"], "post_logout_redirect_uri": BYE,
                "state": "bye-1"}).__str__())
            await page.wait_for_url(f"{BYE}?**")
            assert caught[-1] == f"{BYE}?state=bye-1"
            await page.goto(f"{base}/account")
            await page.wait_for_url(f"{base}/login?**")
        finally:
            await browser.close()
