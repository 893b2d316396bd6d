"""Search: the one entry point the CLI, web, API and digests call.

PLACEHOLDER IMPLEMENTATION (a plain SQL LIKE over titles) that fixes the interface; the
search issue replaces the body with the keyword index, embeddings and fusion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select

from paperfeed.db import Database
from paperfeed.models import Paper

MODES = ("keyword", "semantic", "hybrid")


class SearchError(ValueError):
    """A query that cannot be run; the message is shown to the user as is."""


@dataclass
class SearchHit:
    paper: Paper
    score: float
    # field name -> HTML-escaped text with <mark>...</mark> around matched terms
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass
class SearchResults:
    query: str
    mode: str  # the mode actually used: "keyword" until vectors exist
    hits: list[SearchHit]
    requested_mode: str = "hybrid"
    notice: str | None = None  # e.g. "Semantic search is still indexing (40%); showing keyword results."


def search(
    db: Database,
    query: str,
    *,
    limit: int = 20,
    offset: int = 0,
    mode: str = "hybrid",
    category: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> SearchResults:
    if mode not in MODES:
        raise SearchError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    terms = query.split()
    if not terms:
        return SearchResults(query=query, mode="keyword", hits=[], requested_mode=mode)
    with db.session() as session:
        stmt = select(Paper).where(or_(*[Paper.title.ilike(f"%{t}%") for t in terms[:8]])).limit(limit).offset(offset)
        papers = list(session.scalars(stmt))
    return SearchResults(query=query, mode="keyword", requested_mode=mode,
                         hits=[SearchHit(paper=p, score=1.0) for p in papers])


def similar(db: Database, paper_id: str, k: int = 5) -> list[SearchHit]:
    return []
