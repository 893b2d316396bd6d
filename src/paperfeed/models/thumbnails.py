"""First-page thumbnails, stored in the database so that every node serves them.

One row per paper that the thumbnail job has looked at. The row is also the paper's claim
(``owner`` + ``lease_until``, so two workers never fetch the same PDF) and its outcome:
``ok`` with a small (card) and a large (paper page) WebP, ``retry`` after a temporary
failure (``next_attempt_at``), or ``failed`` for good with the ``reason``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.models.base import Base


class Thumbnail(Base):
    __tablename__ = "thumbnail"
    __table_args__ = (Index("ix_thumbnail_status", "status"),)

    paper_pk: Mapped[int] = mapped_column(ForeignKey("paper.pk", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # working | ok | retry | failed
    reason: Mapped[str | None] = mapped_column(String(300))  # why there is no thumbnail
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    owner: Mapped[str | None] = mapped_column(String(128))  # the worker holding the claim
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    small: Mapped[bytes | None] = mapped_column(LargeBinary)
    small_width: Mapped[int | None] = mapped_column(Integer)
    small_height: Mapped[int | None] = mapped_column(Integer)
    large: Mapped[bytes | None] = mapped_column(LargeBinary)
    large_width: Mapped[int | None] = mapped_column(Integer)
    large_height: Mapped[int | None] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(String(32))  # a hash of both images
    pdf_bytes: Mapped[int | None] = mapped_column(Integer)  # the size of the PDF it was made from
    made_at: Mapped[datetime | None] = mapped_column(DateTime)
