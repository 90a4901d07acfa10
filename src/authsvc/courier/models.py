"""The mail outbox: every message authsvc means to send, until it is sent or given up on."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from authsvc.db import Base, utcnow

QUEUED = "queued"
SENT = "sent"
FAILED = "failed"
DISCARDED = "discarded"  # never sent (kept for rows written before the forgot request moved out)


class OutboxMessage(Base):
    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index("ix_mail_outbox_due", "queue", "status", "next_attempt_at"),
        Index("ix_mail_outbox_finished_at", "finished_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    queue: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    # The whole RFC 5322 message, AES-GCM encrypted (it holds reset links and codes); emptied
    # the moment the message is sent or given up on.
    body: Mapped[str | None] = mapped_column(Text)
    recipient_domain: Mapped[str] = mapped_column(String(255))  # for the log; no local part
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
