"""AuthsvcClient and AsyncAuthsvcClient against real authsvc replicas: discovery, introspection,
revocation, client credentials, fail-closed errors, and the cache's own rules."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from authsvc_client import AsyncAuthsvcClient, AuthsvcClient, AuthsvcUnavailable
from authsvc_client.cache import AnswerCache, cache_key
from authsvc_client.errors import AuthsvcRefused
from tests.processes import Server
from tests.sdk.conftest import UA, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, str]]:
    """A socket that accepts connections and never answers (nor is it asked, if all is well)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.3)
    try:
        yield sock, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


async def test_constructors_never_touch_the_network(
    listener: tuple[socket.socket, str],
) -> None:
    sock, url = listener
    sync = AuthsvcClient(url, "c_x", "secret", cache_ttl=30)
    aio = AsyncAuthsvcClient(url, "c_x", "secret", cache_ttl=30)
    with pytest.raises(TimeoutError):
        sock.accept()
    sync.close()
    await aio.aclose()


async def test_a_silent_authsvc_times_out_as_unavailable(
    listener: tuple[socket.socket, str],
) -> None:
    _, url = listener
    with AuthsvcClient(url, "c_x", "secret", timeout=0.5) as client, \
            pytest.raises(AuthsvcUnavailable, match="timed out"):
        client.introspect("a.b.c")


async def test_a_5xx_is_unavailable_and_a_4xx_is_refused(
    replicas: tuple[Server, Server],
) -> None:
    served = threading.Event()

    def answer_503(sock: socket.socket) -> None:
        conn, _ = sock.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\n"
                     b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        conn.close()
        served.set()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        thread = threading.Thread(target=answer_503, args=(sock,), daemon=True)
        thread.start()
        with AuthsvcClient(f"http://127.0.0.1:{sock.getsockname()[1]}", "c", "s") as client, \
                pytest.raises(AuthsvcUnavailable) as down:
            client.introspect("a.b.c")
        assert served.wait(5)
    assert down.value.status == 503 and down.value.retry_after == 7
    with AuthsvcClient(replicas[0].url, "c_unknown", "wrong") as client, \
            pytest.raises(AuthsvcRefused) as refused:
        client.introspect("a.b.c")
    assert refused.value.status == 401 and refused.value.error == "invalid_client"


async def test_endpoints_come_from_the_metadata_through_the_configured_address(
    replicas: tuple[Server, Server], service_client: tuple[str, str],
) -> None:
    with AuthsvcClient(replicas[0].url, *service_client) as client:
        endpoints = client.endpoints()
    assert endpoints.issuer == "http://authsvc.test"  # the public name; not reachable here
    assert endpoints.introspection == f"{replicas[0].url}/introspect"
    assert endpoints.stream == f"{replicas[0].url}/revocations/stream"


async def test_introspect_revoke_and_client_token(
    replicas: tuple[Server, Server], service_client: tuple[str, str], user: dict[str, Any],
) -> None:
    token = user["tokens"]["access_token"]
    with AuthsvcClient(replicas[0].url, *service_client) as client:
        answer = client.introspect(token, user_agent=UA)
        assert answer["active"] is True and answer["sub"] == user["id"]
        own = client.client_token()
        assert client.client_token() == own  # cached
        described = client.introspect(own)
        assert described["active"] is True and described["sub"] == service_client[0]
        client.revoke(token)
        assert client.introspect(token, user_agent=UA) == {"active": False}
    async with AsyncAuthsvcClient(replicas[1].url, *service_client) as aio:
        assert (await aio.introspect(token, user_agent=UA)) == {"active": False}
        first = await aio.client_token()
        assert await aio.client_token() == first
        assert (await aio.introspect(first))["active"] is True


async def test_a_cached_answer_is_only_for_the_client_it_was_given_to(
    replicas: tuple[Server, Server], service_client: tuple[str, str], user: dict[str, Any],
) -> None:
    """Token binding: the answer for the owner's User-Agent is cached; a thief's is not it."""
    token = user["tokens"]["access_token"]
    with AuthsvcClient(replicas[0].url, *service_client, cache_ttl=30) as client:
        assert client.introspect(token, user_agent=UA)["active"] is True
        wait_until(lambda: client.stream_connected)
        assert client.introspect(token, user_agent=UA)["active"] is True
        assert len(client.cache) == 1
        assert client.introspect(token, user_agent="curl/8.0") == {"active": False}


# ------------------------------------------------------------------------ the cache's rules


def _live_cache() -> AnswerCache:
    cache = AnswerCache(ttl=30)
    cache.up()
    return cache


def _answer(**claims: Any) -> dict[str, Any]:
    return {"active": True, "exp": 4_000_000_000, **claims}


def test_an_answer_read_before_an_event_is_not_kept() -> None:
    cache = _live_cache()
    key = cache_key("t", None, None)
    generation = cache.begin()  # the introspection request leaves...
    cache.drop({"reason": "logout", "jti": "j1"})  # ...an event arrives before its answer
    cache.put(key, _answer(jti="j1"), generation, "t")
    assert cache.get(key) is None


def test_events_drop_exactly_the_entries_they_name() -> None:
    cache = _live_cache()
    entries = {"a": _answer(jti="j1", sid="f1", sub="u1"), "b": _answer(jti="j2", sid="f2",
                                                                       sub="u1"),
               "c": _answer(jti="j3", sid="f3", sub="u2")}
    for token, answer in entries.items():
        cache.put(cache_key(token, None, None), answer, cache.begin(), token)
    cache.drop({"reason": "logout", "family": "f3"})
    assert cache.get(cache_key("c", None, None)) is None
    assert cache.get(cache_key("a", None, None)) is not None
    cache.drop({"reason": "password_changed", "sub": "u1"})
    assert len(cache) == 0
    cache.put(cache_key("a", None, None), entries["a"], cache.begin(), "a")
    cache.drop({"reason": "something_new"})  # names nothing known: everything goes
    assert len(cache) == 0


def test_nothing_is_cached_or_served_while_the_stream_is_down() -> None:
    cache = AnswerCache(ttl=30)
    key = cache_key("t", None, None)
    cache.put(key, _answer(jti="j"), cache.begin(), "t")
    assert len(cache) == 0  # never connected
    cache.up()
    cache.put(key, _answer(jti="j"), cache.begin(), "t")
    assert cache.get(key) is not None
    cache.down()
    assert len(cache) == 0 and cache.get(key) is None


def test_a_silent_stream_counts_as_down() -> None:
    now = [1000.0]
    cache = AnswerCache(ttl=30, clock=lambda: now[0])
    cache.up(stale_after=31)
    key = cache_key("t", None, None)
    cache.put(key, _answer(jti="j"), cache.begin(), "t")
    now[0] += 20
    assert cache.get(key) is not None
    cache.heard()
    now[0] += 31.5
    assert cache.get(key) is None
