"""Author names as a table (one row per paper and author key) and the authors people follow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.models.base import Base, utcnow


class AuthorName(Base):
    """A paper's author under its normalised key (records/authors.py), written by the import
    path with the paper, so `/authors/{name}` is an index look-up instead of a scan of every
    author list."""

    __tablename__ = "author_name"
    # newest first from the index alone; name in it too, so spellings are read from it
    # WITHOUT ROWID on SQLite: rows are stored in primary-key order, so a paper's co-authors
    # are one contiguous read
    __table_args__ = (Index("ix_author_name_key_published", "key", "published", "paper_pk", "name"),
                      {"sqlite_with_rowid": False})

    paper_pk: Mapped[int] = mapped_column(ForeignKey("paper.pk", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # 0 = first author
    name: Mapped[str] = mapped_column(String(300), nullable=False)  # as the paper writes it
    # the paper's first submission, else its announcement day (records.authors.published_at)
    published: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class AuthorFollow(Base):
    """A user following an author key; For you and digests read these."""

    __tablename__ = "author_follow"
    __table_args__ = (UniqueConstraint("user_pk", "author_key", name="uq_author_follow_user_key"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("app_user.pk", ondelete="CASCADE"), nullable=False)
    author_key: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)  # the name as followed, for display
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
