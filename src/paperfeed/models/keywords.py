"""Key-phrase extraction work claimed in the database (the phrases live on ``paper``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.models.base import Base


class KeywordClaim(Base):
    """A paper a key-phrase extractor has claimed until ``expires_at`` (as EmbeddingClaim,
    but its own table: an embedder's claim on a paper must not hold up its key phrases)."""

    __tablename__ = "keyword_claim"

    paper_pk: Mapped[int] = mapped_column(ForeignKey("paper.pk", ondelete="CASCADE"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
