"""The grant registry: /token dispatches on it, the metadata lists it, a grant type is unique."""

from __future__ import annotations

from typing import Any

import pytest

from authsvc.errors import UnsupportedGrantType
from authsvc.tokens.grants import GrantRegistry, TokenRequest
from tests.infra import Api


class EchoGrant:
    grant_type = "urn:test:echo"

    async def issue(self, request: TokenRequest) -> dict[str, Any]:
        return {"access_token": request.form["value"], "token_type": "Bearer", "expires_in": 1}


def test_a_grant_type_is_registered_once() -> None:
    registry = GrantRegistry((EchoGrant(),))
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(EchoGrant())


def test_an_unregistered_grant_type_is_unsupported() -> None:
    with pytest.raises(UnsupportedGrantType):
        GrantRegistry((EchoGrant(),)).find("password")


async def test_token_dispatches_to_a_registered_grant_and_metadata_lists_it(
    api: Api, app: Any
) -> None:
    saved: GrantRegistry = app.state.grants
    app.state.grants = GrantRegistry((*(saved.find(name) for name in saved), EchoGrant()))
    try:
        answer = await api.post("/token", data={"grant_type": "urn:test:echo", "value": "v1"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["access_token"] == "v1"
        assert answer.headers["cache-control"] == "no-store"
        listed = (await api.get("/.well-known/oauth-authorization-server")).json()
        assert listed["grant_types_supported"][-1] == "urn:test:echo"
    finally:
        app.state.grants = saved
    refused = await api.post("/token", data={"grant_type": "urn:test:echo", "value": "v1"})
    assert refused.status_code == 400
    assert refused.json()["error"] == "unsupported_grant_type"


async def test_the_metadata_lists_exactly_the_default_grants(api: Api) -> None:
    listed = (await api.get("/.well-known/oauth-authorization-server")).json()
    # The test app's issuer (http://authsvc.test) turns passkeys on: their grant follows.
    assert listed["grant_types_supported"] == [
        "password", "refresh_token", "client_credentials",
        "urn:authsvc:params:oauth:grant-type:mfa", "authorization_code",
        "urn:authsvc:params:oauth:grant-type:webauthn",
    ]
