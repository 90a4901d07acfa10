"""A real FastAPI app guarded by `authsvc_client.fastapi`, its AsyncAuthsvcClient talking HTTP to
real `authsvc serve` replicas: the answers of RFC 6750 / RFC 9470, the cache that revocations,
role changes and a broken stream empty at once, and 503 (never 200) when authsvc is down."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from authsvc.composition import Components
from authsvc_client import AsyncAuthsvcClient
from authsvc_client.fastapi import admin_required, install, mfa_required, token_required
from tests.admin.conftest import grant_roles
from tests.processes import Server, free_port
from tests.sdk.conftest import UA, bearer, login, serve, stepped_up, stop
from tests.sdk.proxy import StreamCutter

pytestmark = pytest.mark.slow


def protected_app(client: AsyncAuthsvcClient) -> FastAPI:
    app = FastAPI()
    install(app)

    @app.get("/me")
    async def me(token: dict = Depends(token_required(client))) -> dict:
        return {"sub": token["sub"]}

    @app.get("/admin")
    async def admin(token: dict = Depends(admin_required(client))) -> dict:
        return {"sub": token["sub"]}

    @app.get("/sensitive")
    async def sensitive(token: dict = Depends(mfa_required(client, max_age=600))) -> dict:
        return {"sub": token["sub"]}

    @app.get("/fresh")
    async def fresh(token: dict = Depends(mfa_required(client, max_age=2))) -> dict:
        return {"sub": token["sub"]}

    return app


@contextlib.asynccontextmanager
async def app_client(client: AsyncAuthsvcClient) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=protected_app(client), client=("10.1.2.3", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        try:
            yield http
        finally:
            await client.aclose()


async def until(predicate: Callable[[], Any], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not await _value(predicate()):
        assert time.monotonic() - started < timeout, "condition not reached in time"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def _value(result: Any) -> Any:
    return await result if asyncio.iscoroutine(result) else result


async def status(http: httpx.AsyncClient, path: str, token: str) -> int:
    return (await http.get(path, headers=bearer(token))).status_code


async def cached(client: AsyncAuthsvcClient, http: httpx.AsyncClient, path: str,
                 token: str) -> None:
    """Warm the client's cache with `token` (once the stream is live) and check it is used."""
    assert await status(http, path, token) == 200
    await until(lambda: client.stream_connected)
    assert await status(http, path, token) == 200
    assert len(client.cache) == 1


# ----------------------------------------------------------------------------- answers


async def test_a_valid_token_passes_and_the_route_gets_the_answer(
    replicas: tuple[Server, Server], user: dict[str, Any], service_client: tuple[str, str],
) -> None:
    async with app_client(AsyncAuthsvcClient(replicas[0].url, *service_client)) as http:
        response = await http.get("/me", headers=bearer(user["tokens"]["access_token"]))
    assert response.status_code == 200, response.text
    assert response.json() == {"sub": user["id"]}


async def test_no_token_bad_token_and_refresh_token_are_refused_as_rfc_6750_says(
    replicas: tuple[Server, Server], user: dict[str, Any], service_client: tuple[str, str],
) -> None:
    async with app_client(AsyncAuthsvcClient(replicas[0].url, *service_client)) as http:
        bare = await http.get("/me")
        basic = await http.get("/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
        bad = await http.get("/me", headers=bearer("not-a-token"))
        refresh = await http.get("/me", headers=bearer(user["tokens"]["refresh_token"]))
    for response in (bare, basic):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="authsvc"'
    for response in (bad, refresh):
        assert response.status_code == 401
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith('Bearer realm="authsvc", error="invalid_token"')
        assert response.json()["error"] == "invalid_token"


async def test_a_token_of_another_audience_is_refused(
    database_url: str, redis_url: str, replicas: tuple[Server, Server],
    service_client: tuple[str, str], user: dict[str, Any],
) -> None:
    other = serve(database_url, redis_url, AUTHSVC_AUDIENCE="http://other-api.test")
    try:
        with httpx.Client(base_url=other.url, headers={"User-Agent": UA}, timeout=10) as api:
            foreign = login(api, user["email"])["access_token"]
    finally:
        stop(other)
    async with app_client(AsyncAuthsvcClient(replicas[0].url, *service_client)) as http:
        assert await status(http, "/me", foreign) == 401
    # The library's own audience check: a token authsvc accepts, but not for this service.
    narrow = AsyncAuthsvcClient(replicas[0].url, *service_client, audience="urn:orders")
    async with app_client(narrow) as http:
        assert await status(http, "/me", user["tokens"]["access_token"]) == 401


async def test_admin_required_refuses_without_the_role_and_follows_role_changes_through_the_cache(
    replicas: tuple[Server, Server], user: dict[str, Any], service_client: tuple[str, str],
    state: Components,
) -> None:
    client = AsyncAuthsvcClient(replicas[1].url, *service_client, cache_ttl=30)
    token = user["tokens"]["access_token"]
    async with app_client(client) as http:
        refused = await http.get("/admin", headers=bearer(token))
        assert refused.status_code == 403
        assert refused.json()["error"] == "forbidden"
        await cached(client, http, "/me", token)
        await grant_roles(state, user["id"], ["admin"])
        assert await until(lambda: _is(status(http, "/admin", token), 200)) < 1.0
        await grant_roles(state, user["id"], [])  # taken away again: refused at once
        assert await until(lambda: _is(status(http, "/admin", token), 403)) < 1.0


async def _is(result: Any, expected: int) -> bool:
    return await result == expected


async def test_mfa_required_asks_for_a_recent_second_factor_rfc_9470(
    replicas: tuple[Server, Server], user: dict[str, Any], service_client: tuple[str, str],
) -> None:
    plain = user["tokens"]["access_token"]
    strong = stepped_up(replicas[0].url, plain)
    async with app_client(AsyncAuthsvcClient(replicas[0].url, *service_client)) as http:
        weak = await http.get("/sensitive", headers=bearer(plain))
        assert weak.status_code == 401
        assert weak.json()["error"] == "insufficient_user_authentication"
        challenge = weak.headers["www-authenticate"]
        assert 'error="insufficient_user_authentication"' in challenge
        assert challenge.endswith("max_age=600")
        assert await status(http, "/sensitive", strong) == 200
        assert await status(http, "/fresh", strong) == 200
        await asyncio.sleep(3.1)  # older than the route's max_age=2
        stale = await http.get("/fresh", headers=bearer(strong))
        assert stale.status_code == 401
        assert stale.headers["www-authenticate"].endswith("max_age=2")


# ------------------------------------------------------------------ cache and revocation


async def test_a_revoked_token_is_refused_within_a_second_on_every_replica_despite_a_30s_cache(
    replicas: tuple[Server, Server], user: dict[str, Any], service_client: tuple[str, str],
) -> None:
    token = user["tokens"]["access_token"]
    clients = [AsyncAuthsvcClient(r.url, *service_client, cache_ttl=30) for r in replicas]
    async with app_client(clients[0]) as one, app_client(clients[1]) as two:
        for client, http in zip(clients, (one, two), strict=True):
            await cached(client, http, "/me", token)
        async with httpx.AsyncClient(timeout=10) as api:
            out = await api.post(f"{replicas[0].url}/logout", headers=bearer(token))
            assert out.status_code == 204
        started = time.monotonic()
        refused = [False, False]
        while not all(refused):
            for i, http in enumerate((one, two)):
                refused[i] = refused[i] or await status(http, "/me", token) == 401
            assert time.monotonic() - started < 1.0, f"still accepted after 1 s: {refused}"
            await asyncio.sleep(0.01)
        for http in (one, two):  # and it stays refused
            assert await status(http, "/me", token) == 401


async def test_a_killed_stream_stops_the_cache_at_once(
    replicas: tuple[Server, Server], user: dict[str, Any], service_client: tuple[str, str],
) -> None:
    cutter = StreamCutter(replicas[0].port)
    cutter.start()
    try:
        client = AsyncAuthsvcClient(cutter.url, *service_client, cache_ttl=30)
        token = user["tokens"]["access_token"]
        async with app_client(client) as http:
            await cached(client, http, "/me", token)
            cutter.cut_streams()
            await until(lambda: not client.stream_connected, timeout=2.0)
            assert len(client.cache) == 0
            # Revoked while the stream is down: no event can reach the client.
            async with httpx.AsyncClient(timeout=10) as api:
                revoked = await api.post(f"{replicas[0].url}/revoke", data={"token": token},
                                         headers=_basic(service_client))
                assert revoked.status_code == 200
            assert await status(http, "/me", token) == 401  # asked authsvc, no cached "yes"
            with httpx.Client(base_url=replicas[1].url, headers={"User-Agent": UA}) as api:
                other = login(api, user["email"])["access_token"]
            assert await status(http, "/me", other) == 200
            assert len(client.cache) == 0  # nothing is cached while the stream is down
            cutter.allow_streams()
            await until(lambda: client.stream_connected)
            assert await status(http, "/me", other) == 200
            assert len(client.cache) == 1
    finally:
        cutter.stop()


def _basic(client: tuple[str, str]) -> dict[str, str]:
    from tests import flows

    return flows.basic(*client)


# ---------------------------------------------------------------------------- outages


async def test_authsvc_down_is_503_never_200_even_with_a_cached_answer(
    database_url: str, redis_url: str, app: Any, user: dict[str, Any],
    service_client: tuple[str, str],
) -> None:
    server = serve(database_url, redis_url)
    client = AsyncAuthsvcClient(server.url, *service_client, cache_ttl=30)
    uncached = AsyncAuthsvcClient(server.url, *service_client)
    token = user["tokens"]["access_token"]
    try:
        async with app_client(client) as http, app_client(uncached) as plain:
            await cached(client, http, "/me", token)
            assert await status(plain, "/me", token) == 200
            server.process.kill()
            server.process.wait()
            # Without a cache there is nothing to fall back on: the very next request is 503.
            assert await status(plain, "/me", token) == 503
            # With one, the closed stream is noticed within moments and empties the cache.
            noticed = await until(lambda: not client.stream_connected, timeout=1.0)
            answers = [await http.get("/me", headers=bearer(token)) for _ in range(5)]
    finally:
        stop(server)
    assert noticed < 0.5
    assert len(client.cache) == 0
    assert [a.status_code for a in answers] == [503] * 5
    assert answers[0].json()["error"] == "temporarily_unavailable"
    assert answers[0].headers["retry-after"]


async def test_an_unreachable_authsvc_is_503_for_every_guard(
    service_client: tuple[str, str],
) -> None:
    client = AsyncAuthsvcClient(f"http://127.0.0.1:{free_port()}", *service_client,
                                cache_ttl=30, timeout=1.0)
    async with app_client(client) as http:
        for path in ("/me", "/admin", "/sensitive"):
            response = await http.get(path, headers=bearer("x.y.z"))
            assert response.status_code == 503, path
