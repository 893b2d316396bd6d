"""RSS 2.0 and Atom feeds (feedgen): each day's page, trending, and any search query."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html import escape
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, Response
from feedgen.feed import FeedGenerator
from sqlalchemy.orm import Session

from paperfeed.links import paper_path
from paperfeed.models import Paper
from paperfeed.rank.search import search_in
from paperfeed.store.feed import latest_day
from paperfeed.web.clock import today
from paperfeed.web.deps import SessionDep, etag_for, listing_cache, not_modified
from paperfeed.web.listing import AUTO, load_listing, parse_view
from paperfeed.web.periods import Period, parse_period, period_of
from paperfeed.web.render import as_utc, plain_snippet

router = APIRouter(prefix="/feeds", tags=["feeds"])
FORMATS = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}
FEED_SIZE = 50
# For the OpenAPI schema: a feed is XML, not JSON; errors are the site's HTML error page.
FEED_RESPONSES = {
    200: {"description": "RSS 2.0 (.rss) or Atom (.atom)",
          "content": {"application/rss+xml": {"schema": {"type": "string"}},
                      "application/atom+xml": {"schema": {"type": "string"}}}},
    304: {"description": "Not modified (If-None-Match)"},
    400: {"description": "Bad date or query", "content": {"text/html": {"schema": {"type": "string"}}}},
    404: {"description": "Unknown format", "content": {"text/html": {"schema": {"type": "string"}}}},
}
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
    # feedgen makes the last link the RSS <channel><link>, which must be the page, so self
    # (RSS's atom:link rel=self) goes first.
    fg.link(href=xml_text(base + self_path), rel="self")
    fg.link(href=xml_text(base + page_path), rel="alternate")
    fg.load_extension("dc", atom=False, rss=True)  # dc:creator: RSS <author> wants an email
    fg.language("en")
    fg.generator("paperfeed")
    return fg


def entry_html(paper: Paper, upvotes: int | None) -> str:
    """The abstract as escaped HTML: readers render descriptions as HTML, so plain text such
    as ``<think>`` would vanish as an unknown tag."""
    summary = plain_snippet(paper.abstract, 1200) or paper.title or "(no abstract)"
    html = f"<p>{escape(xml_text(summary))}</p>"
    if upvotes is not None:
        html += f"<p>{upvotes} upvotes</p>"
    return html


def entry_updated(paper: Paper, fallback_day: date | None) -> datetime | None:
    """When the paper last changed: its latest version, else its first, else the day it was
    listed."""
    return as_utc(paper.updated_at or paper.submitted_at or paper.announced_on or fallback_day)


def distinct_times(times: list[datetime | None], keys: list[str]) -> list[datetime | None]:
    """Entries that share a timestamp (arXiv and HF often give only a date) are set apart by
    whole seconds, in order of paper id so an entry keeps its time from one fetch to the next:
    the W3C validator warns on every repeated atom:updated."""
    result = list(times)
    taken: set[datetime] = set()
    for index in sorted((i for i, t in enumerate(times) if t is not None), key=lambda i: (times[i], keys[i])):
        when = times[index]
        while when in taken:
            when += timedelta(seconds=1)
        taken.add(when)
        result[index] = when
    return result


def _add_paper(fg: FeedGenerator, request: Request, paper: Paper, fallback_day: date | None,
               upvotes: int | None = None):
    link = xml_text(_base(request) + paper_path(paper.id))
    entry = fg.add_entry(order="append")
    entry.id(link)
    entry.guid(link, permalink=True)
    entry.title(xml_text(paper.title) or "(untitled)")
    entry.link(href=link, rel="alternate")
    entry.content(entry_html(paper, upvotes), type="html")
    _add_authors(entry, paper)
    for category in paper.category_list:
        if xml_text(category):
            entry.category(term=xml_text(category))
    published = as_utc(paper.submitted_at or paper.announced_on or fallback_day)
    if published is not None:
        entry.published(published)
    return entry


def _add_authors(entry, paper: Paper) -> None:
    names = [name for name in (xml_text(n).strip() for n in paper.author_names[:20]) if name]
    for name in names or ["unknown"]:
        entry.author({"name": name})
        entry.dc.dc_creator(name)


def _add_papers(fg: FeedGenerator, request: Request, rows: list[tuple[Paper, date | None, int | None]],
                fallback: date) -> None:
    entries = [_add_paper(fg, request, paper, day, upvotes) for paper, day, upvotes in rows]
    times = distinct_times([entry_updated(paper, day) for paper, day, _ in rows], [p.id for p, _, _ in rows])
    for entry, when in zip(entries, times):
        if when is not None:
            entry.updated(when)
    fg.updated(max((t for t in times if t is not None), default=as_utc(fallback)))


def _respond(request: Request, fg: FeedGenerator, fmt: str, version: object) -> Response:
    etag = etag_for("feed", request.url.path, request.url.query, version)
    cached = not_modified(request, etag)
    if cached:
        return cached
    body = rss_char_refs(fg.rss_str(pretty=True)) if fmt == "rss" else fg.atom_str(pretty=True)
    return Response(body, media_type=FORMATS[fmt], headers={"ETag": etag, "Cache-Control": "no-cache"})


def rss_char_refs(xml: bytes) -> bytes:
    """``&`` and ``<`` in RSS text as hexadecimal character references, the same XML text.

    RSS never said whether a title is plain text or HTML, so readers guess; the W3C feed
    validator asks for ``&#x26;`` and ``&#x3C;``, which every reader decodes the same way.
    lxml writes these two only as ``&amp;`` and ``&lt;``, so the swap touches nothing else.
    """
    return xml.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")


VIEW_QUERY = Query(None, description="daily (Daily Papers), all (every new paper in the instance's "
                   "categories), or empty: Daily Papers when the day has any, as on the page")
VIEW_TITLES = {"daily": "Daily Papers", "all": "All new papers"}


def _requested_view(view: str | None) -> str:
    try:
        return parse_view(view)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _period_feed(request: Request, session: Session, period: Period, fmt: str, self_path: str,
                 view: str | None) -> Response:
    requested = _requested_view(view)
    listing = load_listing(session, listing_cache(request), period, page_no=1, per_page=FEED_SIZE, view=requested,
                           categories=request.app.state.settings.instance_categories)
    if requested != AUTO:
        self_path += "?" + urlencode({"view": requested})
    fg = _generator(request, f"{VIEW_TITLES[listing.view]}, {period.label}", period.path, self_path,
                    f"The most upvoted papers of {period.label}.")
    _add_papers(fg, request, [(e.paper, e.day, e.upvotes) for e in listing.page.entries], period.end)
    return _respond(request, fg, fmt, listing.version)


@router.get("/latest.{fmt}", summary="The latest day's papers", response_class=Response,
            responses=FEED_RESPONSES)
def latest_feed(request: Request, fmt: str, session: SessionDep, view: str | None = VIEW_QUERY):
    period = period_of("date", latest_day(session) or today(request))
    return _period_feed(request, session, period, _check_format(fmt), f"/feeds/latest.{fmt}", view)


@router.get("/date/{day}.{fmt}", summary="One day's papers", response_class=Response,
            responses=FEED_RESPONSES)
def day_feed(request: Request, day: str, fmt: str, session: SessionDep, view: str | None = VIEW_QUERY):
    period = parse_period("date", day)
    return _period_feed(request, session, period, _check_format(fmt), f"/feeds/date/{period.slug}.{fmt}", view)


@router.get("/trending.{fmt}", summary="Trending papers of the last week", response_class=Response,
            responses=FEED_RESPONSES)
def trending_feed(request: Request, fmt: str, session: SessionDep):
    _check_format(fmt)
    last = latest_day(session) or today(request)
    period = Period("date", last - timedelta(days=TRENDING_DAYS - 1), last)
    listing = load_listing(session, listing_cache(request), period, sort="trending", per_page=FEED_SIZE)
    fg = _generator(request, "Trending papers", "/", f"/feeds/trending.{fmt}",
                    f"The most upvoted papers of the {TRENDING_DAYS} days up to {last.isoformat()}.")
    _add_papers(fg, request, [(e.paper, e.day, e.upvotes) for e in listing.page.entries], last)
    return _respond(request, fg, fmt, listing.version)


@router.get("/search.{fmt}", summary="A saved search as a feed", response_class=Response,
            responses=FEED_RESPONSES)
def search_feed(request: Request, session: SessionDep, fmt: str, q: str = Query(..., min_length=1, max_length=500),
                mode: str = "hybrid", category: str | None = None):
    _check_format(fmt)
    results = search_in(session, request.app.state.settings, q, limit=FEED_SIZE, mode=mode, category=category)
    query = urlencode({"q": q})
    fg = _generator(request, f"Search: {q}", f"/search?{query}", f"/feeds/search.{fmt}?{query}",
                    f"Papers matching “{q}”, most relevant first.")
    _add_papers(fg, request, [(hit.paper, None, None) for hit in results.hits], today(request))
    version = [(h.paper.id, h.paper.change_seq) for h in results.hits]
    return _respond(request, fg, fmt, version)
