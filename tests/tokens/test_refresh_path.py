"""A refresh rotation runs only the statements it must (not timed): spend the token, read its
family and user in one round trip, store the successor, remember the answer for the grace."""

from __future__ import annotations

from typing import Any

from tests import flows
from tests.counting import counting_sql
from tests.infra import Api


async def test_a_rotation_reads_family_and_user_in_one_statement(api: Api, state: Any) -> None:
    user = await flows.register(api)
    issued = await flows.login(api, user)
    with counting_sql(state) as sql:
        rotated = await flows.refresh(api, issued["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    reads = [s for s in sql if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, reads
    assert "refresh_families" in reads[0] and "users" in reads[0]
