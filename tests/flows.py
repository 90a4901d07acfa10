"""Small steps the tests repeat: register, log in, introspect — through the HTTP API."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.infra import STRONG_PASSWORD, Api, unique_email


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def register(api: Api, email: str | None = None,
                   password: str = STRONG_PASSWORD) -> dict[str, Any]:
    email = email or unique_email()
    response = await api.post("/users", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return {**response.json(), "password": password}


async def password_grant(api: Api, username: str, password: str, **extra: str) -> httpx.Response:
    return await api.post("/token", data={"grant_type": "password", "username": username,
                                          "password": password, **extra})


async def login(api: Api, user: dict[str, Any]) -> dict[str, Any]:
    response = await password_grant(api, user["email"], user["password"])
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def refresh(api: Api, refresh_token: str) -> httpx.Response:
    return await api.post("/token", data={"grant_type": "refresh_token",
                                          "refresh_token": refresh_token})


async def introspect(api: Api, client: tuple[str, str], token: str, **extra: str) -> dict[str, Any]:
    response = await api.post("/introspect", data={"token": token, **extra},
                              headers=basic(*client))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def new_client(state: Any, name: str = "resource-server") -> tuple[str, str]:
    """Register a service client directly (as `authsvc create-client` does): (id, secret)."""
    from authsvc.db import transaction

    async for session in transaction(state.sessions):
        issued = await state.clients.create(session, name)
    return issued.client_id, issued.client_secret


def past_reuse_grace(state: Any, monkeypatch: Any) -> None:
    """Move the reuse grace's clock past AUTHSVC_REFRESH_REUSE_GRACE: from now on, presenting a
    spent refresh token is reuse (within the grace the same client would get its pair again)."""
    from datetime import timedelta

    from authsvc.db import utcnow

    later = timedelta(seconds=state.settings.refresh_reuse_grace + 1)
    monkeypatch.setattr(state.tokens, "now", lambda: utcnow() + later)
