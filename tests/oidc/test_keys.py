"""Signing keys: kid on every asymmetric token, algorithm confusion, unknown and retired kids,
rotation with pre-publication under traffic (/jwks never drops a key a live token needs), and
asymmetric access tokens (AUTHSVC_ACCESS_TOKEN_ALG) next to HS256 ones."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest
import pytest_asyncio
from authlib.jose import JsonWebKey
from authlib.jose import jwt as authlib_jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt as jose_jwt

from authsvc.composition import Components
from authsvc.db import transaction
from authsvc.main import create_app
from tests import flows, infra
from tests.infra import Api
from tests.oidc.helpers import code_for, exchange, new_app, signed_in_browser

ISSUER = "http://authsvc.test"


def header_of(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))


def claims_of(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def access_claims(sub: str) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": ISSUER, "sub": sub, "typ": "access",
            "jti": secrets.token_urlsafe(16), "iat": now, "nbf": now, "exp": now + 600,
            "roles": ["admin"], "amr": ["pwd"], "auth_time": now}


def hs256_by_hand(claims: dict[str, Any], key: bytes, kid: str) -> str:
    """An HS256 JWT made without python-jose (which refuses PEM keys as HMAC secrets)."""
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


async def _active(api: Api, state: Components, token: str) -> bool:
    resource = await flows.new_client(state)
    return bool((await flows.introspect(api, resource, token))["active"])


@pytest.fixture
def rotation(state: Components) -> Iterator[Any]:
    """The key ring's clock and pre-publication, restored after (the ring is the app's)."""
    ring = state.keys
    saved = ring.clock, ring.prepublish
    offset = {"s": 0.0}
    ring.clock = lambda: time.time() + offset["s"]

    class Control:
        @staticmethod
        def advance(seconds: float) -> None:
            offset["s"] += seconds

        @staticmethod
        async def rotate(prepublish: int) -> list[str]:
            ring.prepublish = prepublish
            async for session in transaction(state.sessions):
                added = await ring.rotate(session)
            await ring.load()
            return [k.kid for k in added]

    try:
        yield Control
    finally:
        ring.clock, ring.prepublish = saved
        # Later tests sign with keys active at the real time again.


async def test_id_tokens_carry_the_kid_of_a_published_key(api: Api, state: Components) -> None:
    client = await new_app(state)
    await signed_in_browser(api)
    code, verifier, _ = await code_for(api, client[0])
    id_token = (await exchange(api, client, code, verifier)).json()["id_token"]
    published = {k["kid"]: k for k in (await api.get("/jwks")).json()["keys"]}
    head = header_of(id_token)
    assert head["kid"] in published and published[head["kid"]]["alg"] == head["alg"] == "RS256"
    for key in published.values():
        assert key["use"] == "sig" and key["alg"] in ("RS256", "ES256")
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)  # never a private part


async def test_algorithm_confusion_hs256_signed_with_the_public_key_is_refused(
    api: Api, state: Components
) -> None:
    user = await flows.register(api)
    rsa_jwk = next(k for k in (await api.get("/jwks")).json()["keys"] if k["kty"] == "RSA")
    public_pem = JsonWebKey.import_key(rsa_jwk).as_pem()
    for secret in (public_pem, json.dumps(rsa_jwk).encode()):
        forged = hs256_by_hand(access_claims(user["id"]), secret, rsa_jwk["kid"])
        assert not await _active(api, state, forged)
        me = await api.get("/users/me", headers={"Authorization": f"Bearer {forged}"})
        assert me.status_code == 401


async def test_unknown_kid_foreign_key_and_alg_none_are_refused(
    api: Api, state: Components
) -> None:
    user = await flows.register(api)
    ours = next(k for k in (await api.get("/jwks")).json()["keys"] if k["kty"] == "RSA")
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = foreign.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    for kid in ("no-such-kid", ours["kid"]):
        token = jose_jwt.encode(access_claims(user["id"]), pem.decode(), algorithm="RS256",
                                headers={"kid": kid})
        assert not await _active(api, state, token)
    unsigned = jose_jwt.encode(access_claims(user["id"]), "", algorithm="HS256")
    head, body, _ = unsigned.split(".")
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    assert not await _active(api, state, f"{none_head}.{body}.")
    # An ID token is never an access token.
    client = await new_app(state)
    await signed_in_browser(api)
    code, verifier, _ = await code_for(api, client[0])
    id_token = (await exchange(api, client, code, verifier)).json()["id_token"]
    assert not await _active(api, state, id_token)


async def test_rotation_prepublishes_then_switches_and_retires_after_the_tokens_expire(
    api: Api, state: Components, rotation: Any
) -> None:
    client = await new_app(state)
    await signed_in_browser(api)
    code, verifier, _ = await code_for(api, client[0])
    before = (await exchange(api, client, code, verifier)).json()["id_token"]
    old_kid = header_of(before)["kid"]
    added = await rotation.rotate(prepublish=3600)
    new_rsa = next(k for k in added if k.startswith("rs256"))
    jwks = {k["kid"] for k in (await api.get("/jwks")).json()["keys"]}
    assert new_rsa in jwks and old_kid in jwks  # published at once
    code, verifier, _ = await code_for(api, client[0])
    during = (await exchange(api, client, code, verifier)).json()["id_token"]
    assert header_of(during)["kid"] == old_kid  # not signing before the pre-publication ends
    rotation.advance(3601)
    code, verifier, _ = await code_for(api, client[0])
    after = (await exchange(api, client, code, verifier)).json()["id_token"]
    assert header_of(after)["kid"] == new_rsa
    jwks = {k["kid"] for k in (await api.get("/jwks")).json()["keys"]}
    assert old_kid in jwks  # tokens it signed are still live
    # Once every token the old key could have signed has expired, it is retired.
    lifetime = state.keys.token_lifetime + state.keys.leeway
    rotation.advance(lifetime + 1)
    jwks = {k["kid"] for k in (await api.get("/jwks")).json()["keys"]}
    assert old_kid not in jwks and new_rsa in jwks
    # A token naming the retired key (even one that claims a later expiry) is refused.
    ring_key = state.keys._keys[old_kid]
    user = await flows.register(api)
    claims = access_claims(user["id"])
    claims["exp"] = int(time.time() + rotation_offset(state)) + 600
    forged = jose_jwt.encode(claims, ring_key.signer, algorithm="RS256",
                             headers={"kid": old_kid})
    assert not await _active(api, state, forged)


def rotation_offset(state: Components) -> float:
    return state.keys.clock() - time.time()


async def test_jwks_never_drops_a_key_a_live_token_needs_under_traffic(
    api: Api, state: Components, rotation: Any
) -> None:
    """Sign-ins go on concurrently while keys rotate (no pre-publication, the harshest case):
    every ID token issued so far verifies against every /jwks fetched after it was issued."""
    import asyncio

    client = await new_app(state)
    await signed_in_browser(api)
    issued: list[str] = []

    async def traffic() -> None:
        for _ in range(6):  # 12 exchanges in all: within the /token rate limit of one address
            code, verifier, _ = await code_for(api, client[0])
            answer = await exchange(api, client, code, verifier)
            assert answer.status_code == 200, answer.text
            issued.append(answer.json()["id_token"])
            keys = JsonWebKey.import_key_set((await api.get("/jwks")).json())
            for token in list(issued):
                assert authlib_jwt.decode(token, keys)["aud"] == client[0]

    async def rotations() -> None:
        for count in (2, 5, 8):  # rotate while the sign-ins are under way
            while len(issued) < count:
                await asyncio.sleep(0.01)
            await rotation.rotate(prepublish=0)
            rotation.advance(1)

    await asyncio.gather(traffic(), traffic(), rotations())
    kids = {header_of(token)["kid"] for token in issued}
    assert len(kids) >= 3, kids  # the tokens really were signed by keys that rotated out


# --------------------------------------------------- asymmetric access tokens
@pytest_asyncio.fixture
async def rs256_app(make_settings: Any) -> AsyncIterator[Any]:
    """A second app on the same database and Redis, issuing RS256 access tokens."""
    application = create_app(make_settings(access_token_alg="RS256"))
    async with infra.running(application):
        yield application


async def test_rs256_access_tokens_verify_offline_and_at_introspection(
    api: Api, state: Components, rs256_app: Any
) -> None:
    user = await flows.register(api)
    hs256 = (await flows.login(api, user))["access_token"]
    async with Api(rs256_app, ip=api.ip) as other:
        issued = await flows.login(other, user)
        token = issued["access_token"]
        head = header_of(token)
        assert head["alg"] == "RS256" and head["kid"]
        keys = JsonWebKey.import_key_set((await other.get("/jwks")).json())
        claims = authlib_jwt.decode(token, keys)
        claims.validate()
        assert claims["sub"] == user["id"] and claims["iss"] == ISSUER
        resource = await flows.new_client(rs256_app.state.authsvc)
        # Both kinds verify on the RS256 app, and on the HS256 one.
        for where in (other, api):
            assert (await flows.introspect(where, resource, token))["active"] is True
            assert (await flows.introspect(where, resource, hs256))["active"] is True
        me = await other.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        # Revocation applies to them as to any token.
        await other.post("/logout", headers={"Authorization": f"Bearer {token}"})
        assert (await flows.introspect(other, resource, token))["active"] is False


async def test_a_rotation_that_retires_keys_tells_resource_servers(
    state: Components, rotation: Any
) -> None:
    from authsvc.keys.rotation import rotate_keys

    held = {k["kid"] for k in state.keys.published()}  # published now, retirable below
    await rotation.rotate(prepublish=0)  # the keys held so far are superseded now
    rotation.advance(state.keys.token_lifetime + state.keys.leeway + 2)  # their tokens expired
    before = set(state.keys.retirable())
    assert held & before  # keys published before the rotation, no token needs them now
    assert state.revocation_feed is not None
    last = await state.revocation_feed.current()
    async for session in transaction(state.sessions):
        await rotate_keys(state.keys, state.audit, state.redis, state.revocation_feed, session,
                          via="test")
    events = await state.revocation_feed.since(last) or []
    bodies = [orjson.loads(body) for _, body in events]
    retired = {b["kid"] for b in bodies if b["reason"] == "key_retired"}
    assert before and before <= retired
    await state.keys.load()
    assert not before & {k["kid"] for k in state.keys.published()}

