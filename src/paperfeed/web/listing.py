"""One period's listing (entries, neighbours, categories) as pages, API and feeds all use it.

Results are cached in process, keyed by the request's parameters AND a data version read
from the database on every request, so an upvote, a hidden entry or an import shows up
on the very next request while unchanged periods skip the heavy queries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import date

from fastapi import Request
from sqlalchemy.orm import Session

from paperfeed.store.feed import (
    EntryFilter,
    EntryPage,
    count_entries,
    day_after,
    day_before,
    latest_day,
    page_entries,
    period_categories,
    period_version,
)
from paperfeed.store.thumbnails import thumb_infos
from paperfeed.web.clock import today
from paperfeed.web.periods import Period

PER_PAGE = 30
MAX_PER_PAGE = 100
# "daily": the curated Daily Papers; "all": every new paper in the instance's categories
VIEWS = ("daily", "all")
AUTO = "auto"  # Daily Papers when the period has any, else All new
EMPTY_REASON = "Nothing was submitted, upvoted or featured here yet, so this shows every new paper."


class PageOutOfRange(LookupError):
    """A page number past the last page (``page_no`` and ``pages`` count from 1)."""

    def __init__(self, page_no: int, pages: int, label: str):
        super().__init__(f"page {page_no} is past the last page ({pages}) of {label}")
        self.page_no, self.pages, self.label = page_no, pages, label


@dataclass
class Listing:
    period: Period
    sort: str
    filters: EntryFilter
    page_no: int
    page: EntryPage
    prev: Period | None
    next: Period | None
    categories: list[tuple[str, int]]
    version: str
    thumbs: dict = field(default_factory=dict)  # paper pk -> ThumbInfo, for the cards that have one
    view: str = "all"
    counts: dict[str, int] = field(default_factory=dict)  # papers in each view, under the filters
    reason: str | None = None  # one line saying why the page landed on this view


class VersionedCache:
    """A small thread-safe LRU; stale entries simply stop being asked for and age out."""

    def __init__(self, maxsize: int = 512):
        self.maxsize = maxsize
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)


def data_version(session: Session, period: Period) -> str:
    """The period's own version, which includes the newest entry anywhere (prev/next arrows)."""
    return period_version(session, period.start, period.end)


def load_listing(session: Session, cache: VersionedCache, period: Period, *, sort: str = "trending",
                 filters: EntryFilter = EntryFilter(), page_no: int = 1, per_page: int = PER_PAGE,
                 view: str = "all", categories: tuple[str, ...] = ()) -> Listing:
    """One page of a period in a view ("daily", "all", or AUTO to land on Daily Papers when
    there are any); ``categories`` limit the "all" view (the instance's categories)."""
    version = data_version(session, period)
    # the order is a function of the data alone (trending is measured from the span's newest
    # day), so the data's version is the whole key
    key = (period, sort, filters, view, categories, page_no, per_page, version)
    listing = cache.get(key)
    if listing is None:
        listing = _viewed_listing(session, period, sort, filters, view, categories, page_no, per_page, version)
        cache.put(key, listing)
    return listing


def _viewed_listing(session: Session, period: Period, sort: str, filters: EntryFilter, view: str,
                    categories: tuple[str, ...], page_no: int, per_page: int, version: str) -> Listing:
    per_view = {"daily": replace(filters, curated=True), "all": replace(filters, categories=categories)}
    counts = {name: count_entries(session, period.start, period.end, f) for name, f in per_view.items()}
    reason = None
    if view == AUTO:
        view = "daily" if counts["daily"] else "all"
        reason = None if counts["daily"] else EMPTY_REASON
    listing = _query_listing(session, period, sort, per_view[view], page_no, per_page, version)
    listing.filters, listing.view, listing.counts, listing.reason = filters, view, counts, reason
    return listing


def _query_listing(session: Session, period: Period, sort: str, filters: EntryFilter, page_no: int,
                   per_page: int, version: str) -> Listing:
    page = page_entries(session, period.start, period.end, sort=sort, filters=filters,
                        limit=per_page, offset=(page_no - 1) * per_page)
    if page_no > 1 and page_no > page.pages:
        raise PageOutOfRange(page_no, page.pages, period.label)
    before = day_before(session, period.start)
    after = day_after(session, period.end)
    return Listing(
        period=period, sort=sort, filters=filters, page_no=page_no, page=page,
        prev=period.containing(before) if before else None,
        next=period.containing(after) if after else None,
        categories=period_categories(session, period.start, period.end),
        version=version,
        thumbs=thumb_infos(session, [entry.paper.pk for entry in page.entries]),
    )


def parse_view(value: str | None) -> str:
    """A ``view`` query parameter: daily, all, or none (AUTO); anything else is a ValueError."""
    if value is None or value == "":
        return AUTO
    if value not in VIEWS:
        raise ValueError(f"unknown view {value!r}; use daily or all")
    return value


def default_day(request: Request, session: Session) -> date:
    """The latest day that has papers, or today on an empty instance."""
    return latest_day(session) or today(request)
