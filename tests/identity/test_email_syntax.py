"""Issue 12 item 5: look-alike accounts by e-mail syntax. Only plain dot-atom local parts and
IDNA domains are addresses: quoted local parts, comments and display names are refused with 422
`invalid_email` on every path that takes an address (register API and page, forgot API and
page, create-admin), nothing is created, and the stored address is the parsed one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from authsvc.identity.models import User
from tests import flows
from tests.infra import STRONG_PASSWORD, Api
from tests.processes import cli, environment
from tests.web.pages import csrf_of

LOOK_ALIKES = [
    '"ceo"@example.com',
    "ceo(hr)@example.com",
    "(hr)ceo@example.com",
    "CEO <ceo@example.com>",
    "ceo@[192.0.2.1]",
    '"ceo@example.com"',
    "ceo..x@example.com",
    "ceo@exa_mple.com",
]


async def users_named(state: Any, fragment: str) -> int:
    async with state.sessions() as session:
        query = select(func.count()).select_from(User).where(User.email.contains(fragment))
        return int((await session.execute(query)).scalar_one())


@pytest.mark.parametrize("address", LOOK_ALIKES)
async def test_registration_refuses_look_alike_addresses(api: Api, state: Any,
                                                         address: str) -> None:
    before = await users_named(state, "ceo")
    answer = await api.post("/users", json={"email": address, "password": STRONG_PASSWORD})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_email"
    form = await api.get("/register")
    page = await api.post("/register", data={"email": address, "password": STRONG_PASSWORD,
                                             "csrf_token": csrf_of(form)})
    assert page.status_code == 422 and "valid e-mail address" in page.text
    forgot = await api.post("/password/forgot", json={"email": address})
    assert forgot.status_code == 422 and forgot.json()["error"] == "invalid_email"
    assert await users_named(state, "ceo") == before


async def test_the_forgot_page_refuses_a_look_alike_address(api: Api) -> None:
    form = await api.get("/forgot")
    page = await api.post("/forgot", data={"email": '"ceo"@example.com',
                                           "csrf_token": csrf_of(form)})
    assert page.status_code == 422 and "valid e-mail address" in page.text


async def test_the_stored_address_is_the_parsed_one(api: Api) -> None:
    local = f"ada.{id(api)}"
    created = await api.post("/users", json={"email": f"  {local.upper()}@XN--EXMPLE-CUA.COM ",
                                             "password": STRONG_PASSWORD})
    assert created.status_code == 201, created.text
    assert created.json()["email"] == f"{local}@exämple.com"
    again = await api.post("/users", json={"email": f"{local}@exämple.com",
                                           "password": STRONG_PASSWORD})
    assert again.status_code == 409 and again.json()["error"] == "email_taken"
    user = {"email": f"{local}@xn--exmple-cua.com", "password": STRONG_PASSWORD}
    assert "access_token" in await flows.login(api, user)


@pytest.mark.slow
async def test_create_admin_refuses_a_look_alike_address(database_url: str,
                                                         redis_url: str) -> None:
    env = environment(database_url, redis_url)
    done = await asyncio.to_thread(cli, env, "create-admin", '"root"@example.com',
                                   "--password-stdin", stdin=STRONG_PASSWORD + "\n")
    assert done.returncode == 2
    assert "valid e-mail address" in done.stderr
