"""Collections: a user's named lists of papers (public, unlisted or private), each paper
with a private note and a reading state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.models.base import Base, utcnow
from paperfeed.models.paper import Paper

VISIBILITIES = ("public", "unlisted", "private")
READING_STATES = ("to_read", "read")


class Collection(Base):
    """One list. ``slug`` is unique per owner and names it in ``/c/{owner}/{slug}``."""

    __tablename__ = "collection"
    __table_args__ = (UniqueConstraint("owner_pk", "slug", name="uq_collection_owner_slug"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_pk: Mapped[int] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), nullable=False)
    slug: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    visibility: Mapped[str] = mapped_column(String(16), default="private", nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    @property
    def is_listed(self) -> bool:
        """Shown on the owner's public list and given a feed; unlisted ones only by link."""
        return self.visibility == "public"


class CollectionItem(Base):
    """A paper in a collection. The note and the reading state are the owner's alone."""

    __tablename__ = "collection_item"
    __table_args__ = (UniqueConstraint("collection_pk", "paper_pk", name="uq_collection_item_collection_paper"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection_pk: Mapped[int] = mapped_column(ForeignKey("collection.pk", ondelete="CASCADE"), nullable=False)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("paper.pk", ondelete="CASCADE"), nullable=False, index=True)
    note: Mapped[str] = mapped_column(Text, default="", nullable=False)
    state: Mapped[str] = mapped_column(String(8), default="to_read", nullable=False)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


# DOIs are case-insensitive; reference-manager imports look papers up by lower(doi).
Index("ix_paper_doi_lower", func.lower(Paper.doi))


class CollectionFollow(Base):
    """A reader following someone's public or unlisted collection: its new papers reach the
    reader's webhooks. ``seen_item_pk`` is the newest membership already announced."""

    __tablename__ = "collection_follow"
    __table_args__ = (UniqueConstraint("user_pk", "collection_pk", name="uq_collection_follow_user_collection"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), nullable=False)
    collection_pk: Mapped[int] = mapped_column(ForeignKey("collection.pk", ondelete="CASCADE"), nullable=False,
                                               index=True)
    seen_item_pk: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
