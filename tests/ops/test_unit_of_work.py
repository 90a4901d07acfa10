"""db.transaction: a unit of work that ran no SQL skips the commit, and still commits what was
only added, and still runs its after-commit hooks."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from authsvc.composition import Components
from authsvc.db import after_commit, transaction
from authsvc.identity.models import User
from authsvc.identity.repository import UserRepository
from tests.infra import unique_email


async def test_an_unused_unit_of_work_commits_nothing_and_runs_its_hooks(state: Components) -> None:
    ran: list[str] = []
    commits: list[int] = []

    async def hook() -> None:
        ran.append("after commit")

    def counted(committed: Session) -> None:
        if committed.info.get("probe"):  # this unit of work's, not a background loop's
            commits.append(1)

    event.listen(Session, "after_commit", counted)
    try:
        async for session in transaction(state.sessions):
            session.info["probe"] = True
            after_commit(session, hook)
    finally:
        event.remove(Session, "after_commit", counted)
    assert ran == ["after commit"]
    assert commits == []


async def test_an_object_only_added_is_committed(state: Components) -> None:
    email = unique_email()
    async for session in transaction(state.sessions):
        session.add(User(email=email, password_hash="-", roles=[]))  # no flush, no SQL yet
    async with state.sessions() as session:
        assert await UserRepository(session).get_by_email(email) is not None
