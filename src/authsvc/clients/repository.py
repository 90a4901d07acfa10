"""All SQL about clients."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.clients.models import Client


class ClientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, client_id: str) -> Client | None:
        found = await self.session.execute(select(Client).where(Client.client_id == client_id))
        return found.scalar_one_or_none()

    async def add(self, client: Client) -> Client:
        self.session.add(client)
        await self.session.flush()
        return client

    async def all(self) -> Sequence[Client]:
        query = select(Client).order_by(Client.created_at)
        return (await self.session.execute(query)).scalars().all()

    async def set_secret_hash(self, client_id: str, secret_hash: str, not_before: int) -> bool:
        result = await self.session.execute(
            update(Client).where(Client.client_id == client_id)
            .values(secret_hash=secret_hash, not_before=not_before)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete(self, client_id: str) -> bool:
        result = await self.session.execute(delete(Client).where(Client.client_id == client_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]
