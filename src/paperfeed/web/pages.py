"""HTML pages: daily/weekly/monthly listings, trending, paper pages and about."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from paperfeed.links import paper_path
from paperfeed.index.engine import engine_for
from paperfeed.rank.search import similar_in
from paperfeed.records import split_version
from paperfeed.store import comments as comment_store
from paperfeed.store.feed import (
    SORTS,
    EntryFilter,
    activity_for,
    entries_version,
    fetch_version,
    instance_stats,
    last_fetch_time,
    paper_activity,
    papers_version,
)
from paperfeed.store.papers import get_paper
from paperfeed.web.auth import page_viewer
from paperfeed.web.clock import today
from paperfeed.web.deps import SessionDep, listing_cache, paper_or_404, render, templates
from paperfeed.web.listing import AUTO, PER_PAGE, default_day, load_listing, parse_view
from paperfeed.web.periods import KINDS, Period, parse_period, period_of
from paperfeed.web.render import paper_as_markdown
from paperfeed.web.thumbnails import page_thumbnail
from paperfeed.web.votes import viewer_hidden, viewer_votes

router = APIRouter(include_in_schema=False)
SEARCH_PER_PAGE = 20
MAX_PAGE = 10_000


def _filters(category: str | None, code: bool) -> EntryFilter:
    return EntryFilter(category=(category or "").strip() or None, has_code=code)


def _sort(value: str) -> str:
    if value not in SORTS:
        raise HTTPException(400, f"unknown sort {value!r}; use trending or newest")
    return value


def _view(value: str | None) -> str:
    try:
        return parse_view(value)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _render_listing(request: Request, session: Session, period: Period, sort: str, category: str | None,
                    code: bool, p: int, view: str | None = None, is_home: bool = False):
    requested = _view(view)
    listing = load_listing(session, listing_cache(request), period, sort=_sort(sort),
                           filters=_filters(category, code), page_no=p, per_page=PER_PAGE, view=requested,
                           categories=request.app.state.settings.instance_categories)
    context = {"listing": listing, "period": period, "is_home": is_home, "kinds": KINDS,
               "view_param": None if requested == AUTO else requested,
               "tabs": {kind: period_of(kind, period.start) for kind in KINDS},
               "cards_html": _cards_html(request, session, listing)}
    return render(request, "daily.html", context)


def _cards_html(request: Request, session: Session, listing) -> Markup:
    # the listing object is itself cached per data version, so its identity is the key
    votes = viewer_votes(request, session, [e.paper for e in listing.page.entries])
    hidden = viewer_hidden(request, session, [e.paper for e in listing.page.entries])
    viewer = page_viewer(request, session)
    return _shared_fragment(request, ("cards", id(listing)), "partials/listing_cards.html",
                            {"listing": listing, "voted_pks": votes, "hidden_pks": hidden,
                             "can_feature": bool(viewer and viewer.is_admin),
                             "here": request.url.path + (f"?{request.url.query}" if request.url.query else "")},
                            owner=listing)


def _shared_fragment(request: Request, key: tuple, template: str, context: dict, owner=None) -> Markup:
    """A fragment of cards, rendered once per ``key`` for every anonymous viewer.

    Only the upvote buttons differ between viewers (a signed-in user's own votes), so
    signed-in viewers always get a fresh render."""
    env = templates(request).env
    current_user = env.globals.get("current_user")
    anonymous = current_user is None or current_user(request) is None
    cache = request.app.state.page_cache
    if anonymous:
        cached = cache.get(key)
        if cached is not None and cached[0] is owner:  # an id() can be reused once its owner is gone
            return cached[1]
    html = Markup(env.get_template(template).render({"request": request, **context}))
    if anonymous:
        cache.put(key, (owner, html))
    return html


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, sort: str = "trending", category: str | None = None,
         code: bool = False, p: int = Query(1, ge=1, le=MAX_PAGE), view: str | None = None):
    period = period_of("date", default_day(request, session))
    return _render_listing(request, session, period, sort, category, code, p, view, is_home=True)


@router.get("/papers/trending", response_class=HTMLResponse)
def trending(request: Request, session: SessionDep):
    """What is rising now: the last seven days under the trending score (store/trending.py)."""
    from paperfeed.store.feed import latest_day, page_entries

    end = latest_day(session) or today(request)
    page = page_entries(session, end - timedelta(days=6), end, sort="trending", limit=30)
    return render(request, "community/trending.html", {
        "entries": page.entries, "start": end - timedelta(days=6), "end": end,
        "voted_pks": viewer_votes(request, session, [e.paper for e in page.entries])})


@router.get("/papers/{paper_id:path}.md", include_in_schema=False)
def paper_markdown(paper_id: str, session: SessionDep):
    """The paper as Markdown (HF's ``read_paper``, ``hf papers read``)."""
    paper = paper_or_404(session, paper_id)
    return Response(paper_as_markdown(paper), media_type="text/markdown; charset=utf-8")


@router.get("/papers/{kind}/{slug}", response_class=HTMLResponse)
def listing_page(request: Request, kind: str, slug: str, session: SessionDep, sort: str = "trending",
                 category: str | None = None, code: bool = False, p: int = Query(1, ge=1, le=MAX_PAGE),
                 view: str | None = None):
    if kind not in KINDS:
        return paper_page(request=request, paper_id=f"{kind}/{slug}", session=session)
    return _render_listing(request, session, parse_period(kind, slug), sort, category, code, p, view)


@router.get("/papers/{paper_id:path}", response_class=HTMLResponse)
def paper_page(request: Request, paper_id: str, session: SessionDep):
    paper = get_paper(session, paper_id)
    if paper is None:
        base, version = split_version(paper_id)
        if version is not None and get_paper(session, base) is not None:
            return RedirectResponse(paper_path(base), status_code=301)
        raise HTTPException(404, f"No paper with id {paper_id!r} on this instance.")
    activity = paper_activity(session, paper)
    hits = _similar(request, session, paper)
    similar_counts = activity_for(session, [h.paper.pk for h in hits])
    fingerprint = ("similar-html", paper.id, tuple((h.paper.pk, similar_counts[h.paper.pk].upvotes,
                                                    similar_counts[h.paper.pk].num_comments,
                                                    h.paper.keywords_stamp) for h in hits))
    votes = viewer_votes(request, session, [paper, *(h.paper for h in hits)])
    similar_html = _shared_fragment(request, fingerprint, "partials/similar_cards.html",
                                    {"similar": hits, "similar_counts": similar_counts, "voted_pks": votes})
    context = {"paper": paper, "activity": activity, "similar_html": similar_html, "upvotes": activity.upvotes,
               "voted": paper.pk in votes, "thread": comment_store.thread(session, paper.pk),
               "thumb": page_thumbnail(request, session, paper)}
    return render(request, "paper.html", context)


def _similar(request: Request, session: Session, paper):
    """Neighbours change only when the paper or the indexes do: the key holds the paper's
    change number and the index generations in use (never a clock)."""
    settings = request.app.state.settings
    engine = engine_for(settings)
    indexes = (engine.snapshot(), engine.keyword())
    cache = request.app.state.page_cache
    key = ("similar", paper.id, paper.change_seq, *map(id, indexes))
    hit = cache.get(key)
    if hit is not None and hit[0] == indexes:  # an id() can be reused once its object is gone
        return hit[1]
    hits = similar_in(session, settings, paper.id, k=6)
    cache.put(key, (indexes, hits))
    return hits


@router.get("/about", response_class=HTMLResponse)
def about(request: Request, session: SessionDep):
    cache = request.app.state.page_cache
    key = ("about", papers_version(session), entries_version(session), fetch_version(session))
    stats = cache.get(key)
    if stats is None:
        stats = instance_stats(session)
        cache.put(key, stats)
    from paperfeed.store.jobs import job_statuses

    context = {"stats": stats, "last_fetch": last_fetch_time(stats), "jobs": job_statuses(session)}
    return render(request, "about.html", context)
