"""MFA test steps: an app of its own (SMTP sink, movable MFA clock), enrolment, the MFA grant.

Codes are computed here, independently of the service: pyotp from the secret the API returned,
at the test's own clock.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pyotp
from jose import jwt

from authsvc.composition import Components
from authsvc.main import create_app
from tests import flows, infra
from tests.smtp_server import SmtpSink

SECRET = "test-jwt-secret-that-is-long-enough-0123456789"
MFA_GRANT = "urn:authsvc:params:oauth:grant-type:mfa"


class Clock:
    """The MFA clock, frozen until the test moves it."""

    def __init__(self) -> None:
        self.t = float(int(time.time()) // 30 * 30 + 15)  # mid-step: nothing is ambiguous

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class World:
    app: Any
    state: Components
    sink: SmtpSink
    clock: Clock
    api: infra.Api


@asynccontextmanager
async def open_world(make_settings: Any, sink: SmtpSink, **overrides: Any) -> AsyncIterator[World]:
    values = {**sink.settings(), "lockout_cooldown_base": 0, **overrides}
    app = create_app(make_settings(**values))
    async with infra.running(app):
        state: Components = app.state.authsvc
        await infra.flush_keeping_claim(state.redis)
        clock = Clock()
        state.mfa.clock = clock
        async with infra.Api(app) as api:
            yield World(app, state, sink, clock, api)


def code_at(secret: str, unix_time: float) -> str:
    return pyotp.TOTP(secret).at(datetime.fromtimestamp(unix_time, tz=UTC))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_of(access_token: str) -> dict[str, Any]:
    return jwt.decode(access_token, SECRET, algorithms=["HS256"], audience="http://authsvc.test",
                      issuer="http://authsvc.test")


async def enrol_totp(world: World, user: dict[str, Any]) -> tuple[str, list[str], str]:
    """Turn TOTP on for a fresh user; returns (secret, recovery codes, a pre-MFA access token)."""
    access = (await flows.login(world.api, user))["access_token"]
    setup = await world.api.post("/mfa/totp/setup", headers=bearer(access))
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    confirm = await world.api.post("/mfa/totp/confirm", headers=bearer(access),
                                   json={"code": code_at(secret, world.clock.t)})
    assert confirm.status_code == 200, confirm.text
    world.clock.advance(30)  # the confirming code's step is used: log in on the next one
    return secret, confirm.json()["recovery_codes"], access


async def mfa_token_for(api: infra.Api, user: dict[str, Any]) -> str:
    response = await flows.password_grant(api, user["email"], user["password"])
    assert response.status_code == 403, response.text
    return str(response.json()["mfa_token"])


async def mfa_grant(api: infra.Api, mfa_token: str, method: str, code: str) -> httpx.Response:
    return await api.post("/token", data={"grant_type": MFA_GRANT, "mfa_token": mfa_token,
                                          "method": method, "code": code})


async def login_totp(world: World, user: dict[str, Any], secret: str) -> dict[str, Any]:
    token = await mfa_token_for(world.api, user)
    response = await mfa_grant(world.api, token, "totp", code_at(secret, world.clock.t))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def code_mails(sink: SmtpSink, to: str) -> list[Any]:
    """The MFA code mails sent to `to` (registration also mails a verification link)."""
    return [m for m in list(sink.messages) if m["To"] == to and "sign-in code" in m["Subject"]]


async def mailed_code(sink: SmtpSink, to: str, n: int, timeout: float = 5.0) -> str:
    """The code in the `n`-th (1-based) MFA code mail sent to `to`."""
    async with asyncio.timeout(timeout):
        while True:
            mails = code_mails(sink, to)
            if len(mails) >= n:
                break
            await asyncio.sleep(0.01)
    body = mails[n - 1].get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"\b(\d{6})\b", body.get_content())
    assert found, "no code in the mail"
    return found.group(1)


async def enrol_email(world: World, user: dict[str, Any]) -> str:
    """Turn e-mail MFA on for a fresh user; returns a pre-MFA access token."""
    access = (await flows.login(world.api, user))["access_token"]
    sent = await world.api.post("/mfa/email/enable", headers=bearer(access))
    assert sent.status_code == 200, sent.text
    code = await mailed_code(world.sink, user["email"], 1)
    confirm = await world.api.post("/mfa/email/confirm", headers=bearer(access),
                                   json={"code": code})
    assert confirm.status_code == 204, confirm.text
    return str(access)
