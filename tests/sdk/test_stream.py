"""GET /revocations/stream on real `authsvc serve` processes: every revocation, from every
replica, numbered; Last-Event-ID replay or reset; keep-alives; a prompt stop on SIGTERM."""
# ruff: noqa: ASYNC212 - a blocking client reads the stream: the servers are other processes

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from authsvc.composition import Components
from tests import flows
from tests.admin.conftest import grant_roles
from tests.processes import Server
from tests.sdk.conftest import UA, bearer, logout, serve, stop

pytestmark = pytest.mark.slow


class Stream:
    """An open stream, read frame by frame (raw lines: no parser of the library's)."""

    def __init__(self, http: httpx.Client, base: str, client: tuple[str, str],
                 last_event_id: str | None = None) -> None:
        headers = {**flows.basic(*client), "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self._cm = http.stream("GET", f"{base}/revocations/stream", headers=headers)
        self.response = self._cm.__enter__()
        self.lines: Iterator[str] = self.response.iter_lines()
        self.comments = 0

    def frame(self) -> dict[str, Any]:
        """The next event: {"event", "id", "data"} (comments counted, not returned)."""
        fields: dict[str, Any] = {}
        for line in self.lines:
            if line == "":
                if "event" in fields:
                    fields["data"] = json.loads(fields.get("data", "null"))
                    return fields
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        raise AssertionError("the stream ended")

    def until(self, kind: str) -> list[dict[str, Any]]:
        seen = []
        while True:
            frame = self.frame()
            seen.append(frame)
            if frame["event"] == kind:
                return seen

    def close(self) -> None:
        self._cm.__exit__(None, None, None)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(10.0, read=5.0)) as client:
        yield client


async def test_the_stream_needs_client_authentication(
    replicas: tuple[Server, Server], http: httpx.Client
) -> None:
    base = replicas[0].url
    bare = http.get(f"{base}/revocations/stream")
    assert bare.status_code == 401
    assert bare.json()["error"] == "invalid_client"
    assert bare.headers["www-authenticate"].startswith("Basic")
    wrong = http.get(f"{base}/revocations/stream", headers=flows.basic("c_nobody", "nope"))
    assert wrong.status_code == 401


async def test_a_logout_on_one_replica_is_announced_on_the_other(
    replicas: tuple[Server, Server], http: httpx.Client, user: dict[str, Any],
    service_client: tuple[str, str],
) -> None:
    a, b = replicas[0].url, replicas[1].url
    stream = Stream(http, b, service_client)
    try:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        ready = stream.until("ready")[-1]
        access = user["tokens"]["access_token"]
        claims = stream_claims(access)
        logout(a, access)
        events = [stream.frame(), stream.frame()]
    finally:
        stream.close()
    assert [e["event"] for e in events] == ["revoked", "revoked"]
    ids = [int(e["id"]) for e in events]
    assert ids[0] > int(ready["id"]) and ids[1] == ids[0] + 1
    token_event, family_event = events[0]["data"], events[1]["data"]
    assert token_event == {"reason": "logout", "jti": claims["jti"], "sid": claims["sid"],
                           "family": claims["sid"], "sub": user["id"]}
    assert family_event == {"reason": "logout", "family": claims["sid"], "sid": claims["sid"]}


async def test_password_change_and_role_change_name_the_user(
    replicas: tuple[Server, Server], http: httpx.Client, user: dict[str, Any],
    service_client: tuple[str, str], state: Components,
) -> None:
    a, b = replicas[0].url, replicas[1].url
    stream = Stream(http, a, service_client)
    try:
        stream.until("ready")
        changed = http.post(f"{b}/users/me/password",
                            headers=bearer(user["tokens"]["access_token"]),
                            json={"current_password": user["password"],
                                  "new_password": "Another-Horse-8-Battery"})
        assert changed.status_code == 204, changed.text
        events = stream.until("revoked")
        while events[-1]["data"].get("sub") != user["id"] or events[-1]["data"][
                "reason"] != "password_changed":
            events.append(stream.frame())
        await grant_roles(state, user["id"], ["admin"])  # the user changed: answers are stale
        role = stream.frame()
    finally:
        stream.close()
    assert events[-1]["data"] == {"reason": "password_changed", "sub": user["id"]}
    assert role["data"] == {"reason": "user_changed", "sub": user["id"]}


async def test_a_revoke_call_names_the_token(
    replicas: tuple[Server, Server], http: httpx.Client, user: dict[str, Any],
    service_client: tuple[str, str],
) -> None:
    a = replicas[0].url
    stream = Stream(http, a, service_client)
    try:
        stream.until("ready")
        access = user["tokens"]["access_token"]
        revoked = http.post(f"{a}/revoke", data={"token": access},
                            headers=flows.basic(*service_client))
        assert revoked.status_code == 200
        event = stream.frame()
    finally:
        stream.close()
    assert event["data"]["reason"] == "revoked"
    assert event["data"]["jti"] == stream_claims(access)["jti"]


async def test_a_retired_signing_key_is_announced_by_kid(
    replicas: tuple[Server, Server], http: httpx.Client, service_client: tuple[str, str],
    state: Components,
) -> None:
    stream = Stream(http, replicas[1].url, service_client)
    try:
        stream.until("ready")
        assert state.revocation_feed is not None
        seq = await state.revocation_feed.key_retired("key-2026-01")
        event = stream.frame()
    finally:
        stream.close()
    assert event == {"event": "revoked", "id": str(seq),
                     "data": {"reason": "key_retired", "kid": "key-2026-01"}}


async def test_a_reconnect_with_last_event_id_misses_nothing(
    replicas: tuple[Server, Server], http: httpx.Client, service_client: tuple[str, str],
) -> None:
    a, b = replicas[0].url, replicas[1].url
    first = Stream(http, a, service_client)
    last = first.until("ready")[-1]["id"]
    first.close()
    # Revocations while the client is away: a new login and its logout, on the other replica.
    with httpx.Client(base_url=b, headers={"User-Agent": UA}, timeout=10) as api:
        made = await_user(api)
        logout(b, made["access_token"])
    again = Stream(http, b, service_client, last_event_id=last)
    try:
        frames = again.until("ready")
    finally:
        again.close()
    replayed = [f for f in frames if f["event"] == "revoked"]
    assert [f["data"]["reason"] for f in replayed] == ["logout", "logout"]
    assert [int(f["id"]) for f in replayed] == [int(last) + 1, int(last) + 2]
    assert frames[-1]["id"] == replayed[-1]["id"]


@pytest.mark.parametrize("last_event_id", ["1", "not-a-number", "99999999999999999999"])
async def test_a_client_too_far_behind_is_told_to_reset(
    replicas: tuple[Server, Server], http: httpx.Client, service_client: tuple[str, str],
    last_event_id: str,
) -> None:
    a = replicas[0].url
    with httpx.Client(base_url=a, headers={"User-Agent": UA}, timeout=10) as api:
        logout(a, await_user(api)["access_token"])  # the feed has events, and 1 is long gone
    stream = Stream(http, a, service_client, last_event_id=last_event_id)
    try:
        frames = stream.until("ready")
    finally:
        stream.close()
    assert [f["event"] for f in frames] == ["reset", "ready"]


async def test_keep_alive_comments_flow_while_nothing_happens(
    replicas: tuple[Server, Server], http: httpx.Client, service_client: tuple[str, str],
) -> None:
    stream = Stream(http, replicas[0].url, service_client)
    try:
        stream.until("ready")
        started = time.monotonic()
        lines = 0
        for line in stream.lines:
            if line.startswith(":"):
                lines += 1
                if lines == 2:
                    break
        assert time.monotonic() - started < 3.0  # keep-alive every 0.5 s here
    finally:
        stream.close()


async def test_sigterm_ends_open_streams_and_the_server_exits_promptly(
    database_url: str, redis_url: str, app: Any, service_client: tuple[str, str],
    http: httpx.Client,
) -> None:
    server = serve(database_url, redis_url, AUTHSVC_REVOCATION_STREAM_KEEPALIVE="30")
    try:
        streams = [Stream(http, server.url, service_client) for _ in range(3)]
        for stream in streams:
            stream.until("ready")
        started = time.monotonic()
        code = server.stop(timeout=15.0)
        elapsed = time.monotonic() - started
        for stream in streams:  # each ended cleanly (no reset, no error): the body is complete
            assert list(stream.lines) == []
            stream.close()
    finally:
        stop(server)
    assert code == 0
    assert elapsed < 5.0, elapsed


def stream_claims(access: str) -> dict[str, Any]:
    from jose import jwt

    return jwt.get_unverified_claims(access)


def await_user(api: httpx.Client) -> dict[str, Any]:
    from tests.infra import STRONG_PASSWORD, unique_email
    from tests.sdk.conftest import login

    email = unique_email("sdk")
    assert api.post("/users", json={"email": email, "password": STRONG_PASSWORD}).status_code \
        == 201
    return login(api, email)
