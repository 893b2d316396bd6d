"""The rate limiter's queries: hits per key in a sliding window, on a connection whose
transaction (and lock) the limiter holds."""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, delete, func, insert, select

from paperfeed.models import RateLimitHit


def lock_keys(conn: Connection, keys: list[str]) -> None:
    """Serialise callers on these keys until the transaction ends: SQLite's write lock, or
    each key's advisory lock on PostgreSQL (in a fixed order, so two callers never deadlock)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    for lock_id in sorted({_lock_id(key) for key in keys}):
        conn.execute(select(func.pg_advisory_xact_lock(lock_id)))


def hits_since(conn: Connection, key: str, since: float) -> tuple[int, float | None]:
    """How many hits ``key`` has after ``since``, and the oldest of them."""
    count, oldest = conn.execute(select(func.count(), func.min(RateLimitHit.at))
                                 .where(RateLimitHit.key == key, RateLimitHit.at > since)).one()
    return count, oldest


def hit_at(conn: Connection, key: str, since: float, offset: int) -> float | None:
    """The time of ``key``'s hit number ``offset`` (0: the oldest) after ``since``."""
    return conn.scalar(select(RateLimitHit.at).where(RateLimitHit.key == key, RateLimitHit.at > since)
                       .order_by(RateLimitHit.at).offset(offset).limit(1))


def record_hit(conn: Connection, key: str, now: float, window: int) -> int:
    """One more hit under ``key``; hits older than the window go."""
    conn.execute(delete(RateLimitHit).where(RateLimitHit.key == key, RateLimitHit.at <= now - window))
    return conn.execute(insert(RateLimitHit).values(key=key, at=now).returning(RateLimitHit.pk)).scalar_one()


def delete_hits(conn: Connection, pks: list[int]) -> None:
    conn.execute(delete(RateLimitHit).where(RateLimitHit.pk.in_(pks)))


def clear_key(conn: Connection, key: str) -> None:
    conn.execute(delete(RateLimitHit).where(RateLimitHit.key == key))


def _lock_id(key: str) -> int:
    """A stable signed 64-bit id for a key's advisory lock (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
