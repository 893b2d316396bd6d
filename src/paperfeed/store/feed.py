"""Queries behind the daily pages and instance stats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from paperfeed.models import DailyEntry, HarvestState, Paper


def latest_day(session: Session) -> date | None:
    return session.scalar(select(func.max(DailyEntry.day)).where(DailyEntry.hidden.is_(False)))


def days_with_counts(session: Session) -> list[tuple[date, int]]:
    rows = session.execute(
        select(DailyEntry.day, func.count())
        .where(DailyEntry.hidden.is_(False))
        .group_by(DailyEntry.day)
        .order_by(DailyEntry.day)
    )
    return [(day, count) for day, count in rows]


def entries_between(session: Session, start: date, end: date, limit: int = 50, offset: int = 0) -> list[DailyEntry]:
    """Visible entries with start <= day <= end, most upvoted first."""
    stmt = (
        select(DailyEntry)
        .join(Paper)
        .where(DailyEntry.day >= start, DailyEntry.day <= end, DailyEntry.hidden.is_(False),
               Paper.withdrawn.is_(False))
        .options(selectinload(DailyEntry.paper))
        .order_by(DailyEntry.upvotes.desc(), DailyEntry.day.desc(), Paper.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(stmt))


@dataclass
class InstanceStats:
    papers: int
    days: int
    entries: int
    first_day: date | None
    last_day: date | None
    sources: dict[str, int]
    last_fetch: dict[str, str]


def instance_stats(session: Session) -> InstanceStats:
    papers = session.scalar(select(func.count()).select_from(Paper)) or 0
    entries = session.scalar(select(func.count()).select_from(DailyEntry)) or 0
    first, last, days = session.execute(
        select(func.min(DailyEntry.day), func.max(DailyEntry.day), func.count(func.distinct(DailyEntry.day)))
    ).one()
    return InstanceStats(
        papers=papers,
        days=days or 0,
        entries=entries,
        first_day=first,
        last_day=last,
        sources=_source_counts(session),
        last_fetch={row.name: row.updated_at.isoformat(timespec="seconds") for row in session.scalars(select(HarvestState))},
    )


def _source_counts(session: Session) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (sources,) in session.execute(select(Paper.sources)):
        for source in sources:
            counts[source] = counts.get(source, 0) + 1
    return dict(sorted(counts.items()))
