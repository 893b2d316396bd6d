"""Days, ISO weeks and months as URL slugs ("2025-03-18", "2025-W12", "2025-03")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("date", "week", "month")
# Pages step to neighbouring periods and feeds look a week back, so a period near the ends of
# Python's calendar (year 1 or 9999) would overflow date arithmetic; no paper lives there.
MIN_YEAR, MAX_YEAR = 1000, 9000
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class BadPeriod(ValueError):
    """A slug that names no real day, week or month; the message is shown to the user."""


@dataclass(frozen=True)
class Period:
    kind: str  # date | week | month
    start: date
    end: date

    @property
    def slug(self) -> str:
        if self.kind == "date":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def path(self) -> str:
        return f"/papers/{self.kind}/{self.slug}"

    @property
    def label(self) -> str:
        if self.kind == "date":
            return self.start.strftime("%A, %B %-d, %Y")
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"Week {week}, {year} ({self.start.strftime('%b %-d')} – {self.end.strftime('%b %-d')})"
        return self.start.strftime("%B %Y")

    def containing(self, day: date) -> "Period":
        """The period of the same kind that contains ``day``."""
        return period_of(self.kind, day)


def period_of(kind: str, day: date) -> Period:
    if kind == "date":
        return Period("date", day, day)
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period("week", start, start + timedelta(days=6))
    if kind == "month":
        start = day.replace(day=1)
        nxt = (start + timedelta(days=32)).replace(day=1)
        return Period("month", start, nxt - timedelta(days=1))
    raise BadPeriod(f"unknown period kind {kind!r}; use date, week or month")


def parse_period(kind: str, slug: str) -> Period:
    """'date' + '2025-03-18', 'week' + '2025-W12', 'month' + '2025-03' -> Period."""
    try:
        first = _first_day(kind, slug)
        if not MIN_YEAR <= first.year <= MAX_YEAR:
            raise BadPeriod(f"{slug!r} is outside the years {MIN_YEAR}–{MAX_YEAR}")
        return period_of(kind, first)
    except ValueError as exc:
        if isinstance(exc, BadPeriod):
            raise
        raise BadPeriod(f"{slug!r} is not a valid {_FORMATS.get(kind, kind)}") from None


_FORMATS = {"date": "date (YYYY-MM-DD)", "week": "ISO week (YYYY-Www)", "month": "month (YYYY-MM)"}


def _first_day(kind: str, slug: str) -> date:
    if kind == "date":
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", slug):
            raise ValueError(slug)
        return date.fromisoformat(slug)
    if kind == "week":
        m = _WEEK.match(slug)
        if not m:
            raise ValueError(slug)
        return date.fromisocalendar(int(m[1]), int(m[2]), 1)
    if kind == "month":
        m = _MONTH.match(slug)
        if not m:
            raise ValueError(slug)
        return date(int(m[1]), int(m[2]), 1)
    raise BadPeriod(f"unknown period kind {kind!r}; use date, week or month")
