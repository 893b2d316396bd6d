"""Upvotes and the counts shown on cards.

How community votes combine with imported counts: ``DailyEntry.upvotes`` is the number
shown and ranked, and equals the imported baseline (Hugging Face's count for ``hf``
entries, 0 otherwise) plus the number of ``vote`` rows for the paper. A vote is per
paper, so it counts on every day's page the paper is on. Each vote row is written in
the same transaction as an atomic ``UPDATE daily_entry SET upvotes = upvotes ± 1``, so
concurrent voters never lose an increment, and the unique (user, paper) constraint
makes a double vote impossible. The importer adds ``community_counts`` back when it
re-sets HF's baseline (store/papers.py). ``num_comments`` works the same way with
visible comments (store/comments.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from paperfeed.models import Comment, DailyEntry, Paper, User, Vote, utcnow
from paperfeed.store.bulk import select_in
from paperfeed.store.changes import bump


@dataclass
class VoteState:
    voted: bool
    upvotes: int  # the paper's count as cards show it (its most upvoted visible entry)


def toggle_vote(session: Session, user: User, paper: Paper) -> VoteState:
    """Adds the user's upvote, or removes it when it is there."""
    removed = session.execute(delete(Vote).where(Vote.user_pk == user.pk, Vote.paper_pk == paper.pk)).rowcount
    if removed:
        _bump_upvotes(session, paper.pk, -1)
        return VoteState(False, paper_upvotes(session, paper.pk))
    return add_vote(session, user, paper)


def add_vote(session: Session, user: User, paper: Paper) -> VoteState:
    """Idempotent upvote: a second call (or a racing duplicate request) changes nothing."""
    values = {"user_pk": user.pk, "paper_pk": paper.pk, "created_at": utcnow()}
    if insert_or_skip(session, Vote, values, ["user_pk", "paper_pk"]):
        _bump_upvotes(session, paper.pk, +1)
    return VoteState(True, paper_upvotes(session, paper.pk))


def insert_or_skip(session: Session, model, values: dict, unique: list[str]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when the row went in. (No SAVEPOINT: the
    pysqlite driver's implicit transactions make savepoints unreliable under concurrency.)"""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    stmt = dialect_insert(model).values(**values).on_conflict_do_nothing(index_elements=unique)
    # RETURNING, not rowcount: drivers report -1 for INSERT ... ON CONFLICT
    return session.execute(stmt.returning(model.pk)).first() is not None


def remove_vote(session: Session, user: User, paper: Paper) -> VoteState:
    removed = session.execute(delete(Vote).where(Vote.user_pk == user.pk, Vote.paper_pk == paper.pk)).rowcount
    if removed:
        _bump_upvotes(session, paper.pk, -1)
    return VoteState(False, paper_upvotes(session, paper.pk))


def _bump_upvotes(session: Session, paper_pk: int, delta: int) -> None:
    bump(session)  # a vote moved from one paper to another changes counts that sum the same
    session.execute(update(DailyEntry).where(DailyEntry.paper_pk == paper_pk)
                    .values(upvotes=DailyEntry.upvotes + delta))


def paper_upvotes(session: Session, paper_pk: int) -> int:
    """The count a card shows: its most upvoted entry, or just the votes when on no day's page."""
    top = session.scalar(select(func.max(DailyEntry.upvotes)).where(DailyEntry.paper_pk == paper_pk))
    return top if top is not None else vote_count(session, paper_pk)


def vote_count(session: Session, paper_pk: int) -> int:
    return session.scalar(select(func.count()).select_from(Vote).where(Vote.paper_pk == paper_pk)) or 0


def voted_papers(session: Session, user: User | None, paper_pks: list[int]) -> set[int]:
    """Which of these papers the user has upvoted (one query for a whole page of cards)."""
    if user is None or not paper_pks:
        return set()
    return set(session.scalars(select(Vote.paper_pk).where(Vote.user_pk == user.pk, Vote.paper_pk.in_(paper_pks))))


def has_voted(session: Session, user: User | None, paper_pk: int) -> bool:
    return paper_pk in voted_papers(session, user, [paper_pk])


def upvoted_by(session: Session, user: User, limit: int = 100) -> list[Paper]:
    stmt = (select(Paper).join(Vote, Vote.paper_pk == Paper.pk).where(Vote.user_pk == user.pk)
            .order_by(Vote.created_at.desc(), Vote.pk.desc()).limit(limit))
    return list(session.scalars(stmt))


def remove_all_votes(session: Session, user: User) -> int:
    """Takes back every vote of a user (account deletion), keeping the counts exact."""
    paper_pks = list(session.scalars(select(Vote.paper_pk).where(Vote.user_pk == user.pk)))
    for paper_pk in paper_pks:
        session.execute(delete(Vote).where(Vote.user_pk == user.pk, Vote.paper_pk == paper_pk))
        _bump_upvotes(session, paper_pk, -1)
    return len(paper_pks)


def community_counts(session: Session, paper_pks: list[int]) -> dict[int, tuple[int, int]]:
    """paper pk -> (vote rows, visible comments): what the community adds to imported counts."""
    out: dict[int, tuple[int, int]] = {}
    # Plain SQL: a bulk import asks about thousands of papers at a time (see store/bulk.py).
    votes = dict(select_in(session, f"SELECT paper_pk, count(*) FROM {Vote.__tablename__}", "paper_pk", paper_pks,
                           "GROUP BY paper_pk"))
    comments = dict(select_in(session, f"SELECT paper_pk, count(*) FROM {Comment.__tablename__}", "paper_pk", paper_pks,
                              "AND deleted = false AND hidden = false GROUP BY paper_pk"))
    for pk in set(votes) | set(comments):
        out[pk] = (votes.get(pk, 0), comments.get(pk, 0))
    return out


class SubmissionError(ValueError):
    """A paper that cannot go on today's page; the message is safe to show."""


def submit_entry(session: Session, user: User, paper: Paper, day: date, window_days: int) -> DailyEntry:
    """Puts a paper on ``day``'s page for ``user``. A paper is on a day's page at most once
    (a unique constraint), and only within ``window_days`` of its publication."""
    published = paper.published
    if published is not None and (day - published).days > window_days:
        raise SubmissionError(f"Papers can be submitted up to {window_days} days after publication; "
                              f"{paper.id} was published on {published.isoformat()}.")
    votes, comments = community_counts(session, [paper.pk]).get(paper.pk, (0, 0))
    values = {"paper_pk": paper.pk, "day": day, "source": "user", "submitted_by": user.pk, "upvotes": votes,
              "num_comments": comments, "hidden": False, "created_at": utcnow()}
    if not insert_or_skip(session, DailyEntry, values, ["paper_pk", "day"]):
        raise SubmissionError(f"{paper.id} is already on the page of {day.isoformat()}.")
    bump(session)
    return session.scalar(select(DailyEntry).where(DailyEntry.paper_pk == paper.pk, DailyEntry.day == day))


def submitted_by(session: Session, user: User, limit: int = 100) -> list[DailyEntry]:
    stmt = (select(DailyEntry).where(DailyEntry.submitted_by == user.pk, DailyEntry.hidden.is_(False))
            .order_by(DailyEntry.day.desc(), DailyEntry.pk.desc()).limit(limit))
    return list(session.scalars(stmt))
