"""The one moment the tests live on. No test reads the wall clock: a test that did would
pass on some days and fail on others (issue: the suite failed from Friday to Sunday).

A Wednesday, so a week's earlier and later days are both a few days away.
"""

from datetime import date, datetime, timedelta, timezone

NOW = datetime(2026, 6, 10, 9, 30, tzinfo=timezone.utc)
TODAY: date = NOW.date()


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def naive_now() -> datetime:
    """NOW as naive UTC, the form the database stores."""
    return NOW.replace(tzinfo=None)
