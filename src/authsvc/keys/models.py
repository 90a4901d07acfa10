"""Asymmetric signing keys (RFC 7517 JWKs) for ID tokens and, optionally, access tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from authsvc.db import Base, utcnow


class SigningKey(Base):
    """One key pair. `activates_at`: it signs from then on (until a newer key of its `alg`
    activates); it is published from `created_at` until every token it signed has expired.
    The private key is PKCS #8 PEM, encrypted with AUTHSVC_ENCRYPTION_KEY (security/crypto.py).
    """

    __tablename__ = "signing_keys"
    __table_args__ = (Index("ix_signing_keys_alg", "alg"),)

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    private_key: Mapped[str] = mapped_column(Text)  # encrypted PEM
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    activates_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
