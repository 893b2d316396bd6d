"""Following someone's collection: its new papers reach the follower's webhooks.

Only public and unlisted collections can be followed (a private one does not exist for
anyone but its owner), and a collection made private later stops announcing. What counts
as new is decided by membership number, never by a clock: each follow keeps the newest
membership already announced (``seen_item_pk``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from paperfeed.models import Collection, CollectionFollow, CollectionItem, Paper, User
from paperfeed.store.changes import bump
from paperfeed.store.collections import CollectionConflict, CollectionNotFound
from paperfeed.store.search import live_papers

MAX_PAPERS_PER_NEWS = 20  # one event lists at most this many of a batch of new papers


@dataclass
class CollectionNews:
    follow: CollectionFollow
    collection: Collection
    newest_item_pk: int
    papers: list[Paper]


def follow_collection(session: Session, user: User, collection: Collection) -> CollectionFollow:
    """Follows from now on (papers already there are not news); idempotent."""
    if collection.visibility == "private":
        raise CollectionNotFound("No such collection here.")
    if collection.owner_pk == user.pk:
        raise CollectionConflict("This is your own collection.")
    found = session.scalar(select(CollectionFollow).where(CollectionFollow.user_pk == user.pk,
                                                          CollectionFollow.collection_pk == collection.pk))
    if found is not None:
        return found
    newest = session.scalar(select(func.max(CollectionItem.pk))
                            .where(CollectionItem.collection_pk == collection.pk)) or 0
    follow = CollectionFollow(user_pk=user.pk, collection_pk=collection.pk, seen_item_pk=newest)
    session.add(follow)
    session.flush()
    return follow


def unfollow_collection(session: Session, user_pk: int, collection_pk: int) -> bool:
    bump(session)
    return bool(session.execute(delete(CollectionFollow).where(CollectionFollow.user_pk == user_pk,
                                                               CollectionFollow.collection_pk == collection_pk))
                .rowcount)


def is_following(session: Session, user_pk: int, collection_pk: int) -> bool:
    return session.scalar(select(CollectionFollow.pk).where(CollectionFollow.user_pk == user_pk,
                                                            CollectionFollow.collection_pk == collection_pk)) is not None


def follower_count(session: Session, collection_pk: int) -> int:
    return session.scalar(select(func.count()).select_from(CollectionFollow)
                          .where(CollectionFollow.collection_pk == collection_pk)) or 0


def pending_news(session: Session, limit: int = 500) -> list[CollectionNews]:
    """Follows of visible collections with papers added since they were last announced."""
    newest = (select(CollectionItem.collection_pk, func.max(CollectionItem.pk).label("newest"))
              .group_by(CollectionItem.collection_pk).subquery())
    rows = session.execute(
        select(CollectionFollow, Collection, newest.c.newest)
        .join(Collection, Collection.pk == CollectionFollow.collection_pk)
        .join(newest, newest.c.collection_pk == Collection.pk)
        .where(Collection.visibility != "private", newest.c.newest > CollectionFollow.seen_item_pk)
        .order_by(CollectionFollow.pk).limit(limit)).all()
    return [CollectionNews(follow, collection, newest_pk, _papers_after(session, collection.pk, follow.seen_item_pk))
            for follow, collection, newest_pk in rows]


def _papers_after(session: Session, collection_pk: int, seen: int) -> list[Paper]:
    pks = list(session.scalars(select(CollectionItem.paper_pk)
                               .where(CollectionItem.collection_pk == collection_pk, CollectionItem.pk > seen)
                               .order_by(CollectionItem.pk).limit(MAX_PAPERS_PER_NEWS)))
    found = live_papers(session, pks)
    return [found[pk] for pk in pks if pk in found]


def mark_announced(session: Session, follow: CollectionFollow, newest_item_pk: int) -> None:
    follow.seen_item_pk = max(follow.seen_item_pk, newest_item_pk)
