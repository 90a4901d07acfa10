"""The apps a user has allowed (consents), for `/account`: list them, take one back.

Taking consent back also revokes every token family the user holds at that client, so the app
loses access at once, not at its next authorization request."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.clients.service import ClientService
from authsvc.oidc.repository import ConsentRepository
from authsvc.tokens.repository import TokenRepository
from authsvc.tokens.revocations import RevocationList


async def apps_of(clients: ClientService, db: AsyncSession,
                  user_id: str) -> list[dict[str, Any]]:
    apps = []
    for consent in await ConsentRepository(db).of_user(uuid.UUID(user_id)):
        client = await clients.lookup(consent.client_id)
        apps.append({"client_id": consent.client_id,
                     "name": client.name if client else consent.client_id,
                     "scopes": list(consent.scopes),
                     "since": consent.created_at.timestamp()})
    return apps


async def revoke_app(revocations: RevocationList, db: AsyncSession, user_id: str,
                     client_id: str) -> bool:
    uid = uuid.UUID(user_id)
    removed = await ConsentRepository(db).revoke(uid, client_id[:64])
    if removed:
        for family in await TokenRepository(db).live_families(uid):
            if family.client_id == client_id:
                await revocations.revoke_family(db, family.id, family.expires_at,
                                                "consent_revoked")
    return removed
