"""Users: the one table every other domain points at."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Integer, String, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from authsvc.db import Base, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # canonical form
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(512))  # encrypted at rest
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    email_mfa_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last TOTP time step accepted (RFC 6238 §5.2): the durable copy of the Redis gate.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # The password was found in a breach list at login: the pages ask for a new one first.
    password_reset_required: Mapped[bool] = mapped_column(Boolean, default=False,
                                                          server_default=false())
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def mfa_enabled(self) -> bool:
        return self.totp_enabled or self.email_mfa_enabled
