"""Brute-force limits for sign-in, sign-up, password resets and comments: a sliding window
in the database.

Each counted attempt is a row (key, time) in ``rate_limit_hit``; a key is blocked while
it has ``limit`` rows younger than the window, and the 429 answer's Retry-After is when
the oldest of them leaves the window. Keeping the hits in the database (not in process
memory) means every uvicorn worker and every server sharing the database enforces the
same limit, on SQLite and PostgreSQL alike. Hits are written in their own transaction,
so a failing request still counts. The clock is injectable (tests move it forward).

``acquire`` checks and records in one step per key: the count and the insert happen
under a lock that every process sharing the database respects (``BEGIN IMMEDIATE`` on
SQLite, ``pg_advisory_xact_lock`` per key on PostgreSQL), so N simultaneous attempts on
one key let at most ``limit`` through, across workers and nodes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection

from paperfeed.db import Database
from paperfeed.store.ratelimit import clear_key, delete_hits, hit_at, hits_since, lock_keys, record_hit


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int
    window: int | None = None  # seconds; None: the limiter's window


class RateLimited(Exception):
    def __init__(self, retry_after: int, message: str | None = None):
        super().__init__(message or f"Too many attempts; try again in {retry_after} seconds.")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Reservation:
    """The hits one ``acquire`` recorded, by key; ``release`` takes some back (a sign-in
    that succeeded is not a failure)."""

    pks: dict[str, int]


class RateLimiter:
    def __init__(self, db: Database, window_seconds: int, clock: Callable[[], float] = time.time):
        self.db = db
        self.window = window_seconds
        self.clock = clock

    def acquire(self, limits: list[Limit]) -> Reservation:
        """Counts one attempt under every key, or none when any key is at its limit (raises
        RateLimited). Check and record are one locked transaction."""
        now = self.clock()
        with self._locked([limit.key for limit in limits]) as conn:
            longest = max((self._wait(conn, limit, now) for limit in limits), default=0)
            if longest > 0:
                raise RateLimited(longest)
            pks = {limit.key: record_hit(conn, limit.key, now, self._window(limit)) for limit in limits}
        return Reservation(pks)

    def release(self, reservation: Reservation, keys: list[str]) -> None:
        pks = [reservation.pks[key] for key in keys if key in reservation.pks]
        if pks:
            with self.db.engine.begin() as conn:
                delete_hits(conn, pks)

    @contextmanager
    def _locked(self, keys: list[str]) -> Iterator[Connection]:
        """A transaction that holds the write lock (SQLite) or every key's advisory lock
        (PostgreSQL, taken in a fixed order so two callers never deadlock); commits on exit."""
        with self.db.engine.connect() as conn:
            lock_keys(conn, keys)
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def _window(self, limit: Limit) -> int:
        return limit.window or self.window

    def _wait(self, conn: Connection, limit: Limit, now: float) -> int:
        window = self._window(limit)
        since = now - window
        count, oldest = hits_since(conn, limit.key, since)
        if count < limit.limit:
            return 0
        # the (count - limit + 1)-th oldest hit must leave the window before one more is allowed
        nth = hit_at(conn, limit.key, since, count - limit.limit)
        return max(1, math.ceil((nth if nth is not None else oldest) + window - now))

    def clear(self, key: str) -> None:
        with self.db.engine.begin() as conn:
            clear_key(conn, key)
