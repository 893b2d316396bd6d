"""Papers, their appearances on daily pages, and harvest checkpoints."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from paperfeed.models.base import Base, JSONType, utcnow


class Paper(Base):
    """One paper, merged across every source that has seen it.

    ``id`` is the public id: the arXiv id without version for arXiv papers, or any
    source id for papers that are not on arXiv. ``pk`` is the internal integer key that
    indexes (tantivy, faiss) use.
    """

    __tablename__ = "paper"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    version: Mapped[int | None] = mapped_column(Integer)
    # [{"version": 2, "created": "2024-01-02T10:00:00"}] oldest first
    versions: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    abstract: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # [{"name": "Ada Lovelace", "last": "Lovelace", "first": "Ada", "suffix": ""}] in order
    authors: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    primary_category: Mapped[str | None] = mapped_column(String(64), index=True)
    # space-separated, primary first, as arXiv writes them
    categories: Mapped[str] = mapped_column(Text, default="", nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    announced_on: Mapped[date | None] = mapped_column(Date, index=True)
    comments: Mapped[str | None] = mapped_column(Text)
    journal_ref: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(String(255))
    license: Mapped[str | None] = mapped_column(String(255))
    abs_url: Mapped[str | None] = mapped_column(Text)
    pdf_url: Mapped[str | None] = mapped_column(Text)
    code_urls: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    project_page: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    # source-specific extras that have no column, e.g. HF's ai_keywords and ai_summary
    extra: Mapped[dict] = mapped_column(JSONType, default=dict, nullable=False)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    # wall-clock time of the last change: shown and exported, never followed (clocks skew)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)
    # the change sequence (store/changes.py) of the transaction that last wrote the row;
    # indexes on every node follow it
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", nullable=False, index=True)
    # Key phrases extracted here (index/keyphrases.py; HF's own stay in extra["ai_keywords"]),
    # None until extracted. The stamp is "<extractor version>:<content_hash>" of the extraction,
    # so a changed paper or a new extractor is found by comparing it; the text hash lets a
    # change elsewhere (comments, versions) keep the phrases without extracting again.
    keywords: Mapped[list | None] = mapped_column(JSONType)
    keywords_stamp: Mapped[str | None] = mapped_column(String(48))
    keywords_text_hash: Mapped[str | None] = mapped_column(String(32))

    entries: Mapped[list[DailyEntry]] = relationship(back_populates="paper", cascade="all, delete-orphan")

    @property
    def category_list(self) -> list[str]:
        return self.categories.split() if self.categories else []

    @property
    def author_names(self) -> list[str]:
        return [a["name"] for a in self.authors]

    @property
    def code_url(self) -> str | None:
        return self.code_urls[0] if self.code_urls else None

    @property
    def published(self) -> date | None:
        """The day a reader would call its publication date."""
        if self.submitted_at is not None:
            return self.submitted_at.date()
        return self.announced_on


class DailyEntry(Base):
    """A paper's appearance on one day's page; a paper appears at most once per day."""

    __tablename__ = "daily_entry"
    __table_args__ = (
        UniqueConstraint("paper_pk", "day", name="uq_daily_entry_paper_day"),
        Index("ix_daily_entry_day_upvotes", "day", "upvotes"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # no index of its own: uq_daily_entry_paper_day (paper_pk first) serves look-ups by paper
    paper_pk: Mapped[int] = mapped_column(ForeignKey("paper.pk", ondelete="CASCADE"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    # "auto" (a listing or feed), "hf" (Hugging Face), or "user"
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    # user pk when source == "user"; indexed for For you's signals and the API's submitter filter
    submitted_by: Mapped[int | None] = mapped_column(Integer, index=True)
    upvotes: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    num_comments: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # put on the curated "Daily Papers" view by an admin (store/moderation.py)
    featured: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    paper: Mapped[Paper] = relationship(back_populates="entries")


class HarvestState(Base):
    """Checkpoints for resumable harvests (e.g. an OAI-PMH resumptionToken) and fetch times."""

    __tablename__ = "harvest_state"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict] = mapped_column(JSONType, default=dict, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)
