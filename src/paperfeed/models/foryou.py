""""Not interested" marks: a paper one user asked not to see again (undone by deleting the row)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.models.base import Base, utcnow


class NotInterested(Base):
    """Hides ``paper_pk`` from ``user_pk``'s listings and For you, and teaches the ranking."""

    __tablename__ = "not_interested"
    __table_args__ = (UniqueConstraint("user_pk", "paper_pk", name="uq_not_interested_user_paper"),
                      Index("ix_not_interested_user_created", "user_pk", "created_at"))

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), nullable=False)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("paper.pk", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
