"""Structured logs: JSON lines with the request's context, and never a secret in them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from authsvc.logging_setup import REDACTED, configure_logging
from tests import flows
from tests.infra import STRONG_PASSWORD, Api

NEW_PASSWORD = "Another-Good-Pass-42"
WRONG_PASSWORD = "Wrong-Secret-Pass-99!"


@pytest.fixture
def log_lines(state, make_settings) -> Iterator[io.StringIO]:
    """The service's own JSON handler at DEBUG, writing to a buffer for the test."""
    buffer = io.StringIO()
    configure_logging(make_settings(log_level="DEBUG"), stream=buffer)
    try:
        yield buffer
    finally:
        configure_logging(state.settings)


async def test_a_full_flow_logs_no_secret(api: Api, service_client, state, log_lines,
                                          caplog: pytest.LogCaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    user = await flows.register(api)
    issued = await flows.login(api, user)
    rotated = (await flows.refresh(api, issued["refresh_token"])).json()
    await flows.introspect(api, service_client, rotated["access_token"])
    await flows.password_grant(api, user["email"], WRONG_PASSWORD)
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
    buffer = io.StringIO()
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
