"""Notifications leaving the site: webhooks with their outbox, saved searches with alerts,
and the in-app list of replies.

Delivery is an outbox. An event (``notify_event``) is written in the transaction that
caused it; in the same transaction it fans out into one ``webhook_delivery`` row per
target, unique per (event, webhook), which is the idempotency key the receiver sees. A
worker claims a delivery row (owner + lease) before it sends, so several worker nodes never
send the same one, and every attempt is written to ``webhook_call``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.models.base import Base, JSONType, utcnow

# webhook.kind
SLACK, DISCORD, JSON_KIND = "slack", "discord", "json"
WEBHOOK_KINDS = (SLACK, DISCORD, JSON_KIND)
# event kinds a webhook can subscribe to ("test" goes to one webhook, whatever it follows)
E_TRENDING, E_FOR_YOU, E_SAVED_SEARCH, E_REPLY, E_COLLECTION, E_TEST = (
    "trending", "for_you", "saved_search", "reply", "collection", "test")
EVENT_KINDS = (E_TRENDING, E_FOR_YOU, E_SAVED_SEARCH, E_REPLY, E_COLLECTION)
# webhook_delivery.status
D_PENDING, D_SENDING, D_SENT, D_FAILED = "pending", "sending", "sent", "failed"
# notify_event.mail_state
M_PENDING, M_SENDING, M_SENT, M_FAILED = "pending", "sending", "sent", "failed"


class Webhook(Base):
    """A target: a user's own (``user_pk``) or the instance's (``user_pk`` NULL, set by admins)."""

    __tablename__ = "webhook"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_pk: Mapped[int | None] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    secret: Mapped[str] = mapped_column(String(64), nullable=False)  # HMAC key of generic JSON targets
    events: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    disabled_reason: Mapped[str | None] = mapped_column(Text)  # set when auto-disabled
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class NotifyEvent(Base):
    """Something worth telling. ``dedupe_key`` makes producing it twice (two workers, a rerun)
    a no-op; ``user_pk`` is whose webhooks hear it (NULL: the instance's)."""

    __tablename__ = "notify_event"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    user_pk: Mapped[int | None] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    payload: Mapped[dict] = mapped_column(JSONType, default=dict, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    # the event's mail to user_pk, an outbox of its own: NULL (no mail), pending, sending, sent, failed
    mail_state: Mapped[str | None] = mapped_column(String(16), index=True)
    mail_lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    mail_error: Mapped[str | None] = mapped_column(Text)  # the last failed attempt's
    mail_sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebhookDelivery(Base):
    """One event for one webhook: sent at most once, claimed by one worker at a time."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("event_pk", "webhook_pk", name="uq_webhook_delivery_event_webhook"),
                      Index("ix_webhook_delivery_due", "status", "next_attempt_at"))

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("notify_event.pk", ondelete="CASCADE"), nullable=False)
    webhook_pk: Mapped[int] = mapped_column(ForeignKey("webhook.pk", ondelete="CASCADE"), nullable=False, index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=D_PENDING, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebhookCall(Base):
    """Every outgoing request: when, to which target, with what result."""

    __tablename__ = "webhook_call"
    __table_args__ = (Index("ix_webhook_call_webhook_at", "webhook_pk", "at"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_pk: Mapped[int] = mapped_column(ForeignKey("webhook.pk", ondelete="CASCADE"), nullable=False)
    delivery_pk: Mapped[int | None] = mapped_column(ForeignKey("webhook_delivery.pk", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    target: Mapped[str] = mapped_column(String(300), nullable=False)  # scheme://host[:port], no path or secret
    status_code: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class SavedSearch(Base):
    """A search with its filters. ``last_paper_pk`` is the watermark: papers with a larger
    pk that match are new (pks grow with every insert; no clock is involved)."""

    __tablename__ = "saved_search"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    query: Mapped[str] = mapped_column(String(500), nullable=False)
    mode: Mapped[str] = mapped_column(String(16), default="hybrid", nullable=False)
    category: Mapped[str | None] = mapped_column(String(64))
    since: Mapped[date | None] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    alert_email: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    alert_webhook: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    feed_token: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)  # the RSS needs no login
    last_paper_pk: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_matches: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Notification(Base):
    """An in-app notice: a reply to your comment, or a comment on a paper you submitted.
    Its mail, when wanted, goes through the ``reply`` event's mail outbox."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("user_pk", "comment_pk", name="uq_notification_user_comment"),
                      Index("ix_notification_user_read", "user_pk", "read_at"))

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # reply | submission
    comment_pk: Mapped[int] = mapped_column(ForeignKey("comment.pk", ondelete="CASCADE"), nullable=False)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("paper.pk", ondelete="CASCADE"), nullable=False)
    actor_name: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class NotifyPreference(Base):
    """Per-user choices: mail me about replies."""

    __tablename__ = "notify_preference"

    user_pk: Mapped[int] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), primary_key=True)
    email_replies: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
