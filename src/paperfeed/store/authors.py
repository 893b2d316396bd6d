"""Author pages and followed authors: queries over the ``author_name`` table.

The table is written with the papers (``write_author_names`` from the import path) and
matched on the normalised key of records/authors.py, so "José A. García" and
"J. Garcia" share a page. Names are not disambiguated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from paperfeed.models import AuthorFollow, AuthorName, Paper, utcnow
from paperfeed.records.authors import author_key, author_keys
from paperfeed.store.bulk import chunks, insert_rows
from paperfeed.store.changes import bump

_COLUMNS = ("paper_pk", "key", "position", "name")
COAUTHORS_SHOWN = 30
MAX_FOLLOWS = 500  # per user: enough for anyone, and keeps For you's query bounded


def write_author_names(session: Session, authors_by_pk: dict[int, list | str], *, replace: bool = False) -> None:
    """Index the papers' author lists (stored JSON text or lists); ``replace`` first drops
    what an earlier version of those papers listed."""
    if not authors_by_pk:
        return
    if replace:
        for chunk in chunks(list(authors_by_pk), 5000):
            session.execute(delete(AuthorName).where(AuthorName.paper_pk.in_(chunk)))
    rows = []
    for pk, authors in authors_by_pk.items():
        listed = orjson.loads(authors) if isinstance(authors, (str, bytes)) else authors
        rows.extend((pk, key, position, name) for position, key, name in author_keys(listed))
    if rows:
        insert_rows(session, "author_name", _COLUMNS, rows)


@dataclass
class AuthorPage:
    key: str
    name: str  # the spelling most papers use
    spellings: list[str]
    papers: list[Paper]
    total: int
    coauthors: list[tuple[str, int]]  # (name, papers together), most first


def author_page(session: Session, name: str, *, limit: int = 50, offset: int = 0) -> AuthorPage | None:
    """Papers by ``name`` (any spelling with the same key), newest first, or None if none."""
    key = author_key(name)
    if key is None:
        return None
    spellings = _spellings(session, key)
    if not spellings:
        return None
    mine = select(AuthorName.paper_pk).where(AuthorName.key == key)
    total = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    published = func.coalesce(Paper.submitted_at, Paper.announced_on)
    papers = list(session.scalars(
        select(Paper).where(Paper.pk.in_(mine), Paper.withdrawn.is_(False))
        .order_by(published.desc().nulls_last(), Paper.pk.desc()).limit(limit).offset(offset)))
    return AuthorPage(key=key, name=spellings[0], spellings=spellings, papers=papers, total=total,
                      coauthors=_coauthors(session, key, mine))


def _spellings(session: Session, key: str) -> list[str]:
    rows = session.execute(select(AuthorName.name, func.count()).where(AuthorName.key == key)
                           .group_by(AuthorName.name).order_by(func.count().desc(), AuthorName.name).limit(10))
    return [name for name, _ in rows]


def _coauthors(session: Session, key: str, mine) -> list[tuple[str, int]]:
    rows = session.execute(
        select(func.min(AuthorName.name), func.count())
        .where(AuthorName.paper_pk.in_(mine), AuthorName.key != key)
        .group_by(AuthorName.key).order_by(func.count().desc(), func.min(AuthorName.name))
        .limit(COAUTHORS_SHOWN))
    return [(name, n) for name, n in rows]


class FollowError(ValueError):
    """A follow that cannot be made; the message is safe to show."""


def follow_author(session: Session, user_pk: int, name: str) -> str:
    """Follow the author ``name`` stands for; returns the key. Following twice is a no-op."""
    key = author_key(name)
    if key is None or not _spellings(session, key):
        raise FollowError("There is no author of that name on this instance.")
    if is_following(session, user_pk, key):
        return key
    count = session.scalar(select(func.count()).where(AuthorFollow.user_pk == user_pk)) or 0
    if count >= MAX_FOLLOWS:
        raise FollowError(f"You follow {MAX_FOLLOWS} authors already; unfollow some first.")
    session.add(AuthorFollow(user_pk=user_pk, author_key=key, name=name.strip()[:300], created_at=utcnow()))
    bump(session)
    return key


def unfollow_author(session: Session, user_pk: int, name: str) -> bool:
    key = author_key(name)
    if key is None:
        return False
    gone = session.execute(delete(AuthorFollow).where(AuthorFollow.user_pk == user_pk,
                                                      AuthorFollow.author_key == key)).rowcount
    if gone:
        bump(session)
    return bool(gone)


def is_following(session: Session, user_pk: int, key: str) -> bool:
    return session.scalar(select(AuthorFollow.pk).where(AuthorFollow.user_pk == user_pk,
                                                        AuthorFollow.author_key == key)) is not None


def followed_author_keys(session: Session, user_pk: int) -> set[str]:
    """The keys (records/authors.py) of the authors a user follows: For you and digests."""
    return set(session.scalars(select(AuthorFollow.author_key).where(AuthorFollow.user_pk == user_pk)))


def followed_authors(session: Session, user_pk: int) -> list[tuple[str, str]]:
    """(name as followed, key), alphabetically: the list in Settings."""
    rows = session.execute(select(AuthorFollow.name, AuthorFollow.author_key)
                           .where(AuthorFollow.user_pk == user_pk).order_by(AuthorFollow.name))
    return [(name, key) for name, key in rows]


def papers_by_followed_authors(session: Session, user_pk: int, *, since: date | None = None,
                               limit: int = 200) -> list[Paper]:
    """Papers by any author the user follows, newest first (``since``: published on or after)."""
    keys = select(AuthorFollow.author_key).where(AuthorFollow.user_pk == user_pk)
    pks = select(AuthorName.paper_pk).where(AuthorName.key.in_(keys))
    published = func.coalesce(Paper.submitted_at, Paper.announced_on)
    stmt = select(Paper).where(Paper.pk.in_(pks), Paper.withdrawn.is_(False))
    if since is not None:
        stmt = stmt.where(published >= since)
    return list(session.scalars(stmt.order_by(published.desc().nulls_last(), Paper.pk.desc()).limit(limit)))
