"""Email digests: subscribers and one delivery row per subscriber and period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.models.base import Base, JSONType, utcnow

# subscriber.status
PENDING, ACTIVE, UNSUBSCRIBED, PAUSED = "pending", "active", "unsubscribed", "paused"
# delivery.status
D_PENDING, D_CLAIMED, D_SENT, D_SKIPPED, D_FAILED = "pending", "claimed", "sent", "skipped", "failed"


class DigestSubscriber(Base):
    """One address that gets (or asked for) the digest; ``user_pk`` links a signed-in user."""

    __tablename__ = "digest_subscriber"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    user_pk: Mapped[int | None] = mapped_column(Integer, unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=PENDING, nullable=False, index=True)
    frequency: Mapped[str] = mapped_column(String(8), default="daily", nullable=False)
    weekday: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # 0 = Monday
    size: Mapped[int] = mapped_column(Integer, default=10, nullable=False)
    categories: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    keywords: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)  # free text or saved searches
    authors: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    # bumped to invalidate outstanding confirmation links
    confirm_nonce: Mapped[str] = mapped_column(String(32), nullable=False)
    confirm_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    confirm_mails: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime)
    permanent_failures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    @property
    def interests(self) -> bool:
        return bool(self.categories or self.keywords or self.authors)


class DigestDelivery(Base):
    """The unit of sending work: unique per (subscriber, period), claimed with a lease."""

    __tablename__ = "digest_delivery"
    __table_args__ = (
        UniqueConstraint("subscriber_pk", "period_key", name="uq_digest_delivery_subscriber_period"),
        Index("ix_digest_delivery_period_status", "period_key", "status"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber_pk: Mapped[int] = mapped_column(ForeignKey("digest_subscriber.pk", ondelete="CASCADE"), nullable=False)
    period_key: Mapped[str] = mapped_column(String(32), nullable=False)  # "daily:2026-11-26", "weekly:2026-W48"
    status: Mapped[str] = mapped_column(String(16), default=D_PENDING, nullable=False)
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    paper_pks: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)  # what was sent
    message_id: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
