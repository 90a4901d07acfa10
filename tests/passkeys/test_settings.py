"""The relying party from the settings, passkeys off for an IP issuer, and the rules checked
in-process (no browser needed): recent authentication, no account enumeration."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from authsvc.config import ConfigError, load_settings
from authsvc.main import create_app
from authsvc.passkeys.relying_party import describe, relying_party
from tests import flows, infra


def settings(**values: Any) -> Any:
    return load_settings(env="testing", database_url="postgresql+asyncpg://x/y",
                         redis_url="redis://x", **values)


def test_the_relying_party_defaults_to_the_issuer() -> None:
    rp = relying_party(settings(issuer="https://id.example.com"))
    assert rp is not None
    assert rp.rp_id == "id.example.com" and rp.origins == ("https://id.example.com",)
    rp = relying_party(settings(issuer="http://localhost:8000"))
    assert rp is not None and rp.origins == ("http://localhost:8000",)
    rp = relying_party(settings(issuer="https://id.example.com", webauthn_rp_id="example.com",
                                webauthn_origins="https://id.example.com,https://example.com"))
    assert rp is not None and rp.rp_id == "example.com"
    assert rp.origins == ("https://id.example.com", "https://example.com")


def test_an_ip_issuer_without_an_rp_id_turns_passkeys_off() -> None:
    off = settings(issuer="http://127.0.0.1:8000")
    assert relying_party(off) is None
    assert describe(off).startswith("passkeys off: the issuer's host 127.0.0.1 is an IP address")
    assert relying_party(settings(issuer="http://[::1]:8000")) is None
    assert relying_party(settings(issuer="http://127.0.0.1:8000",
                                  webauthn_rp_id="localhost")) is not None
    with pytest.raises(ConfigError, match="AUTHSVC_WEBAUTHN_ORIGINS"):
        settings(webauthn_origins="id.example.com")


async def test_passkeys_off_answers_404_and_lists_no_method(make_settings: Any) -> None:
    app = create_app(make_settings(issuer="http://127.0.0.1:8000"))
    async with infra.running(app), infra.Api(app) as api:
        response = await api.post("/webauthn/login/options", json={})
        assert response.status_code == 404
        assert response.json()["error"] == "passkeys_disabled"
        grant = await api.post("/token", data={
            "grant_type": "urn:authsvc:params:oauth:grant-type:webauthn", "challenge_id": "x",
            "credential": "{}"})
        assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
        page = await api.get("/login")
        assert "Sign in with a passkey" not in page.text
        assert 'autocomplete="username"' in page.text


async def test_login_options_never_tell_who_has_an_account(api: infra.Api) -> None:
    user = await flows.register(api)
    known = (await api.post("/webauthn/login/options", json={"username": user["email"]})).json()
    unknown = (await api.post("/webauthn/login/options",
                              json={"username": "nobody@example.com"})).json()
    for options in (known, unknown):
        assert options["allowCredentials"] == [] and options["rpId"] == "authsvc.test"
        assert options["timeout"] == 300_000 and options["challenge_id"] == options["challenge"]
    assert set(known) == set(unknown)


async def test_adding_a_passkey_needs_a_recent_authentication(make_settings: Any) -> None:
    app = create_app(make_settings(reauth_window=10))
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        await infra.flush_keeping_claim(state.redis)
        user = await flows.register(api)
        access = (await flows.login(api, user))["access_token"]
        bearer = {"Authorization": f"Bearer {access}"}
        fresh = await api.post("/webauthn/register/options", headers=bearer)
        assert fresh.status_code == 200
        await asyncio.sleep(11)
        stale = await api.post("/webauthn/register/options", headers=bearer)
        assert stale.status_code == 403
        assert stale.json()["error"] == "reauthentication_required"
        failures = state.audit.counts["login_failure"]
        wrong = await api.post("/webauthn/register/options", headers=bearer,
                               json={"current_password": "Not-The-Password-1"})
        assert wrong.status_code == 403
        assert state.audit.counts["login_failure"] == failures + 1  # counted like a login
        await asyncio.sleep(1.1)  # the progressive pause after a failure
        right = await api.post("/webauthn/register/options", headers=bearer,
                               json={"current_password": user["password"]})
        assert right.status_code == 200, right.text
        assert right.json()["user"]["name"] == user["email"]
