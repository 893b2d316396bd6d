"""Accounts, sessions, API tokens, votes, comments, moderation and rate limiting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from paperfeed.models.base import Base, JSONType, utcnow


class User(Base):
    """A person with an account. ``username`` is stored as typed; ``username_key`` (lower
    case) is what uniqueness and look-ups use, so "Ada" and "ada" cannot both exist."""

    __tablename__ = "app_user"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(32), nullable=False)
    username_key: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)  # lower case
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    banned: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    upvotes_private: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class UserSession(Base):
    """A signed-in browser. Only the sha256 of the cookie value is stored."""

    __tablename__ = "user_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token for the API; only its sha256 is stored, the token is shown once."""

    __tablename__ = "api_token"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    scopes: Mapped[str] = mapped_column(String(64), nullable=False)  # space-separated: "read write"
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(lazy="joined")

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class EmailToken(Base):
    """One emailed link (verify an address, reset a password): single use, expiring."""

    __tablename__ = "email_token"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), nullable=False, index=True)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)  # "verify" | "reset"
    email: Mapped[str] = mapped_column(String(320), nullable=False)  # the address being verified
    nonce_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class Vote(Base):
    """One user's upvote of one paper; the unique constraint makes double votes impossible."""

    __tablename__ = "vote"
    __table_args__ = (UniqueConstraint("user_pk", "paper_pk", name="uq_vote_user_paper"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), nullable=False)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("paper.pk", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Comment(Base):
    """A comment in a paper's thread; ``parent_pk`` set means a reply (one level deep)."""

    __tablename__ = "comment"
    __table_args__ = (Index("ix_comment_paper_created", "paper_pk", "created_at"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("paper.pk", ondelete="CASCADE"), nullable=False)
    user_pk: Mapped[int | None] = mapped_column(ForeignKey("app_user.pk", ondelete="SET NULL"), index=True)
    parent_pk: Mapped[int | None] = mapped_column(ForeignKey("comment.pk", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # Markdown source
    body_html: Mapped[str] = mapped_column(Text, nullable=False)  # rendered and sanitised once, on write
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)  # set only for edits after the grace window
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # by a moderator

    user: Mapped[User | None] = relationship(lazy="joined")

    @property
    def visible(self) -> bool:
        return not (self.deleted or self.hidden)


class AuditLog(Base):
    """Every admin action, append-only."""

    __tablename__ = "audit_log"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor_pk: Mapped[int | None] = mapped_column(Integer)  # None: the CLI
    actor_name: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    target_type: Mapped[str] = mapped_column(String(16), nullable=False)
    target: Mapped[str] = mapped_column(String(128), nullable=False)
    detail: Mapped[dict] = mapped_column(JSONType, default=dict, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)


class RateLimitHit(Base):
    """One counted attempt (a sign-in, a sign-up) under a key such as "login:ip:1.2.3.4"."""

    __tablename__ = "rate_limit_hit"
    __table_args__ = (Index("ix_rate_limit_hit_key_at", "key", "at"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    at: Mapped[float] = mapped_column(Float, nullable=False)  # unix seconds, from the injectable clock
