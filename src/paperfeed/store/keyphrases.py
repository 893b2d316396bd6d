"""The queries of key-phrase extraction: which papers lack current phrases, and storing them.

A paper's phrases are current when its ``keywords_stamp`` is "<extractor version>:<its
content_hash>"; anything else (never extracted, the paper changed, a new extractor) is
missing. Writes bump the change sequence, so page caches and listing ETags follow, but
leave ``Paper.change_seq`` alone: that number tells the keyword (tantivy) index which
papers to re-index, and phrases are not indexed, so moving it would make every node copy
and rewrite its index once a second while phrases are extracted. The paper's ETag takes
``keywords_stamp`` instead (web/api.py).
"""

from __future__ import annotations

from sqlalchemy import Select, bindparam, func, literal, or_, select, update
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
    table = Paper.__table__
    # Only papers whose content is still what was extracted: an import that changed one
    # meanwhile left a new content_hash, and the next chunk extracts it again.
    where = (table.c.pk == bindparam("b_pk"), table.c.content_hash == bindparam("b_hash"))
    fresh = [_params(r) for r in rows if "keywords" in r]
    kept = [_params(r) for r in rows if "keywords" not in r]
    # One executemany per shape: a statement per row costs more than the extraction.
    if fresh:
        session.execute(update(table).where(*where).values(
            keywords=bindparam("b_keywords"), keywords_stamp=bindparam("b_stamp"),
            keywords_text_hash=bindparam("b_text")), fresh)
    if kept:
        session.execute(update(table).where(*where).values(
            keywords_stamp=bindparam("b_stamp"), keywords_text_hash=bindparam("b_text")), kept)
    return seq


def _params(row: dict) -> dict:
    params = {"b_pk": row["pk"], "b_hash": row["content_hash"], "b_stamp": row["keywords_stamp"],
              "b_text": row["keywords_text_hash"]}
    if "keywords" in row:
        params["b_keywords"] = row["keywords"]
    return params
