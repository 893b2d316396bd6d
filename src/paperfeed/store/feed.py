"""Queries behind the daily/weekly/monthly pages, their feeds, and instance stats."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

import orjson
from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session, selectinload

from paperfeed.models import ChangeCounter, DailyEntry, HarvestState, Paper
from paperfeed.store.trending import as_of_day, trending_order

SORTS = ("trending", "newest")


def newest_order() -> list:
    """Publication date (arXiv submission, else the day it was listed), newest first."""
    published = func.coalesce(Paper.submitted_at, DailyEntry.day)
    return [DailyEntry.day.desc(), published.desc(), Paper.id.desc()]


def order_for(sort: str, as_of: date | None = None) -> list:
    """ORDER BY for a sort. Trending is measured as of ``as_of`` (the span's newest day)."""
    if sort == "trending":
        return trending_order(as_of_day(as_of or date.min))
    if sort == "newest":
        return newest_order()
    raise ValueError(f"unknown sort {sort!r}; use one of {', '.join(SORTS)}")


@dataclass(frozen=True)
class EntryFilter:
    """What the filter bar narrows a period to."""

    category: str | None = None  # "cs.LG" matches that category; "cs" every cs.* category
    has_code: bool = False
    submitted_by: int | None = None  # a user's pk: the papers they submitted (HF's `submitter`)
    curated: bool = False  # the "Daily Papers" view: see curated_clause
    categories: tuple[str, ...] = ()  # any of these ("cs.LG", or "cs" for cs.*); empty: all

    def clauses(self) -> list:
        out = []
        if self.curated:
            out.append(curated_clause())
        if self.categories:
            out.append(or_(*(_category_clause(c) for c in self.categories)))
        if self.submitted_by is not None:
            out.append(DailyEntry.submitted_by == self.submitted_by)
        if self.category:
            out.append(_category_clause(self.category))
        if self.has_code:
            # JSON '[]' on both backends; a cast keeps it one portable comparison
            out.append(cast(Paper.code_urls, String) != "[]")
        return out


def curated_clause():
    """What the curated "Daily Papers" view holds: papers submitted here or imported from
    Hugging Face, upvoted at least once, or featured by an admin. An "auto" entry counts
    only the community's votes (imports give it none), so > 0 means someone here voted."""
    return or_(DailyEntry.source.in_(("user", "hf")), DailyEntry.upvotes > 0, DailyEntry.featured.is_(True))


def count_entries(session: Session, start: date, end: date, filters: EntryFilter = EntryFilter()) -> int:
    """Visible entries with start <= day <= end under the filters."""
    where = _visible(start, end) + filters.clauses()
    return session.scalar(select(func.count()).select_from(DailyEntry).join(Paper).where(*where)) or 0


def _category_clause(category: str):
    padded = " " + Paper.categories + " "
    exact = padded.like(f"% {_escape_like(category)} %", escape="\\")
    if "." in category:
        return exact
    return or_(exact, padded.like(f"% {_escape_like(category)}.%", escape="\\"))


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _visible(start: date, end: date) -> list:
    return [DailyEntry.day >= start, DailyEntry.day <= end, DailyEntry.hidden.is_(False),
            Paper.withdrawn.is_(False)]


@dataclass
class EntryPage:
    entries: list[DailyEntry]
    total: int
    limit: int
    offset: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))


def page_entries(session: Session, start: date, end: date, *, sort: str = "trending",
                 filters: EntryFilter = EntryFilter(), limit: int = 30, offset: int = 0) -> EntryPage:
    """One page of visible entries with start <= day <= end, plus how many there are in all.

    Papers come in one extra IN query (selectinload), never one per card.
    """
    where = _visible(start, end) + filters.clauses()
    total = session.scalar(select(func.count()).select_from(DailyEntry).join(Paper).where(*where)) or 0
    as_of = newest_day_between(session, start, end) if sort == "trending" else None
    stmt = (
        select(DailyEntry).join(Paper).where(*where)
        .options(selectinload(DailyEntry.paper))
        .order_by(*order_for(sort, as_of)).limit(limit).offset(offset)
    )
    return EntryPage(list(session.scalars(stmt)), total, limit, offset)


def entries_between(session: Session, start: date, end: date, limit: int = 50, offset: int = 0) -> list[DailyEntry]:
    """Visible entries with start <= day <= end, trending first."""
    return page_entries(session, start, end, limit=limit, offset=offset).entries


def recent_papers(session: Session, limit: int, offset: int = 0) -> list[Paper]:
    """The newest papers (first submitted, else announced), withdrawn ones left out."""
    published = func.coalesce(Paper.submitted_at, Paper.announced_on)
    return list(session.scalars(select(Paper).where(Paper.withdrawn.is_(False))
                                .order_by(published.desc().nulls_last(), Paper.pk.desc()).limit(limit).offset(offset)))


def newest_day_between(session: Session, start: date, end: date) -> date | None:
    """The newest day in [start, end] with visible papers: what trending is measured from."""
    return session.scalar(select(func.max(DailyEntry.day))
                          .where(DailyEntry.day >= start, DailyEntry.day <= end, DailyEntry.hidden.is_(False)))


def latest_day(session: Session, until: date | None = None) -> date | None:
    """The newest day with visible papers (on or before ``until``, when given)."""
    stmt = select(func.max(DailyEntry.day)).where(DailyEntry.hidden.is_(False))
    if until is not None:
        stmt = stmt.where(DailyEntry.day <= until)
    return session.scalar(stmt)


def trending_paper_pks(session: Session, start: date, end: date) -> list[int]:
    """Papers with a visible entry in [start, end], in trending order as of ``end`` (each
    paper once, at its best-ranked entry): the candidates of a digest."""
    rows = session.execute(select(DailyEntry.paper_pk).join(Paper).where(*_visible(start, end))
                           .order_by(*trending_order(as_of_day(end))))
    return list(dict.fromkeys(pk for (pk,) in rows))


def papers_for_digest(session: Session, pks: list[int]) -> Iterator[tuple]:
    """(pk, id, title, authors, abstract, categories, abs_url, code_urls, upvotes) for the
    papers, read 2,000 at a time."""
    cols = (Paper.pk, Paper.id, Paper.title, Paper.authors, Paper.abstract, Paper.categories, Paper.abs_url,
            Paper.code_urls)
    for start in range(0, len(pks), 2000):
        chunk = pks[start:start + 2000]
        upvotes = dict(session.execute(select(DailyEntry.paper_pk, func.max(DailyEntry.upvotes))
                                       .where(DailyEntry.paper_pk.in_(chunk)).group_by(DailyEntry.paper_pk)).all())
        for row in session.execute(select(*cols).where(Paper.pk.in_(chunk))):
            yield (*row, upvotes.get(row[0], 0))


def day_before(session: Session, day: date) -> date | None:
    """The nearest earlier day that has visible papers (an index range scan)."""
    return session.scalar(select(func.max(DailyEntry.day)).where(DailyEntry.day < day, DailyEntry.hidden.is_(False)))


def day_after(session: Session, day: date) -> date | None:
    return session.scalar(select(func.min(DailyEntry.day)).where(DailyEntry.day > day, DailyEntry.hidden.is_(False)))


def days_with_counts(session: Session) -> list[tuple[date, int]]:
    rows = session.execute(
        select(DailyEntry.day, func.count())
        .where(DailyEntry.hidden.is_(False))
        .group_by(DailyEntry.day)
        .order_by(DailyEntry.day)
    )
    return [(day, count) for day, count in rows]


def period_categories(session: Session, start: date, end: date, limit: int = 40) -> list[tuple[str, int]]:
    """Primary categories in a period, most papers first (the filter menu)."""
    rows = session.execute(
        select(Paper.primary_category, func.count())
        .select_from(DailyEntry).join(Paper)
        .where(*_visible(start, end), Paper.primary_category.is_not(None))
        .group_by(Paper.primary_category)
        .order_by(func.count().desc(), Paper.primary_category)
        .limit(limit)
    )
    return [(cat, n) for cat, n in rows]


def period_version(session: Session, start: date, end: date) -> str:
    """Changes whenever anything shown for the period changes: entries added, hidden,
    upvoted or commented, or any paper edited. Keys caches and ETags.

    One statement: an aggregate over the period's daily_entry rows (an index range, no
    join) plus lone max() subqueries that SQLite and PostgreSQL answer from indexes, so it
    is cheap enough to run on every request."""
    entries = (
        select(func.count(), func.coalesce(func.sum(DailyEntry.upvotes), 0),
               func.coalesce(func.sum(DailyEntry.num_comments), 0), func.coalesce(func.max(DailyEntry.pk), 0))
        .where(DailyEntry.day >= start, DailyEntry.day <= end, DailyEntry.hidden.is_(False))
        .subquery()
    )
    row = session.execute(select(
        entries,
        # the change sequence: moves on every vote, comment, entry and paper change, also
        # when counts sum the same (a vote moved from one paper to another)
        select(ChangeCounter.n).where(ChangeCounter.pk == 1).scalar_subquery(),
        select(func.max(Paper.pk)).scalar_subquery(),
        select(func.max(DailyEntry.pk)).scalar_subquery(),
    )).one()
    return "-".join(str(v) for v in row)


def papers_version(session: Session) -> str:
    """The change sequence and the newest paper (two index look-ups)."""
    changed = session.scalar(select(ChangeCounter.n).where(ChangeCounter.pk == 1))
    newest = session.scalar(select(func.max(Paper.pk)))
    return f"{changed}-{newest}"


def entries_version(session: Session) -> str:
    """Entries added or removed anywhere (count and newest key, both answered from indexes)."""
    count = session.scalar(select(func.count()).select_from(DailyEntry))
    newest = session.scalar(select(func.max(DailyEntry.pk)))
    return f"{count}-{newest}"


def fetch_version(session: Session) -> str:
    return str(session.scalar(select(func.max(HarvestState.updated_at))))


@dataclass
class PaperActivity:
    """A paper's counts across the daily pages it is on."""

    upvotes: int = 0
    num_comments: int = 0
    days: list[date] = field(default_factory=list)


def paper_activity(session: Session, paper: Paper) -> PaperActivity:
    rows = session.execute(
        select(DailyEntry.day, DailyEntry.upvotes, DailyEntry.num_comments)
        .where(DailyEntry.paper_pk == paper.pk, DailyEntry.hidden.is_(False))
        .order_by(DailyEntry.day)
    ).all()
    # Votes and comments belong to the paper, and every entry carries the paper's count,
    # so a paper on two days has them once, not twice.
    return PaperActivity(
        upvotes=max((r.upvotes for r in rows), default=0),
        num_comments=max((r.num_comments for r in rows), default=0),
        days=[r.day for r in rows],
    )


def activity_for(session: Session, paper_pks: list[int]) -> dict[int, PaperActivity]:
    """Counts for many papers in one query (search results, similar papers)."""
    out: dict[int, PaperActivity] = {pk: PaperActivity() for pk in paper_pks}
    if not paper_pks:
        return out
    rows = session.execute(
        select(DailyEntry.paper_pk, DailyEntry.day, DailyEntry.upvotes, DailyEntry.num_comments)
        .where(DailyEntry.paper_pk.in_(paper_pks), DailyEntry.hidden.is_(False))
        .order_by(DailyEntry.day)
    )
    for pk, day, upvotes, comments in rows:
        act = out[pk]
        act.upvotes = max(act.upvotes, upvotes)  # per paper, repeated on each entry
        act.num_comments = max(act.num_comments, comments)
        act.days.append(day)
    return out


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


def last_fetch_time(stats: InstanceStats) -> datetime | None:
    times = [datetime.fromisoformat(v) for v in stats.last_fetch.values()]
    return max(times) if times else None


def _source_counts(session: Session) -> dict[str, int]:
    """Papers per source. The database groups the few distinct source lists, so this
    reads a handful of rows instead of one per paper."""
    counts: dict[str, int] = {}
    as_text = cast(Paper.sources, String)
    for text, n in session.execute(select(as_text, func.count()).group_by(as_text)):
        for source in _json_list(text):
            counts[source] = counts.get(source, 0) + n
    return dict(sorted(counts.items()))


def _json_list(text: str | None) -> list[str]:
    return list(orjson.loads(text)) if text else []
