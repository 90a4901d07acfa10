"""Recovery codes: each works once, a new set (after step-up) voids the old one."""

from __future__ import annotations

from tests import flows
from tests.mfa.helpers import World, bearer, claims_of, enrol_totp, mfa_grant, mfa_token_for


async def test_each_recovery_code_works_once(world: World) -> None:
    user = await flows.register(world.api)
    _secret, codes, _access = await enrol_totp(world, user)
    done = await mfa_grant(world.api, await mfa_token_for(world.api, user), "recovery_code",
                           codes[0].upper().replace("-", " "))  # typed loosely: still the code
    assert done.status_code == 200, done.text
    access = done.json()["access_token"]
    assert claims_of(access)["amr"] == ["pwd", "mfa", "rcode"]
    again = await mfa_grant(world.api, await mfa_token_for(world.api, user), "recovery_code",
                            codes[0])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    me = (await world.api.get("/users/me", headers=bearer(access))).json()
    assert me["mfa"]["recovery_codes_left"] == 9
    assert world.state.audit.counts["recovery_code_used"] == 1


async def test_a_new_set_voids_the_old_one(world: World) -> None:
    user = await flows.register(world.api)
    _secret, old, pre_mfa = await enrol_totp(world, user)
    refused = await world.api.post("/mfa/recovery-codes", headers=bearer(pre_mfa))
    assert refused.status_code == 403
    assert refused.json()["error"] == "mfa_step_up_required"

    done = await mfa_grant(world.api, await mfa_token_for(world.api, user), "recovery_code",
                           old[0])
    access = done.json()["access_token"]
    fresh = await world.api.post("/mfa/recovery-codes", headers=bearer(access))
    assert fresh.status_code == 200
    assert fresh.headers["cache-control"] == "no-store"
    new = fresh.json()["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    stale = await mfa_grant(world.api, await mfa_token_for(world.api, user), "recovery_code",
                            old[1])
    assert stale.status_code == 400
    ok = await mfa_grant(world.api, await mfa_token_for(world.api, user), "recovery_code", new[1])
    assert ok.status_code == 200
    me = (await world.api.get("/users/me", headers=bearer(access))).json()
    assert me["mfa"]["recovery_codes_left"] == 9
    assert world.state.audit.counts["recovery_codes_regenerated"] == 1
