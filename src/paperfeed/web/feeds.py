"""RSS 2.0 and Atom feeds (feedgen): each day's page, trending, and any search query."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from feedgen.feed import FeedGenerator
from sqlalchemy.orm import Session

from paperfeed.links import paper_path
from paperfeed.models import Paper
from paperfeed.rank.search import search
from paperfeed.store.feed import latest_day
from paperfeed.web.clock import today
from paperfeed.web.deps import etag_for, get_session, listing_cache, not_modified
from paperfeed.web.listing import load_listing
from paperfeed.web.periods import Period, parse_period, period_of
from paperfeed.web.render import as_utc, plain_snippet

router = APIRouter(prefix="/feeds", tags=["feeds"])
FORMATS = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}
FEED_SIZE = 50
TRENDING_DAYS = 7
# Characters XML 1.0 cannot carry at all (not even escaped). lxml refuses a feed containing
# one, so a single \x1b in an imported abstract turned every feed showing it into a 500.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise HTTPException(404, f"unknown feed format {fmt!r}; use .rss or .atom")
    return fmt


def _base(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def _generator(request: Request, title: str, page_path: str, self_path: str, description: str) -> FeedGenerator:
    base = _base(request)
    fg = FeedGenerator()
    fg.id(xml_text(base + self_path))
    fg.title(xml_text(title))
    fg.description(xml_text(description))
    fg.subtitle(xml_text(description))
    fg.link(href=xml_text(base + page_path), rel="alternate")
    fg.link(href=xml_text(base + self_path), rel="self")
    fg.language("en")
    fg.generator("paperfeed")
    return fg


def _add_paper(fg: FeedGenerator, request: Request, paper: Paper, fallback_day: date | None,
               upvotes: int | None = None) -> None:
    link = xml_text(_base(request) + paper_path(paper.id))
    when = as_utc(paper.submitted_at or paper.announced_on or fallback_day)
    entry = fg.add_entry(order="append")
    entry.id(link)
    entry.guid(link, permalink=True)
    entry.title(xml_text(paper.title) or "(untitled)")
    entry.link(href=link, rel="alternate")
    summary = plain_snippet(paper.abstract, 1200)
    if upvotes is not None:
        summary = f"{summary}\n\n{upvotes} upvotes"
    entry.description(xml_text(summary or paper.title) or "(no abstract)")
    names = [xml_text(name) for name in paper.author_names[:20]]
    for name in names:
        if name:
            entry.author({"name": name})
    if not any(names):
        entry.author({"name": "unknown"})
    for category in paper.category_list:
        if xml_text(category):
            entry.category(term=xml_text(category))
    if when is not None:
        entry.published(when)
        entry.updated(as_utc(paper.updated_at) or when)


def _respond(request: Request, fg: FeedGenerator, fmt: str, version: object) -> Response:
    etag = etag_for("feed", request.url.path, request.url.query, version)
    cached = not_modified(request, etag)
    if cached:
        return cached
    body = fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)
    return Response(body, media_type=FORMATS[fmt], headers={"ETag": etag, "Cache-Control": "no-cache"})


def _period_feed(request: Request, session: Session, period: Period, fmt: str, self_path: str) -> Response:
    listing = load_listing(session, listing_cache(request), period, page_no=1, per_page=FEED_SIZE)
    fg = _generator(request, f"Daily papers, {period.label}", period.path, self_path,
                    f"The most upvoted papers of {period.label}.")
    fg.updated(as_utc(period.end))
    for entry in listing.page.entries:
        _add_paper(fg, request, entry.paper, entry.day, entry.upvotes)
    return _respond(request, fg, fmt, listing.version)


@router.get("/latest.{fmt}", summary="The latest day's papers")
def latest_feed(request: Request, fmt: str, session: Session = Depends(get_session)):
    period = period_of("date", latest_day(session) or today(request))
    return _period_feed(request, session, period, _check_format(fmt), f"/feeds/latest.{fmt}")


@router.get("/date/{day}.{fmt}", summary="One day's papers")
def day_feed(request: Request, day: str, fmt: str, session: Session = Depends(get_session)):
    period = parse_period("date", day)
    return _period_feed(request, session, period, _check_format(fmt), f"/feeds/date/{period.slug}.{fmt}")


@router.get("/trending.{fmt}", summary="Trending papers of the last week")
def trending_feed(request: Request, fmt: str, session: Session = Depends(get_session)):
    _check_format(fmt)
    last = latest_day(session) or today(request)
    period = Period("date", last - timedelta(days=TRENDING_DAYS - 1), last)
    listing = load_listing(session, listing_cache(request), period, sort="trending", per_page=FEED_SIZE)
    fg = _generator(request, "Trending papers", "/", f"/feeds/trending.{fmt}",
                    f"The most upvoted papers of the {TRENDING_DAYS} days up to {last.isoformat()}.")
    fg.updated(as_utc(last))
    for entry in listing.page.entries:
        _add_paper(fg, request, entry.paper, entry.day, entry.upvotes)
    return _respond(request, fg, fmt, listing.version)


@router.get("/search.{fmt}", summary="A saved search as a feed")
def search_feed(request: Request, fmt: str, q: str = Query(..., min_length=1, max_length=500),
                mode: str = "hybrid", category: str | None = None):
    _check_format(fmt)
    results = search(request.app.state.db, q, limit=FEED_SIZE, mode=mode, category=category)
    query = urlencode({"q": q})
    fg = _generator(request, f"Search: {q}", f"/search?{query}", f"/feeds/search.{fmt}?{query}",
                    f"Papers matching “{q}”, most relevant first.")
    days = [p.announced_on or (p.submitted_at.date() if p.submitted_at else None) for p in (h.paper for h in results.hits)]
    fg.updated(as_utc(max((d for d in days if d), default=today(request))))
    for hit in results.hits:
        _add_paper(fg, request, hit.paper, None)
    version = [(h.paper.id, h.paper.change_seq) for h in results.hits]
    return _respond(request, fg, fmt, version)
