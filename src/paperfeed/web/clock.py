"""The web layer's one clock.

``app.state.clock`` returns unix seconds (``time.time`` in production). Every route that
needs "now" or "today" asks it, so a test pins one clock instead of the day it runs on.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from fastapi import Request


def now(request: Request) -> datetime:
    """The current moment as naive UTC, like the timestamps the database stores."""
    return datetime.fromtimestamp(request.app.state.clock(), timezone.utc).replace(tzinfo=None)


def today(request: Request) -> date:
    """Today's date in UTC: the day whose page a submission lands on."""
    return now(request).date()
