"""JSON API shaped like Hugging Face's Daily Papers API, so its clients work unchanged.

Same library calls as the pages. Errors are ``{"error": message}`` (see errors.py).
"""

from __future__ import annotations

from datetime import date
from email.utils import format_datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from paperfeed.links import safe_href, safe_hrefs
from paperfeed.models import DailyEntry, Paper, User
from paperfeed.rank.search import MODES, search_in
from paperfeed.records import MalformedRecord, split_version
from paperfeed.store import votes as vote_store
from paperfeed.store.feed import EntryFilter, PaperActivity, activity_for, paper_activity, recent_papers
from paperfeed.store.papers import get_paper
from paperfeed.store.thumbnails import thumb_infos
from paperfeed.store.users import get_user_by_name, usernames
from paperfeed.store.votes import SubmissionError
from paperfeed.web.api_models import (
    CommentOut,
    DailyItem,
    Me,
    PaperDetail,
    SearchItem,
    Submitted,
    VoteState,
    answers,
)
from paperfeed.web.auth import CurrentUser
from paperfeed.web.clock import today
from paperfeed.web.comments import _add_limited_comment
from paperfeed.web.deps import SessionDep, etag_for, listing_cache, not_modified, paper_or_404
from paperfeed.web.listing import MAX_PER_PAGE, VIEWS, PageOutOfRange, default_day, load_listing, parse_view
from paperfeed.web.params import MAX_ROW_ID
from paperfeed.web.periods import parse_period, period_of
from paperfeed.web.render import arxiv_links, as_utc, iso_z
from paperfeed.web.submissions import FetchBusy, submit_reference
from paperfeed.web.thumbnails import absolute_thumbnail_url

router = APIRouter(prefix="/api", tags=["api"])
# Declares the token scheme in the schema (the Authorize button of /docs); auth.py still
# does the checking, so auto_error=False leaves a missing header to its 401.
BEARER = HTTPBearer(auto_error=False, description="An API token from Settings → API tokens")
community = APIRouter(prefix="/api", tags=["community"], dependencies=[Depends(BEARER)])  # needs an account
SORT_ALIASES = {"trending": "trending", "publishedAt": "newest", "newest": "newest"}
# Documented as enums, checked in the route: a bad value keeps its 400 {"error": ...}.
SORTS = ["trending", "publishedAt"]


def paper_info(paper: Paper, upvotes: int, num_comments: int) -> dict:
    """HF's PaperInfo fields first, then paperfeed's extras (camelCase like HF's)."""
    abs_url, pdf_url = arxiv_links(paper)
    return {
        "id": paper.id,
        "title": paper.title,
        "summary": paper.abstract,
        "authors": [{"name": name} for name in paper.author_names],
        "publishedAt": iso_z(paper.submitted_at or paper.announced_on),
        "upvotes": upvotes,
        "numComments": num_comments,
        "githubRepo": safe_href(paper.code_url),  # clients put these in links: http(s) only
        "projectPage": safe_href(paper.project_page),
        "ai_summary": paper.extra.get("ai_summary"),
        "ai_keywords": paper.extra.get("ai_keywords") or [],
        "keywords": paper.keywords or [],  # extracted here (index/keyphrases.py); ai_keywords are HF's
        "categories": paper.category_list,
        "primaryCategory": paper.primary_category,
        "version": paper.version,
        "versions": paper.versions,
        "updatedAt": iso_z(paper.updated_at),
        "arxivUrl": abs_url,
        "pdfUrl": pdf_url,
        "codeUrls": safe_hrefs(paper.code_urls),
        "doi": paper.doi,
        "journalRef": paper.journal_ref,
        # not "comments": HF's client reads leftover keys over its own comment count
        "arxivComments": paper.comments,
        "withdrawn": paper.withdrawn,
    }


def daily_item(entry: DailyEntry, submitters: dict[int, str]) -> dict:
    """One /api/daily_papers item: {paper: PaperInfo, publishedAt, title, summary, numComments, ...}."""
    paper = entry.paper
    info = paper_info(paper, entry.upvotes, entry.num_comments)
    info["submittedOnDailyAt"] = iso_z(entry.day)
    item = {
        "paper": info,
        "publishedAt": iso_z(entry.day),
        "title": paper.title,
        "summary": paper.abstract,
        "numComments": entry.num_comments,
        "isAuthorParticipating": False,
        "source": entry.source,
        **_top_level(info),
    }
    submitter = submitters.get(entry.submitted_by)
    if submitter:  # HF's shape for who put the paper on the page
        item["submittedBy"] = info["submittedOnDailyBy"] = {"user": submitter, "name": submitter, "type": "user"}
    return item


def _top_level(info: dict) -> dict:
    """HF's client reads these at the top level of list items, not only inside ``paper``."""
    return {key: info[key] for key in ("githubRepo", "projectPage", "ai_summary", "ai_keywords", "keywords")}


def _period(request: Request, date_: str | None, week: str | None, month: str | None, session: Session):
    given = [(kind, value) for kind, value in (("date", date_), ("week", week), ("month", month)) if value]
    if len(given) > 1:
        raise HTTPException(400, "give at most one of date, week and month")
    if given:
        return parse_period(*given[0])
    return period_of("date", default_day(request, session))


@router.get("/daily_papers", summary="Papers of a day, week or month", response_model=None,
            responses=answers(list[DailyItem], 400, 404, 422))
def daily_papers(
    request: Request,
    session: SessionDep,
    date: str | None = Query(None, description="YYYY-MM-DD (default: the latest day with papers)"),
    week: str | None = Query(None, description="ISO week, YYYY-Www"),
    month: str | None = Query(None, description="YYYY-MM"),
    sort: str = Query("trending", description="trending (upvotes) or publishedAt (newest first)",
                      json_schema_extra={"enum": SORTS}),
    p: int = Query(0, ge=0, le=100_000, description="page number, from 0 as on HF"),
    limit: int = Query(50, ge=1, le=MAX_PER_PAGE),
    category: str | None = Query(None, description="e.g. cs.LG, or cs for every cs.* category"),
    has_code: bool = False,
    submitter: str | None = Query(None, max_length=64, description="only papers this user submitted here"),
    view: str | None = Query(None, description="daily: the curated Daily Papers (submitted, from HF, upvoted "
                             "or featured); all: every new paper in the instance's categories. Default: daily "
                             "when the period has any, else all (the X-View header says which)",
                             json_schema_extra={"enum": list(VIEWS)}),
):
    if sort not in SORT_ALIASES:
        raise HTTPException(400, f"unknown sort {sort!r}; use trending or publishedAt")
    try:
        requested = parse_view(view)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    period = _period(request, date, week, month, session)
    submitted_by = _submitter_pk(session, submitter)
    try:
        listing = load_listing(session, listing_cache(request), period, sort=SORT_ALIASES[sort],
                               filters=EntryFilter(category=category or None, has_code=has_code,
                                                   submitted_by=submitted_by),
                               page_no=p + 1, per_page=limit, view=requested,
                               categories=request.app.state.settings.instance_categories)
    except PageOutOfRange as exc:  # in the API's numbering: p counts from 0, like HF's
        raise HTTPException(404, f"p={p} is past the last page (p={exc.pages - 1}) of {exc.label}") from None
    etag = etag_for("daily", request.url.query, listing.version)
    cached = not_modified(request, etag)
    if cached:
        return cached
    submitters = usernames(session, [e.submitted_by for e in listing.page.entries])
    body = [{**daily_item(e, submitters),
             "thumbnail": absolute_thumbnail_url(request, e.paper.id, listing.thumbs.get(e.paper.pk))}
            for e in listing.page.entries]
    return JSONResponse(body, headers={"ETag": etag, "X-Total-Count": str(listing.page.total),
                                       "X-View": listing.view, "Cache-Control": "no-cache"})


def _submitter_pk(session: Session, username: str | None) -> int | None:
    """The pk to filter on; an unknown user submitted nothing (-1 matches no entry)."""
    if username is None:
        return None
    user = get_user_by_name(session, username)
    return user.pk if user else -1


@router.get("/papers/search", summary="Search every paper, ranked by relevance; without q, the newest papers",
            response_model=None, responses=answers(list[SearchItem], 400, 422))
def search_papers(
    request: Request,
    session: SessionDep,
    q: str = Query("", max_length=500),
    limit: int = Query(20, ge=1, le=MAX_PER_PAGE),
    offset: int = Query(0, ge=0, le=10_000),
    mode: str = Query("hybrid", description=" | ".join(MODES), json_schema_extra={"enum": list(MODES)}),
    category: str | None = None,
    since: date | None = None,
    until: date | None = None,
    exact: bool = Query(False, description="search the words as typed: no spelling corrections"),
):
    if not q.strip():  # HF's list_papers() with no query: recent papers
        return _recent(request, session, limit, offset)
    results = search_in(session, request.app.state.settings, q, limit=limit, offset=offset, mode=mode, category=category,
                        since=since, until=until, exact=exact)
    counts = activity_for(session, [h.paper.pk for h in results.hits])
    thumbs = thumb_infos(session, [h.paper.pk for h in results.hits])
    body = []
    for hit in results.hits:
        act = counts.get(hit.paper.pk, PaperActivity())
        info = paper_info(hit.paper, act.upvotes, act.num_comments)
        body.append({"paper": info, "title": hit.paper.title, "summary": hit.paper.abstract,
                     "publishedAt": info["publishedAt"], "numComments": act.num_comments,
                     "score": hit.score, "highlights": hit.highlights, **_top_level(info),
                     "thumbnail": absolute_thumbnail_url(request, hit.paper.id, thumbs.get(hit.paper.pk))})
    headers = {"X-Search-Mode": results.mode}
    if results.notice:
        headers["X-Search-Notice"] = results.notice.encode("ascii", "replace").decode()
    if results.corrected:  # corrections are ASCII words (index/spelling.py); the rest as typed
        headers["X-Search-Corrected"] = results.corrected.encode("ascii", "replace").decode()
    return JSONResponse(body, headers=headers)


def _recent(request: Request, session: Session, limit: int, offset: int) -> Response:
    papers = recent_papers(session, limit, offset)
    counts = activity_for(session, [p.pk for p in papers])
    thumbs = thumb_infos(session, [p.pk for p in papers])
    body = []
    for paper in papers:
        act = counts.get(paper.pk, PaperActivity())
        info = paper_info(paper, act.upvotes, act.num_comments)
        body.append({"paper": info, "title": paper.title, "summary": paper.abstract,
                     "publishedAt": info["publishedAt"], "numComments": act.num_comments, **_top_level(info),
                     "thumbnail": absolute_thumbnail_url(request, paper.id, thumbs.get(paper.pk))})
    return JSONResponse(body, headers={"X-Search-Mode": "recent"})


@router.get("/papers/{paper_id:path}", summary="One paper (PaperInfo); a versioned id (2401.00001v2) names the paper",
            response_model=None, responses=answers(PaperDetail, 404, 422))
def paper_detail(request: Request, paper_id: str, session: SessionDep):
    paper = get_paper(session, paper_id) or get_paper(session, _unversioned(paper_id))
    if paper is None:
        raise HTTPException(404, f"paper {paper_id!r} not found")
    activity = paper_activity(session, paper)
    thumb = thumb_infos(session, [paper.pk]).get(paper.pk)
    etag = etag_for("paper", paper.id, paper.change_seq, paper.keywords_stamp, activity.upvotes,
                    activity.num_comments, activity.days, thumb and thumb.etag)
    cached = not_modified(request, etag)
    if cached:
        return cached
    info = paper_info(paper, activity.upvotes, activity.num_comments)
    info["dailyDates"] = [d.isoformat() for d in activity.days]
    info["thumbnail"] = absolute_thumbnail_url(request, paper.id, thumb)
    if activity.days:  # HF's submitted_at: the (latest) day whose page lists it
        info["submittedOnDailyAt"] = iso_z(activity.days[-1])
    return JSONResponse(info, headers={"ETag": etag, "Cache-Control": "no-cache",
                                       "Last-Modified": _http_date(paper.changed_at)})


class JSONResponse(Response):
    """orjson-encoded: several times faster than json.dumps on a page of papers."""

    media_type = "application/json"

    def render(self, content) -> bytes:
        return orjson.dumps(content)


def _unversioned(paper_id: str) -> str:
    try:
        return split_version(paper_id)[0]
    except MalformedRecord:
        return paper_id


def _http_date(value) -> str:
    return format_datetime(as_utc(value), usegmt=True)


# --- JSON API ----------------------------------------------------------------


class CommentIn(BaseModel):
    body: str
    parent: int | None = Field(None, ge=1, le=MAX_ROW_ID)


class SubmitIn(BaseModel):
    reference: str


def _api_user(user: CurrentUser) -> User:
    if not user.email_verified:
        raise HTTPException(403, "Verify your email address first.")
    return user


ApiUser = Annotated[User, Depends(_api_user)]


@community.get("/me", summary="The account a token belongs to", response_model=None,
               responses=answers(Me, 401, 403))
def me(user: CurrentUser):
    return {"username": user.username, "email_verified": user.email_verified, "is_admin": user.is_admin}


@community.post("/papers/{paper_id:path}/upvote", summary="Upvote a paper (idempotent)", response_model=None,
                responses=answers(VoteState, 401, 403, 404, 422))
def api_upvote(paper_id: str, user: ApiUser, session: SessionDep):
    state = vote_store.add_vote(session, user, paper_or_404(session, paper_id))
    return {"voted": state.voted, "upvotes": state.upvotes}


@community.delete("/papers/{paper_id:path}/upvote", summary="Take back an upvote", response_model=None,
                  responses=answers(VoteState, 401, 403, 404, 422))
def api_unvote(paper_id: str, user: ApiUser, session: SessionDep):
    state = vote_store.remove_vote(session, user, paper_or_404(session, paper_id))
    return {"voted": state.voted, "upvotes": state.upvotes}


@community.post("/papers/{paper_id:path}/comments", summary="Comment on a paper", status_code=201,
                response_model=None, responses=answers(CommentOut, 400, 401, 403, 404, 422, 429, status=201))
def api_comment(request: Request, paper_id: str, data: CommentIn, user: ApiUser, session: SessionDep):
    paper = paper_or_404(session, paper_id)
    comment = _add_limited_comment(request, session, user, paper, data.body, data.parent)
    return {"id": comment.pk, "html": comment.body_html}


@community.post("/submit", summary="Put a paper on today's page", status_code=201, response_model=None,
                responses=answers(Submitted, 400, 401, 403, 422, 429, 503, status=201))
def api_submit(request: Request, data: SubmitIn, user: ApiUser, session: SessionDep):
    try:
        paper = submit_reference(request, session, user, data.reference)
    except FetchBusy as exc:
        raise HTTPException(exc.status, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    except (SubmissionError, MalformedRecord, PermissionError) as exc:
        raise HTTPException(400, str(exc)) from None
    return {"id": paper.id, "day": today(request).isoformat()}
