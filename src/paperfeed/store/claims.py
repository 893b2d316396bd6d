"""Embedding work claimed in the database, so embedders on any number of nodes compute
each paper once.

A claim is an ``embedding_claim`` row (paper, owner, expiry) written in a short
transaction of its own before the model runs. On PostgreSQL the candidate papers are
read ``FOR UPDATE SKIP LOCKED``, so concurrent claimers take disjoint chunks instead of
queueing; on SQLite writers are serialised anyway. Either way the claim itself is an
``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired RETURNING``: the database decides
row by row who holds a paper, and only the returned rows are embedded. Expiry is read
from the database's clock, so nodes with skewed clocks agree on it; a killed embedder's
claims lapse after the lease and are taken over.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, text
from sqlalchemy.orm import Session

from paperfeed.db import Database
from paperfeed.models import EmbeddingClaim, Paper

DEFAULT_LEASE = 600  # seconds; a chunk of 256 papers with passages takes about a minute on one core


def new_owner() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim_papers(db: Database, candidates: Select, owner: str, size: int, lease: int,
                 claims: type = EmbeddingClaim) -> list:
    """Claim up to ``size`` rows of ``candidates`` (a select whose first column is Paper.pk)
    that nobody else holds; returns the claimed rows, newest papers first.

    ``claims`` is the claim table: EmbeddingClaim, or KeywordClaim for key phrases."""
    with db.session() as session:
        now = database_now(session)
        if db.is_sqlite:
            # A write first: it takes SQLite's write lock for the whole claim, so a second
            # claimer waits instead of picking the same candidates and losing every one of
            # them (which reads as "nothing left" and ends its run early).
            session.execute(claims.__table__.delete().where(claims.expires_at < now))
        stmt = (candidates.outerjoin(claims, claims.paper_pk == Paper.pk)
                .where(or_(claims.paper_pk.is_(None), claims.expires_at < now))
                .order_by(Paper.pk.desc()).limit(size))
        if not db.is_sqlite:
            stmt = stmt.with_for_update(of=Paper, skip_locked=True)
        rows = session.execute(stmt).all()
        if not rows:
            return []
        won = _upsert_claims(session, [r[0] for r in rows], owner, now, now + timedelta(seconds=lease), claims)
    return [r for r in rows if r[0] in won]


def release_claims(session: Session, owner: str, pks: list[int], claims: type = EmbeddingClaim) -> set[int]:
    """Drop this owner's claims on ``pks``; returns the pks that were still its own."""
    return set(session.scalars(claims.__table__.delete()
                               .where(claims.paper_pk.in_(pks), claims.owner == owner)
                               .returning(claims.paper_pk)))


def _upsert_claims(session: Session, pks: list[int], owner: str, now: datetime, expires: datetime,
                   claims: type) -> set[int]:
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    stmt = insert(claims).values([{"paper_pk": pk, "owner": owner, "expires_at": expires} for pk in pks])
    stmt = stmt.on_conflict_do_update(index_elements=["paper_pk"],
                                      set_={"owner": stmt.excluded.owner, "expires_at": stmt.excluded.expires_at},
                                      where=claims.expires_at < now)
    return set(session.scalars(stmt.returning(claims.paper_pk)))


def database_now(session: Session) -> datetime:
    """The database server's UTC time: one clock for every node."""
    if session.get_bind().dialect.name == "sqlite":
        value = session.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar()
        return datetime.fromisoformat(value)
    return session.execute(text("SELECT (now() AT TIME ZONE 'UTC')")).scalar()
