"""When jobs are due. Pure functions of a given time: nothing here reads the clock.

All times are naive UTC datetimes, as the database stores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WEEKDAYS = frozenset(range(5))  # Monday..Friday
# arXiv announces Sunday to Thursday at 20:00 US Eastern: in UTC that is Monday to Friday,
# at 00:00 (summer) or 01:00 (winter).
ANNOUNCEMENT_DAYS_UTC = WEEKDAYS


@dataclass(frozen=True)
class DailyAt:
    """At ``hour``:00 UTC on the given weekdays (Monday = 0)."""

    hour: int
    weekdays: frozenset[int] = frozenset(range(7))

    def next_after(self, when: datetime) -> datetime:
        """The first slot strictly after ``when``."""
        day = when.replace(hour=self.hour, minute=0, second=0, microsecond=0)
        if day <= when:
            day += timedelta(days=1)
        while day.weekday() not in self.weekdays:
            day += timedelta(days=1)
        return day

    def previous(self, when: datetime) -> datetime:
        """The latest slot at or before ``when``."""
        day = when.replace(hour=self.hour, minute=0, second=0, microsecond=0)
        if day > when:
            day -= timedelta(days=1)
        while day.weekday() not in self.weekdays:
            day -= timedelta(days=1)
        return day

    def describe(self) -> str:
        days = "daily" if len(self.weekdays) == 7 else "Mon-Fri" if self.weekdays == WEEKDAYS else \
            ",".join("MTWTFSS"[d] for d in sorted(self.weekdays))
        return f"{days} at {self.hour:02d}:00 UTC"


@dataclass(frozen=True)
class EveryHours:
    """Every ``hours`` hours, counted from midnight UTC (6: 00:00, 06:00, 12:00, 18:00)."""

    hours: int

    def next_after(self, when: datetime) -> datetime:
        return self.previous(when) + timedelta(hours=self.hours)

    def previous(self, when: datetime) -> datetime:
        midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
        steps = int((when - midnight) / timedelta(hours=self.hours))
        return midnight + timedelta(hours=steps * self.hours)

    def describe(self) -> str:
        return f"every {self.hours} h"


def missed_slot(schedule, last_success: datetime | None, now: datetime) -> bool:
    """True when a slot before the latest one passed with no successful run after it:
    the runner was down (or failing) through a whole announcement."""
    if last_success is None:
        return False
    latest = schedule.previous(now)
    before_latest = schedule.previous(latest - timedelta(seconds=1))
    return last_success < before_latest


def retry_at(schedule, finished: datetime, failures: int, retry_minutes: int) -> datetime:
    """After a failure: back off 1, 2, 4 ... retry periods, but never past the next slot."""
    backoff = finished + timedelta(minutes=retry_minutes * 2 ** min(failures - 1, 10))
    return min(backoff, schedule.next_after(finished))
