"""The client-credentials grant writes nothing: for a client already looked up (in Redis or
this process) it runs no SQL at all, and no audit row (the contract names none for it)."""

from __future__ import annotations

from typing import Any

from authsvc.kv import Keys
from tests import flows
from tests.counting import counting_sql
from tests.infra import Api


async def grant(api: Api, client: tuple[str, str]) -> Any:
    return await api.post("/token", data={"grant_type": "client_credentials"},
                          headers=flows.basic(*client))


async def test_a_cached_client_is_granted_without_sql_or_audit(api: Api, state: Any) -> None:
    client = await flows.new_client(state, "machine")
    await state.redis.delete(Keys.client(client[0]))
    state.clients.invalidated("reconnected")  # nothing cached: the first grant looks it up
    audited = dict(state.audit.counts)
    with counting_sql(state) as first:
        response = await grant(api, client)
    assert response.status_code == 200, response.text
    assert len(first) == 1 and first[0].lstrip().upper().startswith("SELECT")  # the lookup
    with counting_sql(state) as again:
        for _ in range(3):
            assert (await grant(api, client)).status_code == 200
    assert again == []
    assert dict(state.audit.counts) == audited


async def test_a_wrong_secret_is_refused_although_the_client_is_cached(
    api: Api, state: Any
) -> None:
    client_id, secret = await flows.new_client(state, "machine")
    assert (await grant(api, (client_id, secret))).status_code == 200
    refused = await grant(api, (client_id, secret[:-1] + ("A" if secret[-1] != "A" else "B")))
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
