"""API steps of the passkey tests, over HTTP to the real server."""

from __future__ import annotations

from typing import Any

import httpx
from jose import jwt

from tests.infra import STRONG_PASSWORD, unique_email
from tests.passkeys.browser import create, get

JWT_SECRET = "passkey-jwt-secret-that-is-long-enough-0123"
MFA_GRANT = "urn:authsvc:params:oauth:grant-type:mfa"


def api(origin: str) -> httpx.AsyncClient:
    # The server listens on 127.0.0.1; its issuer (and the browser's origin) says localhost.
    return httpx.AsyncClient(base_url=origin.replace("localhost", "127.0.0.1"), timeout=20,
                             headers={"User-Agent": "passkey-tests/1.0"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_of(origin: str, access_token: str) -> dict[str, Any]:
    return jwt.decode(access_token, JWT_SECRET, algorithms=["HS256"], audience=origin,
                      issuer=origin)


async def new_user(client: httpx.AsyncClient) -> dict[str, Any]:
    email = unique_email("pk")
    made = await client.post("/users", json={"email": email, "password": STRONG_PASSWORD})
    assert made.status_code == 201, made.text
    token = await client.post("/token", data={"grant_type": "password", "username": email,
                                              "password": STRONG_PASSWORD})
    assert token.status_code == 200, token.text
    return {**made.json(), "password": STRONG_PASSWORD, "access": token.json()["access_token"]}


async def register_passkey(client: httpx.AsyncClient, page: Any, access: str,
                           name: str | None = "Laptop") -> dict[str, Any]:
    options = await client.post("/webauthn/register/options", headers=bearer(access))
    assert options.status_code == 200, options.text
    credential = await create(page, options.json())
    body: dict[str, Any] = {"credential": credential}
    if name is not None:
        body["name"] = name
    done = await client.post("/webauthn/register/verify", headers=bearer(access), json=body)
    assert done.status_code == 201, done.text
    return {**done.json(), "credential_id": credential["id"]}


async def login_options(client: httpx.AsyncClient, username: str | None = None
                        ) -> dict[str, Any]:
    body = {"username": username} if username else {}
    options = await client.post("/webauthn/login/options", json=body)
    assert options.status_code == 200, options.text
    return options.json()  # type: ignore[no-any-return]


async def assertion(client: httpx.AsyncClient, page: Any, username: str | None = None, *,
                    allow: str | None = None) -> tuple[str, dict[str, Any]]:
    """A fresh sign-in challenge and the authenticator's answer: (challenge_id, credential).
    `allow`: a credential id the browser is told to use (the client decides what it asks its
    authenticator; Chromium needs it for an authenticator without user verification)."""
    options = await login_options(client, username)
    challenge_id = options.pop("challenge_id")
    if allow:
        options["allowCredentials"] = [{"id": allow, "type": "public-key"}]
    return challenge_id, await get(page, options)


async def sign_in(client: httpx.AsyncClient, challenge_id: str,
                  credential: dict[str, Any]) -> httpx.Response:
    return await client.post("/webauthn/login/verify",
                             json={"challenge_id": challenge_id, "credential": credential})


async def enable_totp(client: httpx.AsyncClient, access: str) -> str:
    import pyotp

    setup = (await client.post("/mfa/totp/setup", headers=bearer(access))).json()
    confirm = await client.post("/mfa/totp/confirm", headers=bearer(access),
                                json={"code": pyotp.TOTP(setup["secret"]).now()})
    assert confirm.status_code == 200, confirm.text
    return str(setup["secret"])


async def metric(origin: str, sample: str) -> float:
    """One sample (`name{labels}`) of the server's /metrics (loopback may read it); 0 if none."""
    async with api(origin) as client:
        text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def audit_count(origin: str, event: str) -> float:
    """authsvc_security_events_total for the audit event `event`."""
    return await metric(origin, f'authsvc_security_events_total{{type="{event}"}}')
