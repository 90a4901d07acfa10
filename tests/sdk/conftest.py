"""The library against real authsvc processes: two replicas on the run's PostgreSQL and Redis
(for the whole run), users and tokens made over HTTP, service clients registered in the database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pyotp
import pytest

from tests import flows
from tests.infra import STRONG_PASSWORD, unique_email
from tests.processes import Server, environment

UA = "sdk-test-browser/1.0"
KEEPALIVE = "0.5"  # seconds between the stream's keep-alive comments, for quick tests


def serve(database_url: str, redis_url: str, **extra: str) -> Server:
    settings = {"AUTHSVC_REVOCATION_STREAM_KEEPALIVE": KEEPALIVE,
                "AUTHSVC_LOCKOUT_COOLDOWN_BASE": "0", **extra}
    env = environment(database_url, redis_url, **settings)
    server = Server(env)
    server.wait_ready()
    return server


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def replicas(database_url: str, redis_url: str, app: Any) -> Iterator[tuple[Server, Server]]:
    """Two `authsvc serve` processes sharing PostgreSQL and Redis (`app`: migrated first)."""
    pair = (serve(database_url, redis_url), serve(database_url, redis_url))
    try:
        yield pair
    finally:
        for server in pair:
            stop(server)


@pytest.fixture
def user(replicas: tuple[Server, Server]) -> dict[str, Any]:
    """A registered user with a fresh password login: {"id", "email", "password", "tokens"}."""
    base = replicas[0].url
    email = unique_email("sdk")
    with httpx.Client(base_url=base, headers={"User-Agent": UA}, timeout=10) as http:
        made = http.post("/users", json={"email": email, "password": STRONG_PASSWORD})
        assert made.status_code == 201, made.text
        tokens = login(http, email)
    return {"id": made.json()["id"], "email": email, "password": STRONG_PASSWORD,
            "tokens": tokens}


def login(http: httpx.Client, email: str, password: str = STRONG_PASSWORD) -> dict[str, Any]:
    response = http.post("/token", data={"grant_type": "password", "username": email,
                                         "password": password})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "User-Agent": UA}


def logout(base: str, token: str) -> None:
    response = httpx.post(f"{base}/logout", headers=bearer(token), timeout=10)
    assert response.status_code == 204, response.text


def stepped_up(base: str, access: str) -> str:
    """TOTP turned on over HTTP, then a real step-up: an access token with `mfa` and a fresh
    `auth_time` (codes computed here with pyotp, on the next step for the step-up)."""
    with httpx.Client(base_url=base, headers=bearer(access), timeout=10) as http:
        setup = http.post("/mfa/totp/setup")
        assert setup.status_code == 200, setup.text
        totp = pyotp.TOTP(setup.json()["secret"])
        now = time.time()
        confirm = http.post("/mfa/totp/confirm", json={"code": totp.at(now)})
        assert confirm.status_code == 200, confirm.text
        up = http.post("/mfa/step-up", json={"method": "totp", "code": totp.at(now + 30)})
        assert up.status_code == 200, up.text
    return str(up.json()["access_token"])


def wait_until(predicate: Any, timeout: float = 10.0, step: float = 0.02) -> float:
    """Seconds until `predicate()` held; fails after `timeout`."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not reached in time")
        time.sleep(step)
    return time.monotonic() - started


__all__ = ["UA", "bearer", "flows", "login", "logout", "serve", "stepped_up", "stop",
           "wait_until"]
