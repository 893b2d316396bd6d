"""Brute-force limits for sign-in, sign-up and password resets: a sliding window in the database.

Each counted attempt is a row (key, time) in ``rate_limit_hit``; a key is blocked while
it has ``limit`` rows younger than the window, and the 429 answer's Retry-After is when
the oldest of them leaves the window. Keeping the hits in the database (not in process
memory) means every uvicorn worker and every server sharing the database enforces the
same limit, on SQLite and PostgreSQL alike. Hits are written in their own transaction,
so a failing request still counts. The clock is injectable (tests move it forward).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select

from paperfeed.db import Database
from paperfeed.models import RateLimitHit


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"Too many attempts; try again in {retry_after} seconds.")
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, db: Database, window_seconds: int, clock: Callable[[], float] = time.time):
        self.db = db
        self.window = window_seconds
        self.clock = clock

    def check(self, limits: list[Limit]) -> None:
        """Raises RateLimited when any key is at its limit within the window."""
        now = self.clock()
        waits = [self._wait(limit, now) for limit in limits]
        longest = max(waits, default=0)
        if longest > 0:
            raise RateLimited(longest)

    def _wait(self, limit: Limit, now: float) -> int:
        since = now - self.window
        with self.db.sessions() as session:
            count, oldest = session.execute(
                select(func.count(), func.min(RateLimitHit.at))
                .where(RateLimitHit.key == limit.key, RateLimitHit.at > since)
            ).one()
            if count < limit.limit:
                return 0
            # the (count - limit + 1)-th oldest hit must leave the window before one more is allowed
            nth = session.scalar(
                select(RateLimitHit.at).where(RateLimitHit.key == limit.key, RateLimitHit.at > since)
                .order_by(RateLimitHit.at).offset(count - limit.limit).limit(1)
            )
        return max(1, math.ceil((nth if nth is not None else oldest) + self.window - now))

    def hit(self, *keys: str) -> None:
        """Counts one attempt under each key, and forgets that key's hits older than the window."""
        now = self.clock()
        with self.db.session() as session:
            for key in keys:
                session.execute(delete(RateLimitHit).where(RateLimitHit.key == key,
                                                           RateLimitHit.at <= now - self.window))
                session.execute(insert(RateLimitHit).values(key=key, at=now))

    def clear(self, key: str) -> None:
        with self.db.session() as session:
            session.execute(delete(RateLimitHit).where(RateLimitHit.key == key))
