"""The whole flow as a real relying party runs it: Authlib's OAuth 2 client with PKCE (S256),
then Authlib's ID-token validation (signature against /jwks, iss, aud, nonce, at_hash)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

from authsvc.composition import Components
from tests.infra import Api
from tests.oidc.helpers import REDIRECT, new_app, signed_in_browser

ISSUER = "http://authsvc.test"


def rp_client(app: Any, client_id: str, secret: str | None, **extra: Any) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=client_id, client_secret=secret, redirect_uri=REDIRECT,
        scope="openid email profile offline_access", code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", **extra,
    )


async def run_flow(api: Api, rp: AsyncOAuth2Client, nonce: str) -> dict[str, Any]:
    metadata = (await api.get("/.well-known/openid-configuration")).json()
    verifier = "v" * 10 + "-" * 40  # any 43-128 unreserved characters (RFC 7636 §4.1)
    url, state_value = rp.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    assert "code_challenge_method=S256" in url
    answer = await api.get(url.replace(ISSUER, ""))
    assert answer.status_code == 303, answer.text
    callback = answer.headers["location"]
    assert callback.startswith(REDIRECT + "?")
    token = await rp.fetch_token(metadata["token_endpoint"].replace(ISSUER, ""),
                                 authorization_response=callback, code_verifier=verifier,
                                 state=state_value)
    return {"token": dict(token), "callback": callback, "metadata": metadata}


async def validated_id_token(api: Api, token: dict[str, Any], client_id: str,
                             nonce: str) -> Any:
    jwks = JsonWebKey.import_key_set((await api.get("/jwks")).json())
    claims = jwt.decode(token["id_token"], jwks, claims_cls=CodeIDToken,
                        claims_options={"iss": {"essential": True, "value": ISSUER}},
                        claims_params={"nonce": nonce, "client_id": client_id,
                                       "access_token": token["access_token"]})
    claims.validate()  # exp, iat, aud = client_id, nonce, at_hash
    return claims


@pytest.mark.parametrize("kind", ["confidential", "public"])
async def test_authlib_client_signs_in_and_validates_the_id_token(
    app: Any, api: Api, state: Components, kind: str
) -> None:
    client_id, secret = await new_app(state, type=kind)
    user = await signed_in_browser(api)
    async with rp_client(app, client_id, secret) as rp:
        done = await run_flow(api, rp, nonce="n-0S6_WzA2Mj")
        token = done["token"]
        assert "iss=http%3A%2F%2Fauthsvc.test" in done["callback"]  # RFC 9207
        claims = await validated_id_token(api, token, client_id, "n-0S6_WzA2Mj")
        assert claims["sub"] == user["id"] and claims["email"] == user["email"]
        assert claims["amr"] == ["pwd"] and claims["sid"]
        assert abs(claims["auth_time"] - claims["iat"]) < 60
        header = token["id_token"].split(".")[0]
        import base64
        import json

        head = json.loads(base64.urlsafe_b64decode(header + "=="))
        assert head["alg"] == "RS256" and head["kid"]
        assert token["refresh_token"]  # offline_access was asked for and allowed
        info = await rp.get("/userinfo")  # the RP's own client: the token is bound to it
        assert info.status_code == 200
        assert info.json() == {"sub": user["id"], "email": user["email"],
                               "email_verified": False}
        # The refresh token rotates like the password grant's.
        refreshed = await rp.refresh_token("/token", refresh_token=token["refresh_token"])
        assert refreshed["access_token"] != token["access_token"]


async def test_es256_client_gets_an_es256_id_token(app: Any, api: Api, state: Components) -> None:
    client_id, secret = await new_app(state, id_token_alg="ES256")
    await signed_in_browser(api)
    async with rp_client(app, client_id, secret) as rp:
        token = (await run_flow(api, rp, nonce="abc"))["token"]
    claims = await validated_id_token(api, token, client_id, "abc")
    assert claims.header["alg"] == "ES256"


async def test_authlib_refuses_a_tampered_id_token(app: Any, api: Api, state: Components) -> None:
    client_id, secret = await new_app(state)
    await signed_in_browser(api)
    async with rp_client(app, client_id, secret) as rp:
        token = (await run_flow(api, rp, nonce="abc"))["token"]
    head, body, sig = token["id_token"].split(".")
    forged = {**token, "id_token": f"{head}.{body[:-4]}AAAA.{sig}"}
    with pytest.raises(Exception):  # noqa: B017 - any refusal by Authlib
        await validated_id_token(api, forged, client_id, "abc")
    with pytest.raises(Exception):  # noqa: B017 - another nonce
        await validated_id_token(api, token, client_id, "another-nonce")
