"""Refresh families, the refresh tokens in them, and the durable revocation list.

A *family* is everything that descends from one login: its refresh tokens rotate one into the
next, and its access tokens carry the family id as `sid`. Revoking the family ends them all.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from authsvc.db import Base, utcnow


class RefreshFamily(Base):
    __tablename__ = "refresh_families"
    __table_args__ = (Index("ix_refresh_families_user_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str | None] = mapped_column(String(1000))
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    auth_time: Mapped[int] = mapped_column()
    user_agent: Mapped[str | None] = mapped_column(String(300))  # shown in the sessions list
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(64))


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family_id", "family_id"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("refresh_families.id", ondelete="CASCADE")
    )
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who spent it (their binding) and what they got (encrypted): the reuse grace's replay.
    spent_binding: Mapped[str | None] = mapped_column(String(64))
    successor: Mapped[str | None] = mapped_column(Text)


class Revocation(Base):
    """A revoked access-token `jti`, kept until the token would have expired anyway."""

    __tablename__ = "revocations"
    __table_args__ = (Index("ix_revocations_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
