"""The change sequence: one ordering of every change, taken from the database.

Every write that an index, a cache or an ETag depends on (papers and their withdrawal,
embeddings, votes, comments, daily entries) calls ``bump`` inside its transaction; rows
that indexes follow (``paper``, ``paper_embedding``) also store the number in
``change_seq``. Replicas remember the highest number they have applied and ask for
everything above it, so no clock is involved anywhere.

Why a counter row and not a PostgreSQL SEQUENCE: ``nextval`` hands out numbers in call
order, not commit order, so a transaction holding 41 can commit after one holding 42
has been read, and a reader that has moved its watermark to 42 never sees 41.
``UPDATE change_counter SET n = n + 1 RETURNING n`` takes the row's lock until commit,
so the next writer gets its number only after the previous one committed: numbers are
visible in the order they were handed out. The price is that writers which bump are
serialised from their bump to their commit, which is why each transaction bumps once,
as late as it can, and a bulk import bumps once per batch (SQLite serialises writers
anyway).
"""

from __future__ import annotations

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from paperfeed.models import (ChangeCounter, Collection, CollectionFollow, CollectionItem, Comment, DailyEntry,
                              NotInterested, Paper, PaperEmbedding, Vote)

_KEY = "paperfeed.change_seq"
_BUMP = text("UPDATE change_counter SET n = n + 1 WHERE pk = 1 RETURNING n")
CHANNEL = "paperfeed_changes"  # PostgreSQL delivers the NOTIFY at commit: sync loops wake at once
_FOLLOWED = (Paper, PaperEmbedding, DailyEntry, Vote, Comment, Collection, CollectionItem, CollectionFollow,
             NotInterested)


def bump(session: Session) -> int:
    """This transaction's change number (the counter advances once per transaction)."""
    held = session.info.get(_KEY)
    if held is not None and held[0] is session.get_transaction():
        return held[1]
    n = session.execute(_BUMP).scalar()
    if n is None:  # the row is gone (a truncated test database): start again from 1
        _create_counter(session)
        n = session.execute(_BUMP).scalar()
    session.info[_KEY] = (session.get_transaction(), n)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))
    return n


def current(session: Session) -> int:
    """The highest change number committed (what a cache or ETag should be keyed on)."""
    return session.scalar(select(ChangeCounter.n).where(ChangeCounter.pk == 1)) or 0


def _create_counter(session: Session) -> None:
    from paperfeed.store.votes import insert_or_skip

    insert_or_skip(session, ChangeCounter, {"pk": 1, "n": 0}, ["pk"])


@event.listens_for(Session, "before_flush")
def _stamp_orm_changes(session: Session, _context, _instances) -> None:
    """ORM writes (an admin edit, a test fixture) get a number like the bulk paths do."""
    touched = [obj for obj in (*session.new, *session.dirty, *session.deleted) if isinstance(obj, _FOLLOWED)]
    if not touched:
        return
    seq = bump(session)
    for obj in touched:
        if isinstance(obj, (Paper, PaperEmbedding)) and obj not in session.deleted:
            obj.change_seq = seq
