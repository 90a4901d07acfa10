"""Breached passwords on every path that sets one — registration (API and page), password
change (API and page), reset (API and page), the admin command — and at login, against a real
range-API server on 127.0.0.1 and an operator's file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests import flows, infra
from tests.mfa.helpers import (
    World,
    bearer,
    code_at,
    enrol_totp,
    mfa_grant,
    mfa_token_for,
    open_world,
)
from tests.processes import cli, environment
from tests.range_server import RangeServer, sha1_hex
from tests.recovery.helpers import PUBLIC_URL, reset, reset_token_for
from tests.smtp_server import SmtpSink
from tests.web.pages import account_csrf, csrf_of, login_page, register_page

BREACHED = "Summer-Breach-2024!"  # meets every composition rule: only a breach list refuses it
GOOD = "Quiet-Harbour-Lantern-93"
MESSAGE = "appeared in a data breach"


@pytest.fixture
def range_api() -> Iterator[RangeServer]:
    server = RangeServer([BREACHED])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def breach_file(tmp_path: Path) -> Path:
    path = tmp_path / "pwned-passwords.txt"
    path.write_text(f"{sha1_hex('unrelated')}:3\n{sha1_hex(BREACHED)}:17\n", encoding="ascii")
    return path


def source_settings(source: str, range_api: RangeServer, breach_file: Path) -> dict[str, Any]:
    if source == "file":
        return {"breached_passwords_file": str(breach_file)}
    return {"breached_passwords": "hibp", "breached_passwords_url": range_api.url,
            "breached_passwords_timeout": 0.5}


@pytest.fixture(params=["api", "file"])
def source(request: pytest.FixtureRequest, range_api: RangeServer,
           breach_file: Path) -> dict[str, Any]:
    return source_settings(request.param, range_api, breach_file)


@asynccontextmanager
async def breach_world(make_settings: Any, sink: SmtpSink, **settings: Any
                       ) -> AsyncIterator[World]:
    async with open_world(make_settings, sink, public_url=PUBLIC_URL, **settings) as world:
        yield world


def refused_as_breached(response: Any) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "weak_password" and body["unmet"] == ["breached"]


# ------------------------------------------------------------------ registration


async def test_api_registration_refuses_a_breached_password(
    make_settings: Any, smtp_sink: SmtpSink, source: dict[str, Any]
) -> None:
    async with breach_world(make_settings, smtp_sink, **source) as world:
        email = infra.unique_email()
        refused = await world.api.post("/users", json={"email": email, "password": BREACHED})
        refused_as_breached(refused)
        assert MESSAGE in refused.json()["error_description"]
        await flows.register(world.api, email, GOOD)  # nothing was created the first time


async def test_registration_page_refuses_a_breached_password(
    make_settings: Any, smtp_sink: SmtpSink, range_api: RangeServer
) -> None:
    async with breach_world(make_settings, smtp_sink, breached_passwords="hibp",
                            breached_passwords_url=range_api.url) as world:
        form = await world.api.get("/register")
        response = await world.api.post("/register", data={
            "email": infra.unique_email(), "password": BREACHED, "csrf_token": csrf_of(form)})
        assert response.status_code == 422
        assert MESSAGE in response.text
        assert world.api.http.cookies.get("authsvc_session") is None


async def test_fail_closed_refuses_new_passwords_while_the_api_is_silent(
    make_settings: Any, smtp_sink: SmtpSink, range_api: RangeServer
) -> None:
    range_api.delay = 3
    async with breach_world(make_settings, smtp_sink, breached_passwords="hibp",
                            breached_passwords_url=range_api.url,
                            breached_passwords_timeout=0.3,
                            breached_passwords_fail="closed") as world:
        email = infra.unique_email()
        refused = await world.api.post("/users", json={"email": email, "password": GOOD})
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "temporarily_unavailable"
        assert refused.headers["retry-after"]
        range_api.delay = 0
        await flows.register(world.api, email, GOOD)  # the first attempt created nothing


async def test_fail_open_accepts_new_passwords_while_the_api_is_silent(
    make_settings: Any, smtp_sink: SmtpSink, range_api: RangeServer
) -> None:
    range_api.delay = 3
    async with breach_world(make_settings, smtp_sink, breached_passwords="hibp",
                            breached_passwords_url=range_api.url,
                            breached_passwords_timeout=0.3) as world:
        await flows.register(world.api, password=GOOD)
        assert len(range_api.requests) == 1  # it did ask, and did not wait for the answer


# ---------------------------------------------------------------- password change


async def test_api_password_change_refuses_a_breached_password(
    make_settings: Any, smtp_sink: SmtpSink, source: dict[str, Any]
) -> None:
    async with breach_world(make_settings, smtp_sink, **source) as world:
        user = await flows.register(world.api, password=GOOD)
        access = (await flows.login(world.api, user))["access_token"]
        refused = await world.api.post("/users/me/password", headers=bearer(access), json={
            "current_password": GOOD, "new_password": BREACHED})
        refused_as_breached(refused)
        assert (await flows.password_grant(world.api, user["email"], GOOD)).status_code == 200


async def test_account_page_refuses_a_breached_new_password(
    make_settings: Any, smtp_sink: SmtpSink, range_api: RangeServer
) -> None:
    async with breach_world(make_settings, smtp_sink, breached_passwords="hibp",
                            breached_passwords_url=range_api.url) as world:
        user = await register_page(world.api, password=GOOD)
        response = await world.api.post("/account/password", data={
            "current_password": GOOD, "new_password": BREACHED,
            "csrf_token": await account_csrf(world.api)})
        assert response.status_code == 422
        assert MESSAGE in response.text
        assert (await flows.password_grant(world.api, user["email"], GOOD)).status_code == 200


# ------------------------------------------------------------------------- reset


async def test_api_reset_refuses_a_breached_password_and_keeps_the_link(
    make_settings: Any, smtp_sink: SmtpSink, source: dict[str, Any], range_api: RangeServer
) -> None:
    async with breach_world(make_settings, smtp_sink, **source) as world:
        user = await flows.register(world.api, password=GOOD)
        token = await reset_token_for(world.api, smtp_sink, user["email"])
        refused_as_breached(await reset(world.api, token, BREACHED))
        asked = len(range_api.requests)
        assert (await reset(world.api, token, "Fresh-Lantern-Harbour-55")).status_code == 204
        if "breached_passwords" in source:  # one look-up per reset, not one per check
            assert len(range_api.requests) == asked + 1


async def test_reset_page_refuses_a_breached_password(
    make_settings: Any, smtp_sink: SmtpSink, range_api: RangeServer
) -> None:
    async with breach_world(make_settings, smtp_sink, breached_passwords="hibp",
                            breached_passwords_url=range_api.url) as world:
        user = await flows.register(world.api, password=GOOD)
        token = await reset_token_for(world.api, smtp_sink, user["email"])
        form = await world.api.get("/reset", params={"token": token})
        response = await world.api.post("/reset", data={
            "token": token, "password": BREACHED, "csrf_token": csrf_of(form)})
        assert response.status_code == 422
        assert MESSAGE in response.text
        assert (await flows.password_grant(world.api, user["email"], GOOD)).status_code == 200


# ------------------------------------------------------------------------- admin


async def test_create_admin_refuses_a_breached_password(
    database_url: str, redis_url: str, breach_file: Path, range_api: RangeServer
) -> None:
    email = infra.unique_email("admin")
    for extra in ({"AUTHSVC_BREACHED_PASSWORDS_FILE": str(breach_file)},
                  {"AUTHSVC_BREACHED_PASSWORDS": "hibp",
                   "AUTHSVC_BREACHED_PASSWORDS_URL": range_api.url}):
        env = environment(database_url, redis_url, **extra)
        refused = await asyncio.to_thread(cli, env, "create-admin", email, "--password-stdin",
                                          stdin=BREACHED + "\n")
        assert refused.returncode == 2, refused.stderr
        assert MESSAGE in refused.stderr
    env = environment(database_url, redis_url, AUTHSVC_BREACHED_PASSWORDS_FILE=str(breach_file))
    created = await asyncio.to_thread(cli, env, "create-admin", email, "--password-stdin",
                                      stdin=GOOD + "\n")
    assert created.returncode == 0, created.stderr  # the refused attempts created nothing


# ------------------------------------------------------------------------- login


async def me(world: World, access: str) -> dict[str, Any]:
    response = await world.api.get("/users/me", headers=bearer(access))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_password_found_breached_at_login_marks_the_account_until_changed(
    make_settings: Any, smtp_sink: SmtpSink, range_api: RangeServer
) -> None:
    async with breach_world(make_settings, smtp_sink, breached_passwords="hibp",
                            breached_passwords_url=range_api.url) as world:
        user = await flows.register(world.api, password=GOOD)
        access = (await flows.login(world.api, user))["access_token"]
        assert (await me(world, access))["password_reset_required"] is False
        range_api.add(GOOD)  # a breach published after the account was made

        access = (await flows.login(world.api, user))["access_token"]  # login still succeeds
        assert (await me(world, access))["password_reset_required"] is True
        changed = await world.api.post("/users/me/password", headers=bearer(access), json={
            "current_password": GOOD, "new_password": "Fresh-Lantern-Harbour-55"})
        assert changed.status_code == 204, changed.text
        assert (await me(world, access))["password_reset_required"] is False


async def test_the_mark_survives_a_login_that_stops_at_the_second_factor(
    make_settings: Any, smtp_sink: SmtpSink, range_api: RangeServer
) -> None:
    async with breach_world(make_settings, smtp_sink, breached_passwords="hibp",
                            breached_passwords_url=range_api.url) as world:
        user = await flows.register(world.api, password=GOOD)
        secret, _, _ = await enrol_totp(world, user)
        range_api.add(GOOD)
        token = await mfa_token_for(world.api, user)  # 403 mfa_required: a rolled-back request
        done = await mfa_grant(world.api, token, "totp", code_at(secret, world.clock.t))
        assert done.status_code == 200, done.text
        assert (await me(world, done.json()["access_token"]))["password_reset_required"] is True


async def test_a_silent_api_never_blocks_a_login_even_when_failing_closed(
    make_settings: Any, smtp_sink: SmtpSink, range_api: RangeServer
) -> None:
    async with breach_world(make_settings, smtp_sink, breached_passwords="hibp",
                            breached_passwords_url=range_api.url,
                            breached_passwords_timeout=0.3,
                            breached_passwords_fail="closed") as world:
        user = await flows.register(world.api, password=GOOD)
        range_api.add(GOOD)
        range_api.delay = 3
        access = (await flows.login(world.api, user))["access_token"]
        assert (await me(world, access))["password_reset_required"] is False


async def test_the_pages_ask_for_a_new_password_before_anything_else(
    make_settings: Any, smtp_sink: SmtpSink, range_api: RangeServer
) -> None:
    async with breach_world(make_settings, smtp_sink, breached_passwords="hibp",
                            breached_passwords_url=range_api.url) as world:
        api = world.api
        user = await flows.register(api, password=GOOD)
        range_api.add(GOOD)
        signed_in = await login_page(api, user["email"], GOOD, next="/account")
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/account"
        page = await api.get("/account")
        assert page.status_code == 200 and "Choose a new password before going on" in page.text

        # Every other form leads back to the password form, and changes nothing.
        setup = await api.post("/account/totp/setup", data={"csrf_token": csrf_of(page)})
        assert setup.status_code == 303 and setup.headers["location"] == "/account"
        assert 'id="totp-secret"' not in (await api.get("/account")).text  # no set-up began
        regen = await api.post("/account/recovery-codes", data={"csrf_token": csrf_of(page)})
        assert regen.status_code == 303 and regen.headers["location"] == "/account"

        changed = await api.post("/account/password", data={
            "current_password": GOOD, "new_password": "Fresh-Lantern-Harbour-55",
            "csrf_token": await account_csrf(api)})
        assert changed.status_code == 303
        page = await api.get("/account")
        assert "Choose a new password before going on" not in page.text
        setup = await api.post("/account/totp/setup", data={"csrf_token": csrf_of(page)})
        assert setup.status_code == 303
        assert 'id="totp-secret"' in (await api.get("/account")).text  # the account is open


async def test_a_page_login_through_the_second_factor_also_leads_to_the_password_form(
    make_settings: Any, smtp_sink: SmtpSink, range_api: RangeServer
) -> None:
    async with breach_world(make_settings, smtp_sink, breached_passwords="hibp",
                            breached_passwords_url=range_api.url) as world:
        api = world.api
        user = await flows.register(api, password=GOOD)
        secret, _, _ = await enrol_totp(world, user)
        range_api.add(GOOD)
        started = await login_page(api, user["email"], GOOD, next="/account?tab=x")
        assert started.headers["location"] == "/login/mfa"
        form = await api.get("/login/mfa")
        done = await api.post("/login/mfa", data={
            "method": "totp", "code": code_at(secret, world.clock.t), "csrf_token": csrf_of(form)})
        assert done.status_code == 303 and done.headers["location"] == "/account"
        assert "Choose a new password before going on" in (await api.get("/account")).text
