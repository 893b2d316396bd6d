"""Collections: every query and write for users' lists of papers.

Who may see what is decided here, once: a private collection exists only for its owner
(anyone else gets "not found", never "forbidden", so its name does not leak), an unlisted
one for whoever has its address, a public one for everyone. Notes and reading states are
the owner's alone; callers show them only when ``viewer_owns`` says so.

Every write bumps the change sequence, so the page cache and ETags move with it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from paperfeed.models import Collection, CollectionItem, Paper, User, utcnow
from paperfeed.models.collections import READING_STATES, VISIBILITIES
from paperfeed.store.changes import bump
from paperfeed.store.users import USERNAME_RE, get_user_by_name

TITLE_MAX = 100
DESCRIPTION_MAX = 2_000
NOTE_MAX = 4_000
SLUG_MAX = 60
MAX_COLLECTIONS_PER_USER = 500
MAX_ITEMS_PER_COLLECTION = 10_000
_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class CollectionError(ValueError):
    """Bad input (a 400)."""


class CollectionNotFound(CollectionError):
    """No such collection or paper, or one the viewer may not see (a 404)."""


class CollectionConflict(CollectionError):
    """The owner already has a collection at that address, or is at a limit (a 409)."""


@dataclass
class CollectionView:
    collection: Collection
    owner: User
    count: int = 0


# --- input -------------------------------------------------------------------


def slugify(title: str) -> str:
    """"Reading list: LLMs & RL" -> "reading-list-llms-rl"; accents fold to ASCII."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:SLUG_MAX].strip("-")
    return slug or "collection"


def clean_title(title: object) -> str:
    if not isinstance(title, str):
        raise CollectionError("The title must be text.")
    title = re.sub(r"\s+", " ", _CONTROL.sub("", title)).strip()
    if not title:
        raise CollectionError("Give the collection a title.")
    if len(title) > TITLE_MAX:
        raise CollectionError(f"The title is longer than {TITLE_MAX} characters.")
    return title


def clean_slug(slug: object) -> str:
    if not isinstance(slug, str) or not _SLUG_RE.fullmatch(slug):
        raise CollectionError("A slug is 1-60 lower-case letters, digits and inner hyphens (e.g. reading-list).")
    return slug


def clean_description(text: object) -> str:
    return _limited_text(text, DESCRIPTION_MAX, "description")


def clean_note(text: object) -> str:
    return _limited_text(text, NOTE_MAX, "note")


def _limited_text(text: object, limit: int, what: str) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise CollectionError(f"The {what} must be text.")
    text = _CONTROL.sub("", text).strip()
    if len(text) > limit:
        raise CollectionError(f"The {what} is {len(text):,} characters; the limit is {limit:,}.")
    return text


def clean_visibility(value: object) -> str:
    if value not in VISIBILITIES:
        raise CollectionError(f"Visibility must be one of {', '.join(VISIBILITIES)}.")
    return value


def clean_state(value: object) -> str:
    if value not in READING_STATES:
        raise CollectionError(f"The reading state must be one of {', '.join(READING_STATES)}.")
    return value


# --- reads -------------------------------------------------------------------


def find_collection(session: Session, owner_name: str, slug: str, viewer: User | None) -> CollectionView:
    """The collection at /c/{owner}/{slug} as ``viewer`` may see it, else CollectionNotFound."""
    if not (USERNAME_RE.fullmatch(owner_name) and _SLUG_RE.fullmatch(slug)):  # no query for what cannot exist
        raise CollectionNotFound("No such collection here.")
    row = session.execute(
        select(Collection, User).join(User, User.pk == Collection.owner_pk)
        .where(User.username_key == owner_name.lower(), Collection.slug == slug)
    ).first()
    if row is None or not may_view(row[0], viewer):
        raise CollectionNotFound(f"No collection /c/{owner_name}/{slug} here.")
    return CollectionView(row[0], row[1], item_count(session, row[0].pk))


def find_owner(session: Session, username: str) -> User | None:
    return get_user_by_name(session, username) if USERNAME_RE.fullmatch(username) else None


def owned_collection(session: Session, owner: User, pk: int) -> Collection:
    """One of ``owner``'s own collections by pk; anyone else's is not found."""
    found = session.scalar(select(Collection).where(Collection.pk == pk, Collection.owner_pk == owner.pk))
    if found is None:
        raise CollectionNotFound("No such collection of yours.")
    return found


def may_view(collection: Collection, viewer: User | None) -> bool:
    return collection.visibility != "private" or viewer_owns(collection, viewer)


def viewer_owns(collection: Collection, viewer: User | None) -> bool:
    return viewer is not None and viewer.pk == collection.owner_pk


def user_collections(session: Session, owner: User, viewer: User | None) -> list[CollectionView]:
    """The owner's collections the viewer may see listed: all of them for the owner, the
    public ones for everyone else (unlisted ones are reached only by their address)."""
    query = select(Collection).where(Collection.owner_pk == owner.pk).order_by(Collection.updated_at.desc(),
                                                                              Collection.pk.desc())
    if not (viewer is not None and viewer.pk == owner.pk):
        query = query.where(Collection.visibility == "public")
    found = list(session.scalars(query))
    counts = item_counts(session, [c.pk for c in found])
    return [CollectionView(c, owner, counts.get(c.pk, 0)) for c in found]


def item_count(session: Session, collection_pk: int) -> int:
    return session.scalar(select(func.count()).where(CollectionItem.collection_pk == collection_pk)) or 0


def item_counts(session: Session, collection_pks: list[int]) -> dict[int, int]:
    if not collection_pks:
        return {}
    rows = session.execute(select(CollectionItem.collection_pk, func.count())
                           .where(CollectionItem.collection_pk.in_(collection_pks))
                           .group_by(CollectionItem.collection_pk))
    return dict(rows.all())


def collection_items(session: Session, collection: Collection, limit: int | None = None) -> list[tuple]:
    """(item, paper) pairs, the most recently added first."""
    query = (select(CollectionItem, Paper).join(Paper, Paper.pk == CollectionItem.paper_pk)
             .where(CollectionItem.collection_pk == collection.pk)
             .order_by(CollectionItem.added_at.desc(), CollectionItem.pk.desc()))
    if limit is not None:
        query = query.limit(limit)
    return [tuple(row) for row in session.execute(query).all()]


def collections_holding(session: Session, owner: User, paper_pk: int) -> set[int]:
    """Which of the owner's collections hold the paper (for the Save menu's ticks)."""
    return set(session.scalars(select(CollectionItem.collection_pk).join(Collection)
                               .where(Collection.owner_pk == owner.pk, CollectionItem.paper_pk == paper_pk)))


def collection_paper_pks(session: Session, user_pk: int) -> set[int]:
    """Every paper in any of the user's collections, whatever their visibility: what the
    user has saved, for personal ranking ("For you"). Never shown to anyone else."""
    return set(session.scalars(select(CollectionItem.paper_pk).join(Collection)
                               .where(Collection.owner_pk == user_pk).distinct()))


# --- writes ------------------------------------------------------------------


def create_collection(session: Session, owner: User, title: object, *, visibility: object = "private",
                      description: object = "", slug: object = None, now: datetime | None = None) -> Collection:
    title = clean_title(title)
    slug = clean_slug(slug) if slug else slugify(title)
    visibility, description = clean_visibility(visibility), clean_description(description)
    if _count_owned(session, owner.pk) >= MAX_COLLECTIONS_PER_USER:
        raise CollectionConflict(f"You have {MAX_COLLECTIONS_PER_USER} collections, the most one account can have.")
    _check_slug_free(session, owner, slug)
    now = now or utcnow()
    collection = Collection(owner_pk=owner.pk, slug=slug, title=title, description=description,
                            visibility=visibility, created_at=now, updated_at=now)
    session.add(collection)
    bump(session)
    session.flush()
    return collection


def free_slug(session: Session, owner: User, title: str) -> str:
    """A slug from ``title`` that the owner does not use yet (-2, -3, ... appended)."""
    base = slugify(title)[: SLUG_MAX - 6].strip("-") or "collection"
    taken = set(session.scalars(select(Collection.slug).where(Collection.owner_pk == owner.pk,
                                                               Collection.slug.like(f"{base}%"))))
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def update_collection(session: Session, collection: Collection, *, title: object = None,
                      description: object = None, visibility: object = None, slug: object = None,
                      now: datetime | None = None) -> Collection:
    """Renames, re-describes or changes visibility; ``None`` leaves a field as it is. The
    slug (the address) changes only when asked, so links keep working after a rename."""
    changes = {}
    if title is not None:
        changes["title"] = clean_title(title)
    if description is not None:
        changes["description"] = clean_description(description)
    if visibility is not None:
        changes["visibility"] = clean_visibility(visibility)
    if slug is not None and slug != collection.slug:
        changes["slug"] = clean_slug(slug)
        _check_slug_free(session, session.get(User, collection.owner_pk), changes["slug"])
    for name, value in changes.items():
        setattr(collection, name, value)
    _touch(session, collection, now)
    return collection


def delete_collection(session: Session, collection: Collection) -> None:
    bump(session)
    session.execute(delete(CollectionItem).where(CollectionItem.collection_pk == collection.pk))
    session.delete(collection)
    session.flush()


def add_paper(session: Session, collection: Collection, paper: Paper, *, note: object = "",
              state: object = "to_read", now: datetime | None = None) -> CollectionItem:
    """Adds the paper (idempotent: a paper already there keeps its note and state)."""
    note, state = clean_note(note), clean_state(state)
    item = _item(session, collection, paper)
    if item is not None:
        return item
    if item_count(session, collection.pk) >= MAX_ITEMS_PER_COLLECTION:
        raise CollectionConflict(f"A collection holds at most {MAX_ITEMS_PER_COLLECTION:,} papers.")
    now = now or utcnow()
    item = CollectionItem(collection_pk=collection.pk, paper_pk=paper.pk, note=note, state=state, added_at=now)
    session.add(item)
    _touch(session, collection, now)
    return item


def add_papers(session: Session, collection: Collection, paper_pks: list[int], now: datetime | None = None) -> int:
    """Adds many papers at once (an import); returns how many were new."""
    have = set(session.scalars(select(CollectionItem.paper_pk)
                               .where(CollectionItem.collection_pk == collection.pk)))
    new = [pk for pk in dict.fromkeys(paper_pks) if pk not in have]
    if len(have) + len(new) > MAX_ITEMS_PER_COLLECTION:
        raise CollectionConflict(f"A collection holds at most {MAX_ITEMS_PER_COLLECTION:,} papers.")
    now = now or utcnow()
    if new:  # one executemany: an import adds thousands
        session.execute(insert(CollectionItem), [{"collection_pk": collection.pk, "paper_pk": pk, "note": "",
                                                  "state": "to_read", "added_at": now} for pk in new])
    _touch(session, collection, now)
    return len(new)


def remove_paper(session: Session, collection: Collection, paper: Paper, now: datetime | None = None) -> bool:
    removed = session.execute(delete(CollectionItem).where(CollectionItem.collection_pk == collection.pk,
                                                           CollectionItem.paper_pk == paper.pk)).rowcount
    if removed:
        _touch(session, collection, now)
    return bool(removed)


def toggle_paper(session: Session, collection: Collection, paper: Paper, now: datetime | None = None) -> bool:
    """Adds the paper, or removes it when it is there; True when it is now in."""
    if remove_paper(session, collection, paper, now):
        return False
    add_paper(session, collection, paper, now=now)
    return True


def update_item(session: Session, collection: Collection, paper: Paper, *, note: object = None,
                state: object = None, now: datetime | None = None) -> CollectionItem:
    """Sets the note and/or reading state of a paper in the collection."""
    item = _item(session, collection, paper)
    if item is None:
        raise CollectionNotFound(f"Paper {paper.id} is not in this collection.")
    if note is not None:
        item.note = clean_note(note)
    if state is not None:
        item.state = clean_state(state)
    _touch(session, collection, now)
    return item


def _item(session: Session, collection: Collection, paper: Paper) -> CollectionItem | None:
    return session.scalar(select(CollectionItem).where(CollectionItem.collection_pk == collection.pk,
                                                       CollectionItem.paper_pk == paper.pk))


def _touch(session: Session, collection: Collection, now: datetime | None = None) -> None:
    bump(session)
    collection.updated_at = now or utcnow()
    session.flush()


def _count_owned(session: Session, owner_pk: int) -> int:
    return session.scalar(select(func.count()).where(Collection.owner_pk == owner_pk)) or 0


def _check_slug_free(session: Session, owner: User, slug: str) -> None:
    taken = session.scalar(select(Collection.pk).where(Collection.owner_pk == owner.pk, Collection.slug == slug))
    if taken is not None:
        raise CollectionConflict(f"You already have a collection at /c/{owner.username}/{slug}.")


def last_changed(views: list[CollectionView]) -> datetime | None:
    return max((v.collection.updated_at for v in views), default=None)


# --- look-ups for reference-manager imports ----------------------------------


def papers_by_doi(session: Session, dois: list[str]) -> dict[str, int]:
    """{lower-case DOI: paper pk} for the DOIs this instance has (ix_paper_doi_lower)."""
    found: dict[str, int] = {}
    wanted = sorted({d.lower() for d in dois})
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        rows = session.execute(select(func.lower(Paper.doi), Paper.pk).where(func.lower(Paper.doi).in_(chunk)))
        found.update((doi, pk) for doi, pk in rows.all())
    return found


def iter_paper_titles(session: Session, batch: int = 5_000):
    """(pk, title) of every paper, streamed in pk order: titles are matched after a
    normalisation no SQL dialect shares, so the matching happens in Python."""
    table, last = Paper.__table__, 0
    connection = session.connection()  # Core rows: the ORM's per-row work doubled the scan
    while True:
        rows = connection.execute(select(table.c.pk, table.c.title).where(table.c.pk > last)
                                  .order_by(table.c.pk).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]
