"""Passkeys: one row a registered WebAuthn credential (Level 2 §7.1 step 27, "store")."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from authsvc.db import Base, utcnow


class Passkey(Base):
    __tablename__ = "passkeys"
    __table_args__ = (
        Index("ix_passkeys_user_id", "user_id"),
        Index("ix_passkeys_credential_id", "credential_id", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))  # COSE_Key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(100))
    aaguid: Mapped[str | None] = mapped_column(String(36))
    # "single_device" (device-bound: amr hwk) or "multi_device" (synced: amr swk).
    device_type: Mapped[str] = mapped_column(String(16), default="single_device")
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
