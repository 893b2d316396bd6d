"""Author pages (`/authors/{name}`: every paper by that name, newest first, with co-authors)
and following authors (signed in, CSRF, swapped in place by htmx)."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from paperfeed.links import author_path
from paperfeed.records.authors import MAX_NAME, author_key
from paperfeed.store import authors as author_store
from paperfeed.store.feed import activity_for, papers_version
from paperfeed.web.auth import CurrentUser, page_viewer, safe_next
from paperfeed.web.deps import SessionDep, render
from paperfeed.web.votes import viewer_votes

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
MAX_PAGE = 1000


@router.post("/authors/follow", response_class=HTMLResponse)
def follow(request: Request, user: CurrentUser, session: SessionDep, name: str = Form(..., max_length=MAX_NAME)):
    try:
        key = author_store.follow_author(session, user.pk, name)
    except author_store.FollowError as exc:
        raise HTTPException(409 if isinstance(exc, author_store.FollowLimit) else 404, str(exc)) from None
    session.commit()  # acknowledged only once it is stored
    return _follow_answer(request, name, key, following=True)


@router.post("/authors/unfollow", response_class=HTMLResponse)
def unfollow(request: Request, user: CurrentUser, session: SessionDep, name: str = Form(..., max_length=MAX_NAME),
             next: str | None = Form(None, max_length=200)):
    key = author_key(name)
    if key is None:
        raise HTTPException(400, "That is not an author's name.")
    author_store.unfollow_author(session, user.pk, name)
    session.commit()
    if next and request.headers.get("hx-request") != "true":  # from the list in Settings
        return RedirectResponse(safe_next(next), 303)
    return _follow_answer(request, name, key, following=False)


def _follow_answer(request: Request, name: str, key: str, following: bool):
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(author_path(name), 303)
    return render(request, "partials/follow_author.html", {"name": name, "key": key, "following": following})


def _cached_page(request: Request, session: Session, name: str, p: int):
    """The same author and page are the same answer until the change sequence moves."""
    cache = request.app.state.page_cache
    key = ("author", author_key(name), p, papers_version(session))
    hit = cache.get(key)
    if hit is None:
        hit = (author_store.author_page(session, name, limit=PER_PAGE, offset=(p - 1) * PER_PAGE),)
        cache.put(key, hit)
    return hit[0]


@router.get("/authors/{name:path}", response_class=HTMLResponse)
def author_page(request: Request, session: SessionDep, name: str, p: int = Query(1, ge=1, le=MAX_PAGE)):
    if len(name) > MAX_NAME or author_key(name) is None:
        raise HTTPException(400, "That is not an author's name.")
    page = _cached_page(request, session, name, p)
    if page is None:
        raise HTTPException(404, f"No papers by {name!r} on this instance.")
    pages = max(1, -(-page.total // PER_PAGE))
    if p > pages:
        raise HTTPException(404, f"Page {p} is past the last page ({pages}).")
    user = page_viewer(request, session)
    counts = activity_for(session, [paper.pk for paper in page.papers])
    return render(request, "authors.html", {
        "author": page, "name": name, "page_no": p, "pages": pages, "counts": counts,
        "voted_pks": viewer_votes(request, session, page.papers),
        "following": bool(user) and author_store.is_following(session, user.pk, page.key),
        "signed_in": user is not None})
