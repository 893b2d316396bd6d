"""Author pages and followed authors: queries over the ``author_name`` table.

The table is written with the papers (``write_author_names`` from the import path) and
matched on the normalised key of records/authors.py, so "José A. García" and
"J. Garcia" share a page. Names are not disambiguated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from paperfeed.models import AuthorFollow, AuthorName, Paper, utcnow
from paperfeed.records.authors import author_key, author_keys, published_at
from paperfeed.store.bulk import chunks, insert_rows
from paperfeed.store.changes import bump

_COLUMNS = ("paper_pk", "key", "position", "name", "published")
COAUTHORS_SHOWN = 30
COAUTHORS_OVER = 500  # co-authors are counted over an author's newest 500 papers (a page stays fast)
MAX_FOLLOWS = 500  # per user: enough for anyone, and keeps For you's query bounded


def write_author_names(session: Session, papers: dict[int, tuple], *, replace: bool = False) -> None:
    """Index papers' author lists: ``papers`` maps pk -> (authors, submitted_at, announced_on)
    as stored (JSON text or lists; datetimes or their text). ``replace`` first drops what an
    earlier version of those papers listed."""
    if not papers:
        return
    if replace:
        for chunk in chunks(list(papers), 5000):
            session.execute(delete(AuthorName).where(AuthorName.paper_pk.in_(chunk)))
    rows = []
    for pk, (authors, submitted, announced) in papers.items():
        listed = orjson.loads(authors) if isinstance(authors, (str, bytes)) else authors
        when = published_at(submitted, announced).isoformat(" ", "microseconds")
        rows.extend((pk, key, position, name, when) for position, key, name in author_keys(listed))
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
    total = session.scalar(select(func.count()).where(AuthorName.key == key)) or 0
    # newest first straight from the (key, published) index; withdrawn papers are left out
    # after the cut, so a page can be a little short rather than slow
    pks = list(session.scalars(select(AuthorName.paper_pk).where(AuthorName.key == key)
                               .order_by(AuthorName.published.desc(), AuthorName.paper_pk.desc())
                               .limit(limit).offset(offset)))
    found = {p.pk: p for p in session.scalars(select(Paper).where(Paper.pk.in_(pks), Paper.withdrawn.is_(False)))}
    newest = (select(AuthorName.paper_pk).where(AuthorName.key == key)
              .order_by(AuthorName.published.desc()).limit(COAUTHORS_OVER))
    return AuthorPage(key=key, name=spellings[0], spellings=spellings, papers=[found[pk] for pk in pks if pk in found],
                      total=total, coauthors=_coauthors(session, key, newest.scalar_subquery()))


def _spellings(session: Session, key: str) -> list[str]:
    rows = session.execute(select(AuthorName.name, func.count()).where(AuthorName.key == key)
                           .group_by(AuthorName.name).order_by(func.count().desc(), AuthorName.name).limit(10))
    return [name for name, _ in rows]


def _coauthors(session: Session, key: str, mine) -> list[tuple[str, int]]:
    """Who wrote with ``key`` on the papers ``mine`` selects, most papers together first."""
    rows = session.execute(
        select(func.min(AuthorName.name), func.count())
        .where(AuthorName.paper_pk.in_(mine), AuthorName.key != key)
        .group_by(AuthorName.key).order_by(func.count().desc(), func.min(AuthorName.name))
        .limit(COAUTHORS_SHOWN))
    return [(name, n) for name, n in rows]


class FollowError(ValueError):
    """A follow that cannot be made; the message is safe to show."""


class FollowLimit(FollowError):
    """The user follows MAX_FOLLOWS authors already."""


def follow_author(session: Session, user_pk: int, name: str) -> str:
    """Follow the author ``name`` stands for; returns the key. Following twice is a no-op."""
    key = author_key(name)
    if key is None or not _spellings(session, key):
        raise FollowError("There is no author of that name on this instance.")
    if is_following(session, user_pk, key):
        return key
    count = session.scalar(select(func.count()).where(AuthorFollow.user_pk == user_pk)) or 0
    if count >= MAX_FOLLOWS:
        raise FollowLimit(f"You follow {MAX_FOLLOWS} authors already; unfollow some first.")
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
    newest = (select(AuthorName.paper_pk, func.max(AuthorName.published).label("published"))
              .where(AuthorName.key.in_(keys)).group_by(AuthorName.paper_pk))
    if since is not None:
        newest = newest.where(AuthorName.published >= datetime(since.year, since.month, since.day))
    ranked = newest.subquery()
    stmt = (select(Paper).join(ranked, ranked.c.paper_pk == Paper.pk).where(Paper.withdrawn.is_(False))
            .order_by(ranked.c.published.desc(), Paper.pk.desc()).limit(limit))
    return list(session.scalars(stmt))
