"""Community routes: upvotes (htmx), submissions, comments, /papers/trending, moderation, and
their JSON API twins. ``install(app)`` wires CSRF, the rate limiter and template helpers."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from paperfeed.ingest.http import FetchError, PoliteClient
from paperfeed.records import MalformedRecord, parse_arxiv_reference
from paperfeed.models import Paper, User, utcnow
from paperfeed.store import comments as comment_store
from paperfeed.store import moderation
from paperfeed.store import users as user_store
from paperfeed.store import votes as vote_store
from paperfeed.store.comments import CommentError, NotAllowed
from paperfeed.store.papers import get_paper
from paperfeed.store.votes import SubmissionError
from paperfeed.web import accounts
from paperfeed.web.accounts import render
from paperfeed.web.clock import today
from paperfeed.web.auth import current_user, require_admin, require_user, template_user
from paperfeed.web.csrf import CSRFMiddleware, csrf_token
from paperfeed.web.deps import get_session
from paperfeed.links import paper_path
from paperfeed.web.params import MAX_ROW_ID, OptionalRowIdForm, RowId
from paperfeed.web.ratelimit import Limit, RateLimited, RateLimiter

router = APIRouter()
pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["community"])


def install(app) -> None:
    """CSRF middleware, the DB-backed rate limiter (clock injectable via app.state.clock),
    the injectable arXiv transport, and template helpers."""
    settings = app.state.settings
    app.add_middleware(CSRFMiddleware, key_source=settings.signing_key,
                       secure=settings.base_url.startswith("https://"))
    app.state.rate_limiter = RateLimiter(app.state.db, settings.rate_limit_window_seconds,
                                         clock=lambda: app.state.clock())
    if not hasattr(app.state, "arxiv_transport"):
        app.state.arxiv_transport = None  # tests put an httpx.MockTransport here
    env = app.state.templates.env
    env.globals["csrf_token"] = csrf_token
    env.globals["current_user"] = template_user
    env.globals["can_edit_quietly"] = lambda c: utcnow() - c.created_at <= timedelta(minutes=settings.comment_edit_minutes)


def viewer_votes(request: Request, session: Session, papers) -> frozenset[int]:
    """The viewer's upvotes among a page's papers, in one query (none for anonymous viewers)."""
    return frozenset(vote_store.voted_papers(session, template_user(request), [p.pk for p in papers]))


def _paper_or_404(session: Session, paper_id: str) -> Paper:
    paper = get_paper(session, paper_id)
    if paper is None:
        raise HTTPException(404, f"No paper with id {paper_id!r} on this instance.")
    return paper


# --- upvotes -----------------------------------------------------------------


@pages.post("/papers/{paper_id:path}/upvote", response_class=HTMLResponse)
def upvote(request: Request, paper_id: str, user: User | None = Depends(current_user),
           session: Session = Depends(get_session)):
    """Toggles the vote and answers with the re-rendered button (htmx swaps it in place)."""
    paper = _paper_or_404(session, paper_id)
    is_htmx = request.headers.get("hx-request") == "true"
    prompt = None
    if user is None:
        prompt = "signin"
    elif not user.email_verified:
        prompt = "verify"
    if prompt and not is_htmx:
        target = f"/login?next={quote(paper_path(paper.id))}" if prompt == "signin" else "/settings"
        return RedirectResponse(target, 303)
    if prompt:
        return render(request, "partials/upvote.html", {"paper": paper, "prompt": prompt,
                                                        "upvotes": vote_store.paper_upvotes(session, paper.pk)})
    state = vote_store.toggle_vote(session, user, paper)
    session.commit()  # before answering: a failed commit must be an error, not a lost vote
    if not is_htmx:
        return RedirectResponse(paper_path(paper.id), 303)
    return render(request, "partials/upvote.html", {"paper": paper, "upvotes": state.upvotes, "voted": state.voted})


# --- submissions -------------------------------------------------------------


@pages.get("/submit", response_class=HTMLResponse)
def submit_form(request: Request, user: User | None = Depends(current_user)):
    if user is None:
        return RedirectResponse("/login?next=/submit", 303)
    return render(request, "community/submit.html", {"window": request.app.state.settings.submission_window_days})


@pages.post("/submit", response_class=HTMLResponse)
def submit(request: Request, reference: str = Form(""), user: User | None = Depends(current_user),
           session: Session = Depends(get_session)):
    if user is None:
        return RedirectResponse("/login?next=/submit", 303)
    form = {"reference": reference, "window": request.app.state.settings.submission_window_days}
    try:
        paper = submit_reference(request, session, user, reference)
    except FetchBusy as exc:
        return render(request, "community/submit.html", {**form, "error": str(exc)}, status=exc.status,
                      headers={"Retry-After": str(exc.retry_after)})
    except (SubmissionError, MalformedRecord, PermissionError) as exc:
        return render(request, "community/submit.html", {**form, "error": str(exc)}, status=400)
    return RedirectResponse(f"{paper_path(paper.id)}?submitted=1", 303)


def submit_reference(request: Request, session: Session, user: User, reference: str) -> Paper:
    """Puts the paper a user pasted (id, abs/pdf URL, versioned or not) on today's page,
    fetching it from arXiv first when this instance does not have it.

    arXiv's polite gate can keep a fetch waiting for seconds, so no database connection is
    held meanwhile: the look-up's transaction ends before the fetch (which writes the
    paper in short transactions of its own), and the entry is written in a new one."""
    if not user.email_verified:
        raise PermissionError("Please verify your email address before submitting papers.")
    paper_id, _version = parse_arxiv_reference(reference)
    paper = get_paper(session, paper_id)
    if paper is None:
        session.commit()  # gives the request's connection back to the pool for the fetch
        _fetch_paper(request, user, paper_id)
        paper = get_paper(session, paper_id)
        if paper is None:
            raise SubmissionError(f"arXiv has no paper {paper_id}.")
    settings = request.app.state.settings
    vote_store.submit_entry(session, user, paper, today(request), settings.submission_window_days)
    session.commit()  # acknowledged only once stored
    return paper


ARXIV_FETCH_LEASE_SECONDS = 300  # a user's in-flight fetch stops counting after this (a process died)
ARXIV_FETCHES_PER_PROCESS = 4
ARXIV_FETCH_RETRY_AFTER = 5
_slots_lock = threading.Lock()


class FetchBusy(Exception):
    """No arXiv fetch for this submission now: the user already has one running (429), or
    this process runs as many as it will (503)."""

    def __init__(self, status: int, message: str, retry_after: int = ARXIV_FETCH_RETRY_AFTER):
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


def _fetch_paper(request: Request, user: User, paper_id: str) -> None:
    from paperfeed.ingest.fetch import fetch_arxiv_ids

    settings = request.app.state.settings
    with _fetch_slot(request, user):
        try:
            with PoliteClient(settings, transport=request.app.state.arxiv_transport) as client:
                fetch_arxiv_ids(request.app.state.db, settings, [paper_id], client=client)
        except FetchError as exc:
            raise SubmissionError(f"Could not fetch {paper_id} from arXiv right now ({exc}); "
                                  "try again later.") from None


@contextmanager
def _fetch_slot(request: Request, user: User) -> Iterator[None]:
    """One arXiv fetch in flight per user (counted in the database, so across workers and
    nodes; the count lapses after ARXIV_FETCH_LEASE_SECONDS if a process dies mid-fetch),
    and at most ARXIV_FETCHES_PER_PROCESS at once in this process, so waiting fetches
    cannot take every worker thread."""
    limiter, key = request.app.state.rate_limiter, f"submit:fetch:user:{user.pk}"
    try:
        reservation = limiter.acquire([Limit(key, 1, ARXIV_FETCH_LEASE_SECONDS)])
    except RateLimited:
        raise FetchBusy(429, "You already have a paper being fetched from arXiv; "
                             "submit the next one when it is done.") from None
    slots = _process_fetch_slots(request.app)
    if not slots.acquire(blocking=False):
        limiter.release(reservation, [key])
        raise FetchBusy(503, "Too many papers are being fetched from arXiv right now; try again shortly.")
    try:
        yield
    finally:
        slots.release()
        limiter.release(reservation, [key])


def _process_fetch_slots(app) -> threading.BoundedSemaphore:
    with _slots_lock:
        if getattr(app.state, "arxiv_fetch_slots", None) is None:
            app.state.arxiv_fetch_slots = threading.BoundedSemaphore(ARXIV_FETCHES_PER_PROCESS)
        return app.state.arxiv_fetch_slots


# --- comments ----------------------------------------------------------------


@pages.post("/papers/{paper_id:path}/comments", response_class=HTMLResponse)
def post_comment(request: Request, paper_id: str, body: str = Form(""), parent: OptionalRowIdForm = None,
                 user: User | None = Depends(current_user), session: Session = Depends(get_session)):
    paper = _paper_or_404(session, paper_id)
    if user is None:
        return RedirectResponse(f"/login?next={quote(paper_path(paper.id))}", 303)
    if not user.email_verified:
        raise HTTPException(403, "Please verify your email address before commenting.")
    comment = _add_limited_comment(request, session, user, paper, body, parent)
    return RedirectResponse(f"{paper_path(paper.id)}#c{comment.pk}", 303)


def _add_limited_comment(request: Request, session: Session, user: User, paper: Paper, body: str,
                         parent: int | None):
    """Adds and commits a comment, within the user's comment limit (a 429 beyond it); a
    comment refused as bad input does not count."""
    limiter, reservation, key = _count_comment(request, session, user)
    try:
        comment = comment_store.add_comment(session, user, paper, body, parent)
    except CommentError as exc:
        limiter.release(reservation, [key])
        raise HTTPException(400, str(exc)) from None
    session.commit()  # acknowledged only once stored
    return comment


def _count_comment(request: Request, session: Session, user: User):
    settings = request.app.state.settings
    key, window = f"comment:user:{user.pk}", settings.comment_limit_window_seconds
    limiter = request.app.state.rate_limiter
    session.commit()  # frees the request's pool connection while the limiter takes its own
    try:
        reservation = limiter.acquire([Limit(key, settings.comment_limit, window)])
    except RateLimited as exc:
        raise HTTPException(429, f"You are commenting too fast: at most {settings.comment_limit} comments in "
                                 f"{_span(window)}. Try again in {_span(exc.retry_after)}.",
                            headers={"Retry-After": str(exc.retry_after)}) from None
    return limiter, reservation, key


def _span(seconds: int) -> str:
    if seconds >= 120:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _own_comment_paper(session: Session, comment_pk: int) -> Paper:
    comment = comment_store.get_comment(session, comment_pk)
    if comment is None:
        raise HTTPException(404, "That comment is not there.")
    return session.get(Paper, comment.paper_pk)


@pages.get("/comments/{comment_pk}/edit", response_class=HTMLResponse)
def edit_comment_form(request: Request, comment_pk: RowId, user: User = Depends(require_user),
                      session: Session = Depends(get_session)):
    comment = comment_store.get_comment(session, comment_pk)
    if comment is None or not comment.visible or comment.user_pk != user.pk:
        raise HTTPException(404, "That comment is not there, or it is not yours.")
    return render(request, "community/edit_comment.html", {"comment": comment,
                                                           "paper": session.get(Paper, comment.paper_pk)})


@pages.post("/comments/{comment_pk}/edit")
def edit_comment(request: Request, comment_pk: RowId, body: str = Form(""), user: User = Depends(require_user),
                 session: Session = Depends(get_session)):
    paper = _own_comment_paper(session, comment_pk)
    try:
        comment_store.edit_comment(session, request.app.state.settings, user, comment_pk, body)
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except CommentError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"{paper_path(paper.id)}#c{comment_pk}", 303)


@pages.post("/comments/{comment_pk}/delete")
def delete_comment(comment_pk: RowId, user: User = Depends(require_user), session: Session = Depends(get_session)):
    paper = _own_comment_paper(session, comment_pk)
    try:
        comment_store.delete_comment(session, user, comment_pk)
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except CommentError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"{paper_path(paper.id)}#comments", 303)


# --- trending ----------------------------------------------------------------


@pages.get("/papers/trending", response_class=HTMLResponse)
def trending(request: Request, session: Session = Depends(get_session)):
    """What is rising now: the last seven days under the trending score (store/trending.py)."""
    from paperfeed.store.feed import latest_day, page_entries

    end = latest_day(session) or today(request)
    page = page_entries(session, end - timedelta(days=6), end, sort="trending", limit=30)
    return render(request, "community/trending.html", {
        "entries": page.entries, "start": end - timedelta(days=6), "end": end,
        "voted_pks": viewer_votes(request, session, [e.paper for e in page.entries])})


# --- moderation --------------------------------------------------------------


@pages.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, admin: User = Depends(require_admin), session: Session = Depends(get_session)):
    return render(request, "community/audit.html", {"rows": moderation.audit_entries(session),
                                                    "users": user_store.list_users(session, limit=200)})


@pages.post("/admin/entries/hide")
def hide_entry(paper_id: str = Form(""), day: date = Form(...), hidden: bool = Form(True),
               admin: User = Depends(require_admin), session: Session = Depends(get_session)):
    try:
        moderation.set_entry_hidden(session, admin, paper_id.strip(), day, hidden)
    except moderation.ModerationError as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse("/admin/audit", 303)


@pages.post("/admin/comments/{comment_pk}/hide")
def hide_comment(comment_pk: RowId, reason: str = Form(""), admin: User = Depends(require_admin),
                 session: Session = Depends(get_session)):
    try:
        comment = moderation.moderate_comment(session, admin, comment_pk, reason)
    except moderation.ModerationError as exc:
        raise HTTPException(404, str(exc)) from None
    paper = session.get(Paper, comment.paper_pk)
    return RedirectResponse(f"{paper_path(paper.id)}#comments", 303)


@pages.post("/admin/users/{username}/ban")
def ban(username: str, reason: str = Form(""), admin: User = Depends(require_admin),
        session: Session = Depends(get_session)):
    person = user_store.get_user_by_name(session, username)
    if person is None:
        raise HTTPException(404, "There is no such user.")
    try:
        moderation.ban_user(session, admin, person, reason)
    except moderation.ModerationError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse("/admin/audit", 303)


# --- JSON API ----------------------------------------------------------------


class CommentIn(BaseModel):
    body: str
    parent: int | None = Field(None, ge=1, le=MAX_ROW_ID)


class SubmitIn(BaseModel):
    reference: str


def _api_user(user: User = Depends(require_user)) -> User:
    if not user.email_verified:
        raise HTTPException(403, "Verify your email address first.")
    return user


@api.get("/me", summary="The account a token belongs to")
def me(user: User = Depends(require_user)):
    return {"username": user.username, "email_verified": user.email_verified, "is_admin": user.is_admin}


@api.post("/papers/{paper_id:path}/upvote", summary="Upvote a paper (idempotent)")
def api_upvote(paper_id: str, user: User = Depends(_api_user), session: Session = Depends(get_session)):
    state = vote_store.add_vote(session, user, _paper_or_404(session, paper_id))
    return {"voted": state.voted, "upvotes": state.upvotes}


@api.delete("/papers/{paper_id:path}/upvote", summary="Take back an upvote")
def api_unvote(paper_id: str, user: User = Depends(_api_user), session: Session = Depends(get_session)):
    state = vote_store.remove_vote(session, user, _paper_or_404(session, paper_id))
    return {"voted": state.voted, "upvotes": state.upvotes}


@api.post("/papers/{paper_id:path}/comments", summary="Comment on a paper", status_code=201)
def api_comment(request: Request, paper_id: str, data: CommentIn, user: User = Depends(_api_user),
                session: Session = Depends(get_session)):
    paper = _paper_or_404(session, paper_id)
    comment = _add_limited_comment(request, session, user, paper, data.body, data.parent)
    return {"id": comment.pk, "html": comment.body_html}


@api.post("/submit", summary="Put a paper on today's page", status_code=201)
def api_submit(request: Request, data: SubmitIn, user: User = Depends(_api_user),
               session: Session = Depends(get_session)):
    try:
        paper = submit_reference(request, session, user, data.reference)
    except FetchBusy as exc:
        raise HTTPException(exc.status, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    except (SubmissionError, MalformedRecord, PermissionError) as exc:
        raise HTTPException(400, str(exc)) from None
    return {"id": paper.id, "day": today(request).isoformat()}


router.include_router(accounts.router)
router.include_router(pages)
router.include_router(api)
