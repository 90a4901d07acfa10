"""Structured logs: JSON lines with the request's context, and never a secret in them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from authsvc import logging_setup
from authsvc.logging_setup import REDACTED, configure_logging
from tests import flows
from tests.infra import STRONG_PASSWORD, Api

NEW_PASSWORD = "Another-Good-Pass-42"
WRONG_PASSWORD = "Wrong-Secret-Pass-99!"


class Written(io.StringIO):
    """The writer thread's output: reading it first waits for the queued records."""

    def getvalue(self) -> str:
        logging_setup.flush()
        return super().getvalue()


@pytest.fixture
def log_lines(state, make_settings) -> Iterator[io.StringIO]:
    """The service's own JSON handler at DEBUG, writing to a buffer for the test."""
    buffer = Written()
    configure_logging(make_settings(log_level="DEBUG"), stream=buffer)
    try:
        yield buffer
    finally:
        configure_logging(state.settings)


async def test_a_full_flow_logs_no_secret(api: Api, service_client, state, log_lines,
                                          caplog: pytest.LogCaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch, clock) -> None:
    caplog.set_level(logging.DEBUG)
    user = await flows.register(api)
    issued = await flows.login(api, user)
    rotated = (await flows.refresh(api, issued["refresh_token"])).json()
    await flows.introspect(api, service_client, rotated["access_token"])
    await flows.password_grant(api, user["email"], WRONG_PASSWORD)
    clock.advance(120)  # past that failure's cooldown: a password change is a login attempt too
    changed = await api.post(
        "/users/me/password", headers={"Authorization": f"Bearer {rotated['access_token']}"},
        json={"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 204
    flows.past_reuse_grace(state, monkeypatch)
    await flows.refresh(api, issued["refresh_token"])  # a reuse: a warning with the user id
    # Anything that reached a log call, JWT-shaped or a configured secret, is blanked too.
    logging.getLogger("authsvc.test").warning("leak %s %s", rotated["refresh_token"],
                                              state.settings.jwt_secret.get_secret_value())

    forbidden = [STRONG_PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, service_client[1],
                 issued["access_token"], issued["refresh_token"], rotated["access_token"],
                 rotated["refresh_token"], *state.settings.secret_values()]
    output = log_lines.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) >= 7
    for secret in forbidden:
        assert secret not in output
        for record in caplog.records:  # the redacting filter rewrote the records themselves
            assert secret not in record.getMessage()
    assert REDACTED in output

    access = [line for line in lines if line["logger"] == "authsvc.access"]
    token_line = next(line for line in access if line["route"] == "/token")
    for field in ("time", "level", "message", "request_id", "route", "status", "duration_ms",
                  "client_ip"):
        assert field in token_line, field
    assert token_line["client_ip"] == api.ip
    me = next(line for line in access if line["route"] == "/users/me/password")
    assert me["user_id"] == user["id"] and me["status"] == 204
    events = [line for line in lines if line.get("event") == "token_reuse"]
    assert events and events[0]["level"] == "WARNING"


def test_the_filter_blanks_tracebacks_and_extras(make_settings) -> None:
    settings = make_settings()
    buffer = Written()
    handler = configure_logging(settings, stream=buffer)
    secret = settings.jwt_secret.get_secret_value()
    try:
        try:
            raise ValueError(f"bad key {secret}")
        except ValueError:
            logging.getLogger("authsvc.test").exception("failed with eyJhbGciOi.eyJzdWIi.c2ln")
    finally:
        logging.getLogger().removeHandler(handler)
    line: dict[str, Any] = json.loads(buffer.getvalue().splitlines()[-1])
    assert secret not in buffer.getvalue() and "eyJzdWIi" not in buffer.getvalue()
    assert line["level"] == "ERROR" and REDACTED in line["exception"]


def test_logging_never_blocks_the_caller(make_settings, state) -> None:
    """A writer that hangs (a full pipe, a stuck terminal) stalls only the writer thread."""
    import threading
    import time

    release = threading.Event()

    class Stuck(io.StringIO):
        def write(self, text: str) -> int:
            release.wait(10)
            return super().write(text)

    stream = Stuck()
    configure_logging(make_settings(), stream=stream)
    threading.Timer(3.0, release.set).start()  # the writer is stuck for 3 seconds
    try:
        started = time.perf_counter()
        for n in range(2000):
            logging.getLogger("authsvc.test").warning("line %d", n)
        elapsed = time.perf_counter() - started
        assert elapsed < 1.0, f"2000 records took {elapsed:.2f}s with a stuck writer"
    finally:
        release.set()
        configure_logging(state.settings)
    assert "line 1999" in stream.getvalue()


async def test_request_lines_carry_the_w3c_trace_id(api: Api, log_lines) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    await api.get("/health/live", headers={
        "traceparent": f"00-{trace}-00f067aa0ba902b7-01"})
    await api.get("/health/live", headers={"traceparent": "00-zz-bad-01"})
    await api.get("/health/live")
    access = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    traces = [line["trace_id"] for line in access
              if line["logger"] == "authsvc.access" and line["route"] == "/health/live"]
    assert traces[0] == trace  # taken from a valid traceparent
    for made in traces[1:]:  # made when absent or malformed: 16 random bytes in hex
        assert len(made) == 32 and int(made, 16) and made != trace
    assert traces[1] != traces[2]


async def test_log_lines_inside_a_request_carry_its_ids(api: Api, log_lines) -> None:
    response = await api.post("/token", data={"grant_type": "password", "username": "x@y.zz",
                                              "password": "wrong"},
                              headers={"X-Request-ID": "req-42"})
    assert response.status_code in (400, 401, 429)
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == "req-42"]
    assert mine and all(len(line.get("trace_id", "")) == 32 for line in mine)
