"""The queries search runs against the database: papers named by id, the plain scan that
answers while no index can be read, and loading the papers of a page of hits."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from paperfeed.models import Paper


def live_pks_by_id(session: Session, paper_ids: list[str]) -> dict[str, int]:
    return dict(session.execute(select(Paper.id, Paper.pk).where(Paper.id.in_(paper_ids),
                                                                 Paper.withdrawn.is_(False))).all())


def scan_for_words(session: Session, words: list[str], categories: list[str], since: date | None,
                   until: date | None, limit: int) -> list[int]:
    """Newest papers whose title, else abstract, contains one of ``words`` (ILIKE, no index):
    what search answers while no keyword index can be read."""
    pks: list[int] = []
    for column in (Paper.title, Paper.abstract):
        stmt = select(Paper.pk).where(Paper.withdrawn.is_(False))
        if words:
            stmt = stmt.where(or_(*(column.ilike(f"%{_escape_like(w)}%", escape="\\") for w in words)))
        if categories:
            stmt = stmt.where(or_(*(Paper.categories.ilike(f"%{_escape_like(c)}%", escape="\\") for c in categories)))
        if since:
            stmt = stmt.where(Paper.announced_on >= since)
        if until:
            stmt = stmt.where(Paper.announced_on <= until)
        pks = list(session.scalars(stmt.order_by(Paper.pk.desc()).limit(limit)))
        if pks or not words:
            break
    return pks


def live_papers(session: Session, pks: list[int]) -> dict[int, Paper]:
    return {p.pk: p for p in session.scalars(select(Paper).where(Paper.pk.in_(pks), Paper.withdrawn.is_(False)))}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
