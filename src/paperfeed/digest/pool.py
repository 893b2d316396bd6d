"""The candidate pool for one digest period, built once per send run.

Trending order is the site's (``paperfeed.store.trending``), over the period's entries.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy.orm import Session

from paperfeed.db import Database
from paperfeed.digest.choose import Candidate, Pool, index_pool
from paperfeed.records import arxiv_urls
from paperfeed.store.feed import latest_day, papers_for_digest, trending_paper_pks

log = logging.getLogger(__name__)
WINDOW_DAYS = {"daily": 2, "weekly": 7}  # daily looks back two days: a late announcement is still new
SEARCH_HITS = 50
SIMILAR_HITS = 50


@dataclass(frozen=True)
class DigestPeriod:
    kind: str  # daily | weekly
    today: date  # the day the digest goes out
    newest: date | None = None  # the newest day its papers come from (set once the pool is built)

    @property
    def key(self) -> str:
        if self.kind == "daily":
            return f"daily:{self.today.isoformat()}"
        year, week, _ = self.today.isocalendar()
        return f"weekly:{year}-W{week:02d}"

    @property
    def max_weekday(self) -> int | None:
        """Weekly subscribers whose weekday is today or earlier this week are due."""
        return self.today.weekday() if self.kind == "weekly" else None

    @property
    def label(self) -> str:
        """Named after the papers' days, not the sending day: an instance whose newest papers
        are from July says July in a November mail."""
        day = self.newest or self.today
        if self.kind == "daily":
            return day.strftime("%-d %b %Y")
        return "week of " + (day - timedelta(days=day.weekday())).strftime("%-d %b %Y")


def period_for(kind: str, today: date) -> DigestPeriod:
    if kind not in WINDOW_DAYS:
        raise ValueError(f"period must be daily or weekly, not {kind!r}")
    return DigestPeriod(kind, today)


def window(session: Session, period: DigestPeriod) -> tuple[date, date] | None:
    """The days of entries the digest covers, ending at the newest day with papers."""
    newest = latest_day(session, until=period.today)
    if newest is None:
        return None
    return newest - timedelta(days=WINDOW_DAYS[period.kind] - 1), newest


def build_pool(db: Database, period: DigestPeriod) -> tuple[Pool, tuple[date, date] | None]:
    with db.session() as session:
        span = window(session, period)
        if span is None:
            return index_pool([]), None
        order = trending_paper_pks(session, *span)
        candidates = _candidates(session, order)
    return index_pool(candidates), span


def labelled(period: DigestPeriod, span: tuple[date, date] | None) -> DigestPeriod:
    """The period named after the newest day its pool holds."""
    return replace(period, newest=span[1]) if span else period


def _candidates(session: Session, order: list[int]) -> list[Candidate]:
    by_pk = {}
    for pk, pid, title, authors, abstract, cats, abs_url, code, upvotes in papers_for_digest(session, order):
        by_pk[pk] = Candidate(
            pk=pk, id=pid, title=" ".join(title.split()), authors=[a["name"] for a in authors],
            abstract=" ".join(abstract.split()), upvotes=upvotes, categories=cats.split(),
            abs_url=abs_url or arxiv_urls(pid)[0], code_url=code[0] if code else None,
            text=f"{title} {abstract}".lower())
    return [by_pk[pk] for pk in order if pk in by_pk]


def prepare_queries(db: Database, pool: Pool, queries: set[str], span: tuple[date, date] | None) -> None:
    """Fill ``pool.by_query`` for interest queries not seen yet in this run.

    A query's matches are the pool papers that search's hybrid search ranks for it (or, for
    ``like:ID``, that ``similar`` finds), followed by pool papers whose title or abstract
    contain every word of it.
    """
    position = {c.pk: pos for pos, c in enumerate(pool.candidates)}
    for query in sorted(queries - pool.by_query.keys()):
        ranked = [position[pk] for pk in _search_pks(db, query, span) if pk in position]
        seen = set(ranked)
        pool.by_query[query] = ranked + [pos for pos in _lexical(pool, query) if pos not in seen]


def _search_pks(db: Database, query: str, span: tuple[date, date] | None) -> list[int]:
    from paperfeed.rank.search import SearchError, search, similar

    if query.startswith("like:"):
        return [hit.paper.pk for hit in similar(db, query.removeprefix("like:").strip(), k=SIMILAR_HITS)]
    since = span[0] - timedelta(days=14) if span else None
    try:
        results = search(db, query, limit=SEARCH_HITS, mode="hybrid", since=since, until=span[1] if span else None)
    except SearchError as exc:
        log.warning("digest interest %r: %s", query, exc)
        return []
    return [hit.paper.pk for hit in results.hits]


def _lexical(pool: Pool, query: str) -> list[int]:
    words = [w for w in re.findall(r"\w+", query.lower()) if w]
    if not words or query.startswith("like:"):
        return []
    patterns = [re.compile(rf"\b{re.escape(w)}") for w in words]
    return [pos for pos, c in enumerate(pool.candidates) if all(p.search(c.text) for p in patterns)]
