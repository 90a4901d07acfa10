"""The commit points: the request's transaction, and `independent` for what must outlive it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from authsvc.audit.models import AuditEvent
from authsvc.db import after_commit, independent, outlive, transaction


async def _types_with(state: Any, marker: str) -> list[str]:
    async with state.sessions() as session:
        rows = await session.execute(select(AuditEvent.type).where(AuditEvent.subject == marker))
        return sorted(rows.scalars().all())


async def test_an_independent_write_stands_when_the_request_rolls_back(state: Any) -> None:
    marker = f"db-test-{uuid.uuid4().hex}"
    hooks: list[str] = []

    async def ran(name: str) -> None:
        hooks.append(name)

    request = transaction(state.sessions)  # the request's unit of work (deps.DbSession)
    session = await request.__anext__()
    session.add(AuditEvent(type="request_write", subject=marker))
    await session.flush()  # in the database, inside the request's transaction
    after_commit(session, lambda: ran("request"))
    async with independent(state.sessions) as own:
        own.add(AuditEvent(type="independent_write", subject=marker))
        after_commit(own, lambda: ran("independent"))
    assert hooks == ["independent"]  # its own commit ran its own hooks, at once
    assert await _types_with(state, marker) == ["independent_write"]  # visible to others now
    with pytest.raises(RuntimeError):
        await request.athrow(RuntimeError("the request failed"))
    assert await _types_with(state, marker) == ["independent_write"]
    assert hooks == ["independent"]  # the rolled-back request's hooks never ran


async def test_outlive_ends_the_failing_request_first_and_its_work_stands(state: Any) -> None:
    marker = f"db-test-{uuid.uuid4().hex}"
    seen: list[list[str]] = []
    hooks: list[str] = []

    async def ran() -> None:
        hooks.append("request")

    async def work(own: Any) -> None:
        seen.append(await _types_with(state, marker))
        own.add(AuditEvent(type="outliving_write", subject=marker))

    request = transaction(state.sessions)
    session = await request.__anext__()
    session.add(AuditEvent(type="request_write", subject=marker))
    await session.flush()
    after_commit(session, ran)
    await outlive(session, work)
    assert seen == [[]]  # the request's write was rolled back before the work ran
    assert await _types_with(state, marker) == ["outliving_write"]
    with pytest.raises(RuntimeError):
        await request.athrow(RuntimeError("the request failed"))
    assert await _types_with(state, marker) == ["outliving_write"]
    assert hooks == []


async def test_an_independent_block_that_raises_writes_nothing(state: Any) -> None:
    marker = f"db-test-{uuid.uuid4().hex}"
    with pytest.raises(RuntimeError):
        async with independent(state.sessions) as own:
            own.add(AuditEvent(type="independent_write", subject=marker))
            await own.flush()
            raise RuntimeError("the block failed")
    assert await _types_with(state, marker) == []


async def test_the_request_transaction_commits_on_success(state: Any) -> None:
    marker = f"db-test-{uuid.uuid4().hex}"
    request = transaction(state.sessions)
    session = await request.__anext__()
    session.add(AuditEvent(type="request_write", subject=marker))
    with pytest.raises(StopAsyncIteration):
        await request.__anext__()
    assert await _types_with(state, marker) == ["request_write"]
