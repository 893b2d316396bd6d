"""What a user has told us about their taste, gathered in one place for the For you ranking.

``user_signals`` reads every source of positive and negative signal. Positive sources are
listed in ``POSITIVE_SOURCES`` as (reason, query) pairs, strongest first: a paper named by
several sources keeps the first reason. Papers by followed authors are not likes (a liked
paper is never recommended back) but candidates to lift: ``Signals.followed``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperfeed.models import AuthorFollow, AuthorName, Collection, CollectionItem, DailyEntry, NotInterested, Paper, Vote

# Only the most recent signals count: tastes drift, and the ranking's cost grows with them.
MAX_POSITIVE = 200
MAX_NEGATIVE = 500
MAX_PER_SOURCE = 200


@dataclass
class Signals:
    positive: dict[int, str] = field(default_factory=dict)  # paper pk -> reason ("you upvoted"), newest first
    negative: list[int] = field(default_factory=list)  # "not interested", newest first
    categories: Counter = field(default_factory=Counter)  # category -> liked papers in it
    followed: list[int] = field(default_factory=list)  # papers by authors the user follows, newest first

    @property
    def positive_pks(self) -> list[int]:
        return list(self.positive)

    def __bool__(self) -> bool:
        return bool(self.positive or self.negative)


def upvoted_pks(session: Session, user_pk: int) -> list[int]:
    return list(session.scalars(select(Vote.paper_pk).where(Vote.user_pk == user_pk)
                                .order_by(Vote.created_at.desc(), Vote.pk.desc()).limit(MAX_PER_SOURCE)))


def submitted_pks(session: Session, user_pk: int) -> list[int]:
    return list(dict.fromkeys(session.scalars(
        select(DailyEntry.paper_pk).where(DailyEntry.submitted_by == user_pk)
        .order_by(DailyEntry.day.desc(), DailyEntry.pk.desc()).limit(MAX_PER_SOURCE))))


def collection_paper_pks(session: Session, user_pk: int) -> list[int]:
    """Papers in any of the user's collections, private ones included, newest saved first."""
    stmt = (select(CollectionItem.paper_pk).join(Collection, Collection.pk == CollectionItem.collection_pk)
            .where(Collection.owner_pk == user_pk)
            .order_by(CollectionItem.added_at.desc(), CollectionItem.pk.desc()).limit(MAX_PER_SOURCE))
    return list(dict.fromkeys(session.scalars(stmt)))


def papers_by_followed_authors(session: Session, user_pk: int) -> list[int]:
    """Papers by the authors the user follows, newest first."""
    keys = select(AuthorFollow.author_key).where(AuthorFollow.user_pk == user_pk)
    stmt = (select(AuthorName.paper_pk).where(AuthorName.key.in_(keys))
            .order_by(AuthorName.published.desc(), AuthorName.paper_pk.desc()).limit(MAX_PER_SOURCE))
    return list(dict.fromkeys(session.scalars(stmt)))


# (reason shown as "like X that you <reason>", the source), strongest signal first.
POSITIVE_SOURCES: list[tuple[str, Callable[[Session, int], list[int]]]] = [
    ("upvoted", upvoted_pks),
    ("saved", collection_paper_pks),
    ("submitted", submitted_pks),
]


def not_interested_pks(session: Session, user_pk: int) -> list[int]:
    return list(session.scalars(select(NotInterested.paper_pk).where(NotInterested.user_pk == user_pk)
                                .order_by(NotInterested.created_at.desc(), NotInterested.pk.desc())
                                .limit(MAX_NEGATIVE)))


def user_signals(session: Session, user_pk: int) -> Signals:
    signals = Signals()
    for reason, source in POSITIVE_SOURCES:
        for pk in source(session, user_pk):
            signals.positive.setdefault(pk, reason)
    negative = not_interested_pks(session, user_pk)
    for pk in negative:  # a paper marked not interested is not a like, whatever else says so
        signals.positive.pop(pk, None)
    signals.positive = dict(list(signals.positive.items())[:MAX_POSITIVE])
    signals.negative = negative
    shut = set(negative) | set(signals.positive)
    signals.followed = [pk for pk in papers_by_followed_authors(session, user_pk) if pk not in shut]
    signals.categories = liked_categories(session, list(signals.positive))
    return signals


def liked_categories(session: Session, paper_pks: list[int]) -> Counter:
    counts: Counter = Counter()
    if paper_pks:
        for cats in session.scalars(select(Paper.categories).where(Paper.pk.in_(paper_pks))):
            counts.update(set((cats or "").split()))
    return counts


def window_paper_pks(session: Session, start, end) -> list[int]:
    """Papers with a visible entry on a day in [start, end]: For you's candidates (any order)."""
    stmt = (select(DailyEntry.paper_pk).distinct().join(Paper, Paper.pk == DailyEntry.paper_pk).where(
        DailyEntry.day >= start, DailyEntry.day <= end, DailyEntry.hidden.is_(False), Paper.withdrawn.is_(False)))
    # Core, not ORM: a month is ~15k rows, and ORM row handling tripled the time
    return list(session.connection().execute(stmt).scalars())
