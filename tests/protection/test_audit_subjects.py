"""Issue 12 item 8: the audit trail never keeps a typed username that matched no account (a
password typed into the username field would land there): a keyed digest stands in for it,
the same for the same input, so failures still correlate; real accounts keep their address."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from authsvc.audit.models import AuditEvent
from tests import flows
from tests.infra import Api


async def trail(state: Any) -> list[AuditEvent]:
    async with state.sessions() as session:
        return list((await session.execute(select(AuditEvent))).scalars().all())


async def test_unknown_usernames_are_kept_only_as_keyed_digests(api: Api, clock: Any,
                                                                state: Any) -> None:
    typed = "Sup3r-Secret-Typed-Into-The-Username"
    for _ in range(6):  # failures, a lockout, then a refusal
        await flows.password_grant(api, typed, "whatever-password-1")
        clock.advance(120)
    page = await api.get("/login")
    assert page.status_code == 200
    events = await trail(state)
    dumped = json.dumps([(e.type, e.subject, e.details) for e in events], default=str)
    assert typed not in dumped and typed.lower() not in dumped
    digest = state.audit.digest(typed.lower())
    assert digest.startswith("hmac:") and typed.lower() not in digest
    ours = [e for e in events if e.subject == digest]
    # One digest for one typed name: all six attempts correlate, the lockout included.
    assert len([e for e in ours if e.type == "login_failure"]) == 5
    assert {e.type for e in ours} >= {"login_failure", "lockout"}


async def test_known_accounts_keep_their_address_and_id(api: Api, clock: Any,
                                                        state: Any) -> None:
    user = await flows.register(api)
    await flows.password_grant(api, user["email"], "Wrong-password-1!")
    failures = [e for e in await trail(state)
                if e.type == "login_failure" and e.subject == user["email"]]
    assert failures and str(failures[-1].user_id) == user["id"]


async def test_the_digest_is_keyed(make_settings: Any) -> None:
    from authsvc.audit.service import AuditLog
    from authsvc.security.crypto import derive_key

    one = AuditLog(None, subject_key=derive_key(b"a" * 32, "audit-subjects"))  # type: ignore[arg-type]
    two = AuditLog(None, subject_key=derive_key(b"b" * 32, "audit-subjects"))  # type: ignore[arg-type]
    assert one.digest("x") != two.digest("x") and one.digest("x") == one.digest("x")
