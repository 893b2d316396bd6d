"""Collection pages: /c/{owner} lists, /c/{owner}/{slug} pages and their exports and feed,
the Save menu on cards and paper pages (htmx swaps it in place), and the owner's forms.

Every write is a POST (CSRF-checked by the middleware) by the collection's owner; anyone
else gets 404 for a collection they may not see and 403 for one they may only read.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from paperfeed.links import paper_path
from paperfeed.models import User
from paperfeed.store import collection_follows as follows
from paperfeed.store import collections as store
from paperfeed.store.changes import current as current_seq
from paperfeed.store.feed import activity_for
from paperfeed.web.auth import CurrentUser, OptionalUser
from paperfeed.web.clock import now
from paperfeed.web.collection_export import FORMATS, collection_url, filename, render_export
from paperfeed.web.deps import SessionDep, etag_for, not_modified, paper_or_404, render

router = APIRouter(include_in_schema=False)
PAPER_ID_MAX = 128
FEED_SIZE = 50


def status_of(exc: store.CollectionError) -> int:
    if isinstance(exc, store.CollectionNotFound):
        return 404
    return 409 if isinstance(exc, store.CollectionConflict) else 400


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def visible(session: Session, owner: str, slug: str, viewer: User | None) -> store.CollectionView:
    try:
        return store.find_collection(session, owner, slug, viewer)
    except store.CollectionNotFound as exc:
        raise HTTPException(404, str(exc)) from None


def owned(session: Session, owner: str, slug: str, user: User | None) -> store.CollectionView:
    """The collection for a write by ``user``: 401 anonymous, 404 unseen, 403 someone else's."""
    if user is None:
        raise HTTPException(401, "Please sign in first.")
    view = visible(session, owner, slug, user)
    if not store.viewer_owns(view.collection, user):
        raise HTTPException(403, "Only the owner can change this collection.")
    return view


def page_path(view: store.CollectionView) -> str:
    return collection_url("", view)


def _base(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


# --- pages -------------------------------------------------------------------


@router.get("/collections")
def my_collections(user: OptionalUser):
    if user is None:
        return RedirectResponse("/login?next=/collections", 303)
    return RedirectResponse(f"/c/{quote(user.username, safe='')}", 303)


@router.get("/c/{owner}", response_class=HTMLResponse)
def owner_page(request: Request, user: OptionalUser, session: SessionDep, owner: str):
    person = store.find_owner(session, owner)
    if person is None:
        raise HTTPException(404, f"No user {owner!r} here.")
    views = store.user_collections(session, person, user)
    return render(request, "collections/owner.html", {
        "person": person, "views": views, "is_owner": user is not None and user.pk == person.pk,
        "limits": {"title": store.TITLE_MAX, "description": store.DESCRIPTION_MAX}})


@router.get("/c/{owner}/{slug}.{fmt}")
def export(request: Request, user: OptionalUser, session: SessionDep, owner: str, slug: str, fmt: str):
    """BibTeX (.bib), RIS (.ris), JSON (.json), or the RSS feed (.rss) of a public collection."""
    if fmt == "rss":
        return collection_feed(request, session, owner, slug)
    if fmt not in FORMATS:
        raise HTTPException(404, f"unknown export format {fmt!r}; use .bib, .ris, .json or .rss")
    view = visible(session, owner, slug, user)
    mine = store.viewer_owns(view.collection, user)
    etag = etag_for("collection-export", view.collection.pk, fmt, mine, current_seq(session))
    if cached := not_modified(request, etag):
        return cached
    items = store.collection_items(session, view.collection)
    counts = activity_for(session, [p.pk for _, p in items]) if fmt == "json" else {}
    body = render_export(fmt, view, items, mine, _base(request), counts)
    disposition = "inline" if fmt == "json" else f'attachment; filename="{filename(view, fmt)}"'
    return Response(body, media_type=FORMATS[fmt], headers={
        "ETag": etag, "Cache-Control": "private, no-cache" if mine else "no-cache",
        "Content-Disposition": disposition})


@router.get("/c/{owner}/{slug}", response_class=HTMLResponse)
def collection_page(request: Request, user: OptionalUser, session: SessionDep, owner: str, slug: str,
                    state: str | None = Query(None, max_length=16)):
    view = visible(session, owner, slug, user)
    mine = store.viewer_owns(view.collection, user)
    items = store.collection_items(session, view.collection)
    if state and mine:  # the reading list: only the owner knows what they have read
        items = [(i, p) for i, p in items if i.state == state]
    following = bool(user) and not mine and follows.is_following(session, user.pk, view.collection.pk)
    return render(request, "collections/collection.html", {
        "view": view, "items": items, "mine": mine, "path": page_path(view), "state": state,
        "signed_in": user is not None, "following": following,
        "limits": {"title": store.TITLE_MAX, "description": store.DESCRIPTION_MAX, "note": store.NOTE_MAX}},
        headers={"Cache-Control": "private, no-cache"} if mine else None)  # the owner's page carries notes


def collection_feed(request: Request, session: Session, owner: str, slug: str) -> Response:
    """RSS of a public collection: its papers as they were added, newest first. Feed
    readers carry no session, so only public collections have one."""
    from paperfeed.web.feeds import _add_papers, _generator, _respond

    view = visible(session, owner, slug, None)
    if view.collection.visibility != "public":
        raise HTTPException(404, "Only public collections have a feed.")
    path = page_path(view)
    c = view.collection
    fg = _generator(request, f"{c.title} ({view.owner.username})", path, f"{path}.rss",
                    c.description or f"Papers in {view.owner.username}'s collection {c.title}.")
    items = store.collection_items(session, c, limit=FEED_SIZE)
    _add_papers(fg, request, [(p, i.added_at.date(), None) for i, p in items], c.updated_at.date())
    return _respond(request, fg, "rss", ("collection", c.pk, current_seq(session)))


# --- the Save menu (cards and paper pages) ----------------------------------


def _menu(request: Request, session: Session, user: User | None, paper, error: str | None = None,
          status: int = 200) -> HTMLResponse:
    views = store.user_collections(session, user, user) if user else []
    holding = store.collections_holding(session, user, paper.pk) if user else set()
    return render(request, "collections/save_menu.html", {"paper": paper, "views": views, "holding": holding,
                                                          "error": error, "me": user}, status=status)


@router.get("/collections/menu", response_class=HTMLResponse)
def save_menu(request: Request, user: OptionalUser, session: SessionDep,
              paper: str = Query(..., min_length=1, max_length=PAPER_ID_MAX)):
    return _menu(request, session, user, paper_or_404(session, paper))


@router.post("/collections/toggle", response_class=HTMLResponse)
def toggle(request: Request, user: OptionalUser, session: SessionDep,
           collection: int = Form(..., ge=1, le=2**31 - 1),
           paper: str = Form(..., min_length=1, max_length=PAPER_ID_MAX)):
    found = paper_or_404(session, paper)
    if user is None:
        return _signin(request, session, found)
    try:
        store.toggle_paper(session, store.owned_collection(session, user, collection), found, now(request))
    except store.CollectionError as exc:
        session.rollback()
        return _menu(request, session, user, found, str(exc), status_of(exc))
    session.commit()  # before answering: the tick must mean it is saved
    return _after_menu_write(request, session, user, found)


@router.post("/collections/quick", response_class=HTMLResponse)
def quick_create(request: Request, user: OptionalUser, session: SessionDep, title: str = Form("", max_length=1000),
                 paper: str = Form(..., min_length=1, max_length=PAPER_ID_MAX)):
    """A new private collection holding this paper, from the Save menu."""
    found = paper_or_404(session, paper)
    if user is None:
        return _signin(request, session, found)
    try:
        store.add_paper(session, store.create_collection(session, user, title, now=now(request)), found,
                        now=now(request))
    except store.CollectionError as exc:
        session.rollback()
        return _menu(request, session, user, found, str(exc), status_of(exc))
    session.commit()
    return _after_menu_write(request, session, user, found)


def _signin(request: Request, session: Session, paper):
    if is_htmx(request):
        return _menu(request, session, None, paper, status=401)
    return RedirectResponse(f"/login?next={quote(paper_path(paper.id))}", 303)


def _after_menu_write(request: Request, session: Session, user: User, paper):
    if is_htmx(request):
        return _menu(request, session, user, paper)
    return RedirectResponse(paper_path(paper.id), 303)


# --- the owner's forms -------------------------------------------------------


@router.post("/collections/new")
def create(request: Request, user: OptionalUser, session: SessionDep, title: str = Form("", max_length=1000),
           visibility: str = Form("private"), description: str = Form("", max_length=20_000)):
    if user is None:
        return RedirectResponse("/login?next=/collections", 303)
    try:
        collection = store.create_collection(session, user, title, visibility=visibility, description=description,
                                             now=now(request))
    except store.CollectionError as exc:
        raise HTTPException(status_of(exc), str(exc)) from None
    session.commit()
    return RedirectResponse(page_path(store.CollectionView(collection, user)), 303)


@router.post("/c/{owner}/{slug}/settings")
def edit(request: Request, user: OptionalUser, session: SessionDep, owner: str, slug: str,
         title: str = Form(None, max_length=1000), description: str = Form(None, max_length=20_000),
         visibility: str = Form(None, max_length=16), new_slug: str = Form(None, alias="slug", max_length=100)):
    view = owned(session, owner, slug, user)
    try:
        store.update_collection(session, view.collection, title=title, description=description,
                                visibility=visibility, slug=new_slug or None, now=now(request))
    except store.CollectionError as exc:
        raise HTTPException(status_of(exc), str(exc)) from None
    session.commit()
    return RedirectResponse(page_path(view), 303)


@router.post("/c/{owner}/{slug}/follow")
def follow(user: CurrentUser, session: SessionDep, owner: str, slug: str):
    """Follow someone's public or unlisted collection: its new papers reach your webhooks."""
    view = visible(session, owner, slug, user)
    try:
        follows.follow_collection(session, user, view.collection)
    except store.CollectionError as exc:
        raise HTTPException(status_of(exc), str(exc)) from None
    session.commit()
    return RedirectResponse(page_path(view), 303)


@router.post("/c/{owner}/{slug}/unfollow")
def unfollow(user: CurrentUser, session: SessionDep, owner: str, slug: str):
    view = visible(session, owner, slug, user)
    follows.unfollow_collection(session, user.pk, view.collection.pk)
    session.commit()
    return RedirectResponse(page_path(view), 303)


@router.post("/c/{owner}/{slug}/delete")
def remove_collection(user: OptionalUser, session: SessionDep, owner: str, slug: str):
    view = owned(session, owner, slug, user)
    store.delete_collection(session, view.collection)
    session.commit()
    return RedirectResponse(f"/c/{quote(view.owner.username, safe='')}", 303)


@router.post("/c/{owner}/{slug}/item", response_class=HTMLResponse)
def edit_item(request: Request, user: OptionalUser, session: SessionDep, owner: str, slug: str,
              paper: str = Form(..., min_length=1, max_length=PAPER_ID_MAX),
              note: str = Form(None, max_length=100_000), state: str = Form(None, max_length=16)):
    """The owner's note and reading state for one paper."""
    view = owned(session, owner, slug, user)
    found = paper_or_404(session, paper)
    try:
        item = store.update_item(session, view.collection, found, note=note, state=state, now=now(request))
    except store.CollectionError as exc:
        raise HTTPException(status_of(exc), str(exc)) from None
    session.commit()
    if not is_htmx(request):
        return RedirectResponse(page_path(view), 303)
    return render(request, "collections/item.html", {"view": view, "item": item, "paper": found, "mine": True,
                                                     "path": page_path(view), "saved": True,
                                                     "limits": {"note": store.NOTE_MAX}})


@router.post("/c/{owner}/{slug}/remove")
def remove_item(request: Request, user: OptionalUser, session: SessionDep, owner: str, slug: str,
                paper: str = Form(..., min_length=1, max_length=PAPER_ID_MAX)):
    view = owned(session, owner, slug, user)
    if not store.remove_paper(session, view.collection, paper_or_404(session, paper), now(request)):
        raise HTTPException(404, f"Paper {paper} is not in this collection.")
    session.commit()
    return RedirectResponse(page_path(view), 303)
