"""Helpers for the page tests: read CSRF tokens from the HTML, sign in and out through forms."""

from __future__ import annotations

import re
from typing import Any

import httpx
from tests.infra import STRONG_PASSWORD, Api, unique_email

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(response: httpx.Response) -> str:
    found = _TOKEN.search(response.text)
    assert found, response.text[:500]
    return found.group(1)


def session_cookie(api: Api, name: str = "authsvc_session") -> str | None:
    return api.http.cookies.get(name)


async def register_page(api: Api, email: str | None = None,
                        password: str = STRONG_PASSWORD) -> dict[str, Any]:
    """Register through /register (which signs the browser in)."""
    email = email or unique_email()
    form = await api.get("/register")
    response = await api.post("/register", data={"email": email, "password": password,
                                                  "csrf_token": csrf_of(form)})
    assert response.status_code == 303, response.text
    return {"email": email, "password": password}


async def login_page(api: Api, username: str, password: str, **extra: str) -> httpx.Response:
    form = await api.get("/login")
    return await api.post("/login", data={"username": username, "password": password,
                                          "csrf_token": csrf_of(form), **extra})


async def account_csrf(api: Api) -> str:
    page = await api.get("/account")
    assert page.status_code == 200, page.status_code
    return csrf_of(page)


async def logout_page(api: Api) -> httpx.Response:
    return await api.post("/logout", data={"csrf_token": await account_csrf(api)})
