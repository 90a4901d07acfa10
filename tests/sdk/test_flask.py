"""A real Flask app guarded by `authsvc_client.flask`, its AuthsvcClient (sync, with its stream
thread) talking HTTP to real `authsvc serve` replicas."""
# ruff: noqa: ASYNC210 - Flask is synchronous: the test drives it (and authsvc) with blocking calls

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask, g

from authsvc_client import AuthsvcClient
from authsvc_client.flask import admin_required, mfa_required, token_required
from tests import flows
from tests.processes import Server
from tests.sdk.conftest import bearer, serve, stepped_up, stop, wait_until
from tests.sdk.proxy import StreamCutter

pytestmark = pytest.mark.slow


def protected_app(client: AuthsvcClient) -> Flask:
    app = Flask("protected")

    @app.get("/me")
    @token_required(client)
    def me() -> dict:
        return {"sub": g.token["sub"], "roles": g.token["roles"]}

    @app.get("/admin")
    @admin_required(client, role="admin")
    def admin() -> dict:
        return {"sub": g.token["sub"]}

    @app.get("/sensitive")
    @mfa_required(client, max_age=600)
    def sensitive() -> dict:
        return {"sub": g.token["sub"]}

    return app


class Guarded:
    def __init__(self, client: AuthsvcClient) -> None:
        self.client = client
        self.http = protected_app(client).test_client()

    def get(self, path: str, token: str | None = None) -> Any:
        return self.http.get(path, headers=bearer(token) if token else {},
                             environ_base={"REMOTE_ADDR": "10.9.8.7"})

    def status(self, path: str, token: str) -> int:
        return int(self.get(path, token).status_code)

    def warm(self, token: str) -> None:
        assert self.status("/me", token) == 200
        wait_until(lambda: self.client.stream_connected)
        assert self.status("/me", token) == 200
        assert len(self.client.cache) == 1


@pytest.fixture
def guarded(replicas: tuple[Server, Server],
            service_client: tuple[str, str]) -> Iterator[list[Guarded]]:
    apps = [Guarded(AuthsvcClient(r.url, *service_client, cache_ttl=30)) for r in replicas]
    try:
        yield apps
    finally:
        for app in apps:
            app.client.close()


async def test_valid_missing_and_bad_tokens(guarded: list[Guarded], user: dict[str, Any]) -> None:
    app = guarded[0]
    ok = app.get("/me", user["tokens"]["access_token"])
    assert ok.status_code == 200 and ok.get_json() == {"sub": user["id"], "roles": []}
    bare = app.get("/me")
    assert bare.status_code == 401
    assert bare.headers["WWW-Authenticate"] == 'Bearer realm="authsvc"'
    bad = app.get("/me", "forged.token.value")
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    assert bad.get_json()["error"] == "invalid_token"


async def test_admin_and_mfa_rules(guarded: list[Guarded], user: dict[str, Any],
                                   replicas: tuple[Server, Server]) -> None:
    app = guarded[1]
    plain = user["tokens"]["access_token"]
    forbidden = app.get("/admin", plain)
    assert forbidden.status_code == 403 and forbidden.get_json()["error"] == "forbidden"
    weak = app.get("/sensitive", plain)
    assert weak.status_code == 401
    assert weak.headers["WWW-Authenticate"] == (
        'Bearer realm="authsvc", error="insufficient_user_authentication", '
        'error_description="A recent second factor is required.", max_age=600')
    assert app.status("/sensitive", stepped_up(replicas[0].url, plain)) == 200


async def test_a_revoked_token_is_refused_within_a_second_on_every_replica(
    guarded: list[Guarded], user: dict[str, Any], replicas: tuple[Server, Server],
    service_client: tuple[str, str],
) -> None:
    token = user["tokens"]["access_token"]
    for app in guarded:
        app.warm(token)
    revoked = httpx.post(f"{replicas[1].url}/revoke", data={"token": token},
                         headers=flows.basic(*service_client), timeout=10)
    assert revoked.status_code == 200
    started = time.monotonic()
    for app in guarded:
        wait_until(lambda app=app: app.status("/me", token) == 401, timeout=1.0)
    assert time.monotonic() - started < 1.0


async def test_a_killed_stream_means_no_cached_answer(
    replicas: tuple[Server, Server], user: dict[str, Any], service_client: tuple[str, str],
) -> None:
    cutter = StreamCutter(replicas[1].port)
    cutter.start()
    app = Guarded(AuthsvcClient(cutter.url, *service_client, cache_ttl=30))
    token = user["tokens"]["access_token"]
    try:
        app.warm(token)
        cutter.cut_streams()
        wait_until(lambda: not app.client.stream_connected, timeout=2.0)
        revoked = httpx.post(f"{replicas[0].url}/revoke", data={"token": token},
                             headers=flows.basic(*service_client), timeout=10)
        assert revoked.status_code == 200
        assert app.status("/me", token) == 401
    finally:
        app.client.close()
        cutter.stop()


async def test_authsvc_down_is_503(
    database_url: str, redis_url: str, app: Any, user: dict[str, Any],
    service_client: tuple[str, str],
) -> None:
    server = serve(database_url, redis_url)
    guarded = Guarded(AuthsvcClient(server.url, *service_client, cache_ttl=30))
    token = user["tokens"]["access_token"]
    try:
        guarded.warm(token)
        server.process.kill()
        server.process.wait()
        wait_until(lambda: not guarded.client.stream_connected, timeout=1.0)
        answers = [guarded.get("/me", token) for _ in range(3)]
    finally:
        guarded.client.close()
        stop(server)
    assert [a.status_code for a in answers] == [503] * 3
    assert answers[0].get_json()["error"] == "temporarily_unavailable"
