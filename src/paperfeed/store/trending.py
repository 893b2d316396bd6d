"""Trending: the one ranking behind the day, week and month pages, /papers/trending and digests.

    score = (upvotes + 1) / (age_days + 2) ** 2

``upvotes`` is the entry's count (imported baseline + community votes), ``age_days`` the
time from the start (00:00 UTC) of the entry's day to the ranking's reference moment, in
fractional days, never negative. The reference is the start of the newest day in the
ranked span, never the wall clock: the order is then a function of the data alone, so it
is the same on every node and every day it is asked for, and caches keyed by the data's
version stay valid. This is Hacker News' gravity formula, (P - 1) / (T + 2) ** G, on the time scale
papers live on (days, not hours) and with gravity G = 2, which keeps the score plain
arithmetic so SQLite and PostgreSQL compute it identically inside ORDER BY:

* on one day's page every entry has the same age, so the order is by upvotes;
* across a week or month, a paper needs (age + 2) ** 2 / 4 times the votes of a paper
  from today to stay ahead of it: 2.25x for yesterday, 20x for a week ago;
* the +1 lets unvoted papers order newest first instead of tying at zero.

Ties break by day (newer first), then paper id, so paging is stable.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import Float, cast, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from paperfeed.models import DailyEntry, Paper

GRAVITY = 2
OFFSET_DAYS = 2.0


class days_since(FunctionElement):
    """Fractional days from the start of a DATE column's day to a timestamp, floored at 0."""

    type = Float()
    inherit_cache = True


@compiles(days_since, "sqlite")
def _days_since_sqlite(element, compiler, **kw):
    day, now = list(element.clauses)
    return f"max(0.0, julianday({compiler.process(now, **kw)}) - julianday({compiler.process(day, **kw)}))"


@compiles(days_since, "postgresql")
def _days_since_postgresql(element, compiler, **kw):
    day, now = list(element.clauses)
    span = f"CAST({compiler.process(now, **kw)} AS TIMESTAMP) - CAST({compiler.process(day, **kw)} AS TIMESTAMP)"
    return f"GREATEST(0.0, EXTRACT(EPOCH FROM ({span})) / 86400.0)"


def trending_score(upvotes: int, day: date, now: datetime) -> float:
    """The score of one entry, in Python (the same formula as ``trending_order``)."""
    start = datetime(day.year, day.month, day.day)
    age = max(0.0, (_naive_utc(now) - start).total_seconds() / 86400.0)
    return (upvotes + 1) / (age + OFFSET_DAYS) ** GRAVITY


def as_of_day(day: date) -> datetime:
    """The reference moment for ranking a span whose newest day is ``day``."""
    return datetime(day.year, day.month, day.day)


def trending_order(now: datetime) -> list:
    """ORDER BY clauses ranking DailyEntry rows (joined with Paper) by trending score."""
    now_param = literal(_naive_utc(now).isoformat(sep=" "))
    age = days_since(DailyEntry.day, now_param) + OFFSET_DAYS
    score = cast(DailyEntry.upvotes + 1, Float) / (age * age)
    return [score.desc(), DailyEntry.day.desc(), Paper.id.desc()]


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment
