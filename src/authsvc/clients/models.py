"""Clients: other services that call /token, /introspect and /revoke, and the apps that sign
their users in through /authorize (RFC 6749 §2, OpenID Connect Dynamic Client Registration
1.0 §2 for the field names)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from authsvc.db import Base, utcnow

CONFIDENTIAL = "confidential"
PUBLIC = "public"


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str | None] = mapped_column(String(128))  # None: a public client
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    type: Mapped[str] = mapped_column(String(16), default=CONFIDENTIAL)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    id_token_alg: Mapped[str] = mapped_column(String(16), default="RS256")
    # Milliseconds; moved on by every secret rotation. A client-credentials token carries the
    # value it was issued under (`cnb`) and is inactive once it is older.
    not_before: Mapped[int | None] = mapped_column(BigInteger)
