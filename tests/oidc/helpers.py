"""Steps the OpenID Connect tests repeat: register an app, sign a browser in through the pages,
run /authorize, exchange the code."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from authsvc.clients.registration import ClientSpec
from authsvc.db import transaction
from tests import flows
from tests.infra import Api
from tests.web.pages import login_page

REDIRECT = "https://app.example.com/callback"


async def new_app(state: Any, *, name: str = "web app", type: str = "confidential",
                  redirect_uris: tuple[str, ...] = (REDIRECT,), first_party: bool = True,
                  **extra: Any) -> tuple[str, str | None]:
    """An app registered as the admin API would: (client_id, client_secret or None)."""
    spec = ClientSpec(name=name, type=type, redirect_uris=redirect_uris,
                      first_party=first_party, **extra)
    async for session in transaction(state.sessions):
        issued = await state.clients.create(session, spec)
    return issued.client_id, issued.client_secret


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def signed_in_browser(api: Api) -> dict[str, Any]:
    """A user registered through the API and signed in through /login in this client."""
    user = await flows.register(api)
    response = await login_page(api, user["email"], user["password"])
    assert response.status_code == 303, response.text
    return user


def authorize_params(client_id: str, challenge: str, **extra: str) -> dict[str, str]:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
              "scope": "openid email profile", "state": secrets.token_urlsafe(8),
              "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
              "code_challenge_method": "S256"}
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


async def authorize(api: Api, params: dict[str, str]) -> httpx.Response:
    return await api.get("/authorize?" + urlencode(params))


async def code_for(api: Api, client_id: str, **extra: str) -> tuple[str, str, dict[str, str]]:
    """(code, verifier, params) for a signed-in browser and a first-party app."""
    verifier, challenge = pkce()
    params = authorize_params(client_id, challenge, **extra)
    response = await authorize(api, params)
    assert response.status_code == 303, response.text
    answer = query_of(response.headers["location"])
    assert "code" in answer, answer
    return answer["code"], verifier, params


async def exchange(api: Api, client: tuple[str, str | None], code: str, verifier: str,
                   redirect_uri: str = REDIRECT) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}
    headers = {}
    if client[1] is None:
        data["client_id"] = client[0]
    else:
        headers = flows.basic(client[0], client[1])
    return await api.post("/token", data=data, headers=headers)


def app_target(response: httpx.Response) -> str:
    """Where the browser goes back to the app: a 303's Location, or (after a form, whose
    redirect chain CSP form-action keeps on this site) the continue page's refresh."""
    if response.status_code == 303:
        return response.headers["location"]
    assert response.status_code == 200, response.text[:300]
    refresh = response.headers["refresh"]
    assert refresh.startswith("0;url=")
    target = refresh.removeprefix("0;url=")
    assert f'href="{target.replace("&", "&amp;")}"' in response.text
    return target
