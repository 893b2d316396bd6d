"""The queries of key-phrase extraction: which papers lack current phrases, and storing them.

A paper's phrases are current when its ``keywords_stamp`` is "<extractor version>:<its
content_hash>"; anything else (never extracted, the paper changed, a new extractor) is
missing. Writes bump the change sequence and stamp the rows with it, so page caches,
ETags and replicas see new phrases like any other paper change.
"""

from __future__ import annotations

from sqlalchemy import Select, func, literal, or_, select, update
from sqlalchemy.orm import Session

from paperfeed.models import Paper
from paperfeed.store.changes import bump


def current_stamp(version: int):
    """The stamp a paper's phrases carry when current (an SQL expression)."""
    return literal(f"{version}:") + Paper.content_hash


def stamp(version: int, content_hash: str) -> str:
    return f"{version}:{content_hash}"


def _missing_filter(version: int):
    return (Paper.withdrawn.is_(False),
            or_(Paper.keywords_stamp.is_(None), Paper.keywords_stamp != current_stamp(version)))


def count_missing_keywords(session: Session, version: int) -> int:
    return session.scalar(select(func.count()).select_from(Paper).where(*_missing_filter(version))) or 0


def missing_keywords(version: int) -> Select:
    """The columns an extraction chunk needs, of papers without current phrases."""
    return (select(Paper.pk, Paper.title, Paper.abstract, Paper.content_hash, Paper.keywords_text_hash)
            .where(*_missing_filter(version)))


def store_keywords(session: Session, rows: list[dict]) -> int:
    """Write ``{"pk", "keywords"?, "keywords_stamp", "keywords_text_hash"}`` rows; rows without
    "keywords" (same text as before) only move the stamp on. Returns the change number."""
    if not rows:
        return 0
    seq = bump(session)
    # Only papers whose content is still what was extracted: an import that changed one
    # meanwhile left a new content_hash, and the next chunk extracts it again.
    for row in rows:
        values = {k: v for k, v in row.items() if k not in ("pk", "content_hash")}
        session.execute(update(Paper).where(Paper.pk == row["pk"], Paper.content_hash == row["content_hash"])
                        .values(**values, change_seq=seq))
    return seq
