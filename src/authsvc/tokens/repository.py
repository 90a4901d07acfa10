"""All SQL about refresh families, refresh tokens and revocations."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, cast, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.db import utcnow
from authsvc.identity.models import User
from authsvc.tokens.models import RefreshFamily, RefreshToken, Revocation

# pg_advisory_xact_lock key of the revocation list ("authsvc:rev" as an integer).
REVOCATION_LOCK = 0x61757468_72657631 & 0x7FFF_FFFF_FFFF_FFFF


class TokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_family(self, family: RefreshFamily) -> RefreshFamily:
        self.session.add(family)
        await self.session.flush()
        return family

    async def add_refresh(self, jti: str, family_id: uuid.UUID, expires_at: datetime) -> None:
        """One INSERT, without the unit of work's flush (its bookkeeping was a good part of a
        rotation's CPU)."""
        await self.session.execute(insert(RefreshToken).values(
            jti=jti, family_id=family_id, issued_at=utcnow(), expires_at=expires_at))

    async def get_family(self, family_id: uuid.UUID) -> RefreshFamily | None:
        return await self.session.get(RefreshFamily, family_id)

    async def get_family_and_user(
        self, family_id: uuid.UUID
    ) -> tuple[RefreshFamily, User] | tuple[None, None]:
        """The family and its user, in one round trip (a rotation needs both)."""
        row = (await self.session.execute(
            select(RefreshFamily, User).join(User, User.id == RefreshFamily.user_id)
            .where(RefreshFamily.id == family_id)
        )).first()
        return (row[0], row[1]) if row is not None else (None, None)

    @property
    def _postgres(self) -> bool:
        bind = self.session.bind
        return bind is None or bind.dialect.name == "postgresql"

    async def spend_refresh(
        self, jti: str, binding: str | None = None, deadline: float | None = None
    ) -> uuid.UUID | None:
        """Mark an unused, unexpired refresh token used (by `binding`); its family id, or None.

        One UPDATE ... WHERE used_at IS NULL: of N concurrent spends, the database lets one win
        (the others wait on the row and then find it spent). On PostgreSQL the same statement
        sets the transaction's commit deadline, `deadline` seconds from now by the database's
        clock: a deferred trigger (migration 0004) refuses a COMMIT that arrives later.
        """
        now = utcnow()
        returning: list[Any] = [RefreshToken.family_id]
        if deadline is not None and self._postgres:
            returning.append(func.set_config(
                "authsvc.commit_deadline",
                cast(func.clock_timestamp() + func.make_interval(0, 0, 0, 0, 0, 0, deadline),
                     Text), True))
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.jti == jti, RefreshToken.used_at.is_(None),
                   RefreshToken.expires_at > now)
            .values(used_at=now, spent_binding=binding)
            .returning(*returning)
        )
        row = result.first()
        return row[0] if row is not None else None

    async def keep_successor(self, jti: str, successor: str) -> None:
        """Remember (encrypted) the answer the spend of `jti` produced, for the reuse grace."""
        await self.session.execute(
            update(RefreshToken).where(RefreshToken.jti == jti).values(successor=successor)
        )

    async def next_revocation_mark(self) -> int:
        """The revoking transaction's high-water mark (a sequence value; 0 without PostgreSQL).

        Takes the revocation lock shared: a reload of the list (`lock_revocations`) waits for
        every revoking transaction in flight, so it never reads past an uncommitted one.
        """
        if not self._postgres:
            return 0
        row = (await self.session.execute(text(
            "SELECT pg_advisory_xact_lock_shared(:key), nextval('revocation_seq')"
        ), {"key": REVOCATION_LOCK})).one()
        return int(row[1])

    async def lock_revocations(self) -> int:
        """Wait for the revoking transactions in flight; the mark the list is complete up to."""
        if not self._postgres:
            return 0
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": REVOCATION_LOCK})
        return await self.revocation_mark()

    async def revocation_mark(self) -> int:
        """The highest mark handed out so far (committed or in flight); 0 without PostgreSQL."""
        if not self._postgres:
            return 0
        row = (await self.session.execute(
            text("SELECT last_value, is_called FROM revocation_seq"))).one()
        return int(row[0]) if row[1] else 0

    async def get_refresh(self, jti: str) -> RefreshToken | None:
        return await self.session.get(RefreshToken, jti)

    async def revoke_family(self, family_id: uuid.UUID, reason: str) -> bool:
        result = await self.session.execute(
            update(RefreshFamily)
            .where(RefreshFamily.id == family_id, RefreshFamily.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def live_families(self, user_id: uuid.UUID) -> Sequence[RefreshFamily]:
        return (await self.session.execute(
            select(RefreshFamily).where(
                RefreshFamily.user_id == user_id,
                RefreshFamily.revoked_at.is_(None),
                RefreshFamily.expires_at > utcnow(),
            ).order_by(RefreshFamily.created_at.desc())
        )).scalars().all()

    async def live_families_of_client(self, client_id: str) -> Sequence[RefreshFamily]:
        return (await self.session.execute(
            select(RefreshFamily).where(
                RefreshFamily.client_id == client_id,
                RefreshFamily.revoked_at.is_(None),
                RefreshFamily.expires_at > utcnow(),
            )
        )).scalars().all()

    def revoked_families(self, chunk: int) -> AsyncIterator[Sequence[tuple[uuid.UUID, datetime]]]:
        """Revoked families that could still have live tokens (for reloading Redis), `chunk`
        rows at a time from a server-side cursor."""
        return self._chunks(
            select(RefreshFamily.id, RefreshFamily.expires_at).where(
                RefreshFamily.revoked_at.is_not(None), RefreshFamily.expires_at > utcnow()
            ), chunk)

    async def add_revocation(self, jti: str, expires_at: datetime, reason: str) -> None:
        values = {"jti": jti, "expires_at": expires_at, "reason": reason, "created_at": utcnow()}
        dialect = self.session.bind.dialect.name if self.session.bind else "postgresql"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(
            insert(Revocation).values(**values).on_conflict_do_nothing(index_elements=["jti"])
        )

    def live_revocations(self, chunk: int) -> AsyncIterator[Sequence[tuple[str, datetime]]]:
        """Revoked access tokens not yet expired (for reloading Redis), `chunk` rows at a time
        from a server-side cursor: a million of them never sit in memory at once, and each
        fetch is its own command (one SELECT of a million rows outlasted the statement timeout)."""
        return self._chunks(
            select(Revocation.jti, Revocation.expires_at).where(Revocation.expires_at > utcnow()),
            chunk)

    async def _chunks(self, query: Select[Any, datetime],
                      chunk: int) -> AsyncIterator[Sequence[Any]]:
        connection = await self.session.connection()  # Core rows: no ORM loading per row
        result = await connection.stream(query.execution_options(yield_per=chunk))
        async for rows in result.partitions(chunk):
            yield [tuple(row) for row in rows]

    async def is_revoked(self, jti: str, family_id: uuid.UUID | None) -> bool:
        """The database's answer to "is this token revoked?": its `jti` on the list, or its
        family (`sid`) revoked. Two primary-key lookups in one statement."""
        by_jti = select(Revocation.jti).where(Revocation.jti == jti,
                                              Revocation.expires_at > utcnow()).exists()
        by_family = select(RefreshFamily.id).where(
            RefreshFamily.id == family_id, RefreshFamily.revoked_at.is_not(None)).exists()
        query = select(by_jti | by_family) if family_id is not None else select(by_jti)
        return bool((await self.session.execute(query)).scalar())

    async def refresh_is_live(self, jti: str) -> bool:
        """Unspent, unexpired, and its family not revoked."""
        found = await self.session.execute(
            select(RefreshToken.jti)
            .join(RefreshFamily, RefreshFamily.id == RefreshToken.family_id)
            .where(RefreshToken.jti == jti, RefreshToken.used_at.is_(None),
                   RefreshToken.expires_at > utcnow(), RefreshFamily.revoked_at.is_(None))
        )
        return found.first() is not None
