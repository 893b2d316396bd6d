"""Comments on paper pages: post (rate-limited), edit, delete."""

from __future__ import annotations

import math
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from paperfeed.links import paper_path
from paperfeed.models import Paper, User
from paperfeed.store import comments as comment_store
from paperfeed.store.comments import CommentError, NotAllowed
from paperfeed.web.auth import CurrentUser, OptionalUser
from paperfeed.store.papers import get_paper_by_pk
from paperfeed.web.deps import SessionDep, paper_or_404, render
from paperfeed.web.params import OptionalRowIdForm, RowId
from paperfeed.web.ratelimit import Limit, RateLimited

router = APIRouter(include_in_schema=False)


@router.post("/papers/{paper_id:path}/comments", response_class=HTMLResponse)
def post_comment(request: Request, paper_id: str, user: OptionalUser, session: SessionDep, body: str = Form(""),
                 parent: OptionalRowIdForm = None):
    paper = paper_or_404(session, paper_id)
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
    return get_paper_by_pk(session, comment.paper_pk)


@router.get("/comments/{comment_pk}/edit", response_class=HTMLResponse)
def edit_comment_form(request: Request, comment_pk: RowId, user: CurrentUser, session: SessionDep):
    comment = comment_store.get_comment(session, comment_pk)
    if comment is None or not comment.visible or comment.user_pk != user.pk:
        raise HTTPException(404, "That comment is not there, or it is not yours.")
    return render(request, "community/edit_comment.html", {"comment": comment,
                                                           "paper": get_paper_by_pk(session, comment.paper_pk)})


@router.post("/comments/{comment_pk}/edit")
def edit_comment(request: Request, comment_pk: RowId, user: CurrentUser, session: SessionDep, body: str = Form("")):
    paper = _own_comment_paper(session, comment_pk)
    try:
        comment_store.edit_comment(session, request.app.state.settings, user, comment_pk, body)
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except CommentError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"{paper_path(paper.id)}#c{comment_pk}", 303)


@router.post("/comments/{comment_pk}/delete")
def delete_comment(comment_pk: RowId, user: CurrentUser, session: SessionDep):
    paper = _own_comment_paper(session, comment_pk)
    try:
        comment_store.delete_comment(session, user, comment_pk)
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except CommentError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"{paper_path(paper.id)}#comments", 303)


