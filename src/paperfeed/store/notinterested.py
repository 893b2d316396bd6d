""""Not interested" marks: hide a paper from one user, and tell the For you ranking.

Writes are Core statements that bump the change sequence themselves, so page caches and
ETags follow; the caller commits.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from paperfeed.models import NotInterested, Paper, utcnow
from paperfeed.store.changes import bump
from paperfeed.store.votes import insert_or_skip

MAX_LISTED = 500


def mark_not_interested(session: Session, user_pk: int, paper_pk: int) -> bool:
    """Idempotent; True when the mark is new."""
    added = insert_or_skip(session, NotInterested, {"user_pk": user_pk, "paper_pk": paper_pk,
                                                    "created_at": utcnow()}, ["user_pk", "paper_pk"])
    if added:
        bump(session)
    return added


def undo_not_interested(session: Session, user_pk: int, paper_pk: int) -> bool:
    """Takes the mark back; True when there was one."""
    removed = session.execute(delete(NotInterested).where(NotInterested.user_pk == user_pk,
                                                          NotInterested.paper_pk == paper_pk)).rowcount
    if removed:
        bump(session)
    return bool(removed)


def hidden_among(session: Session, user_pk: int | None, paper_pks: list[int]) -> frozenset[int]:
    """Which of these papers the user marked (one query for a page of cards)."""
    if user_pk is None or not paper_pks:
        return frozenset()
    return frozenset(session.scalars(select(NotInterested.paper_pk).where(
        NotInterested.user_pk == user_pk, NotInterested.paper_pk.in_(paper_pks))))


def hidden_pks(session: Session, user_pk: int, limit: int = MAX_LISTED) -> list[int]:
    """The user's marks, newest first."""
    return list(session.scalars(select(NotInterested.paper_pk).where(NotInterested.user_pk == user_pk)
                                .order_by(NotInterested.created_at.desc(), NotInterested.pk.desc()).limit(limit)))


def hidden_papers(session: Session, user_pk: int, limit: int = MAX_LISTED) -> list[Paper]:
    """The papers the user marked, newest mark first (the undo list in For you)."""
    stmt = (select(Paper).join(NotInterested, NotInterested.paper_pk == Paper.pk)
            .where(NotInterested.user_pk == user_pk)
            .order_by(NotInterested.created_at.desc(), NotInterested.pk.desc()).limit(limit))
    return list(session.scalars(stmt))
