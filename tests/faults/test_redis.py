"""Redis stopped for real: nothing fails open, everything comes back by itself, and a Redis that
comes back empty brings no revoked token (or spent refresh token) back to life."""

from __future__ import annotations

import pytest

from tests import flows
from tests.faults.conftest import new_client
from tests.mfa.helpers import enrol_email, mfa_grant, mfa_token_for, open_world

pytestmark = pytest.mark.slow
MANY = {"email_send_per_minute": 20, "email_send_per_hour": 50}


def assert_503(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503, response.text
    assert response.headers.get("retry-after", "").isdigit()
    body = response.json()
    assert body["error"] == "temporarily_unavailable" and body["error_description"]
    assert "active" not in body


async def test_redis_down_fails_closed_everywhere_and_recovers(
    make_settings, smtp_sink, own_redis
) -> None:
    async with open_world(make_settings, smtp_sink, redis_url=own_redis.url, redis_timeout=0.5,
                          **MANY) as world:
        api, state = world.api, world.state
        client = await new_client(state)
        user = await flows.register(api)
        tokens = await flows.login(api, user)
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"] is True
        mfa_user = await flows.register(api)
        await enrol_email(world, mfa_user)
        mfa_token = await mfa_token_for(api, mfa_user)

        own_redis.stop()
        assert_503(await api.post("/introspect", data={"token": tokens["access_token"]},
                                  headers=flows.basic(*client)))
        assert_503(await flows.password_grant(api, user["email"], user["password"]))
        assert_503(await flows.refresh(api, tokens["refresh_token"]))
        assert_503(await api.post("/mfa/challenge",
                                  json={"mfa_token": mfa_token, "method": "email"}))
        assert_503(await mfa_grant(api, mfa_token, "email", "123456"))
        ready = await api.get("/health/ready")
        assert ready.status_code == 503 and ready.headers.get("retry-after")
        assert (await api.get("/health/live")).status_code == 200

        own_redis.start()  # back, and empty: no restart of the app
        assert (await api.get("/health/ready")).status_code == 200
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"] is True
        again = await flows.login(api, user)
        assert (await flows.refresh(api, again["refresh_token"])).status_code == 200
        # The pending MFA login lived in Redis only: it is void (fail closed), a new one works.
        fresh = await mfa_token_for(api, mfa_user)
        sent = await api.post("/mfa/challenge", json={"mfa_token": fresh, "method": "email"})
        assert sent.status_code == 200, sent.text


async def test_redis_back_empty_resurrects_nothing(make_settings, own_redis, monkeypatch) -> None:
    async with open_world(make_settings, _NoSink(), redis_url=own_redis.url,
                          redis_timeout=0.5) as world:
        api, state = world.api, world.state
        client = await new_client(state)
        user = await flows.register(api)
        revoked = await flows.login(api, user)
        revoke = await api.post("/revoke", data={"token": revoked["access_token"]},
                                headers=flows.basic(*client))
        assert revoke.status_code == 200
        family_revoked = await flows.login(api, user)
        await api.post("/revoke", data={"token": family_revoked["refresh_token"],
                                        "token_type_hint": "refresh_token"},
                       headers=flows.basic(*client))
        spent = await flows.login(api, user)
        rotated = await flows.refresh(api, spent["refresh_token"])
        assert rotated.status_code == 200
        for token in (revoked["access_token"], family_revoked["access_token"],
                      family_revoked["refresh_token"], spent["refresh_token"]):
            assert (await flows.introspect(api, client, token))["active"] is False

        own_redis.stop()
        own_redis.start()  # every key is gone, the revocation list's with them

        for token in (revoked["access_token"], family_revoked["access_token"],
                      family_revoked["refresh_token"], spent["refresh_token"]):
            assert (await flows.introspect(api, client, token))["active"] is False, token
        flows.past_reuse_grace(state, monkeypatch)  # (within it: the same pair again)
        reuse = await flows.refresh(api, spent["refresh_token"])
        assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
        # ... and that reuse revoked the family the spent token belonged to.
        next_refresh = rotated.json()["refresh_token"]
        assert (await flows.refresh(api, next_refresh)).status_code == 400
        assert (await flows.introspect(api, client, rotated.json()["access_token"]))["active"] \
            is False
        assert (await flows.refresh(api, family_revoked["refresh_token"])).status_code == 400


class _NoSink:
    """No SMTP for this test: mails go to the log."""

    def settings(self) -> dict[str, object]:
        return {"smtp_host": None}
