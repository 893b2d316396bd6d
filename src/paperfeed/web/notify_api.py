"""Saved searches in the JSON API and as feeds; reply notifications in the JSON API.

``/feeds/saved/<token>.rss`` needs no sign-in (feed readers cannot sign in): the token is a
random 128-bit name given only to the search's owner."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from paperfeed.models.notify import SavedSearch
from paperfeed.rank.search import search_in
from paperfeed.store import notifications as note_store
from paperfeed.store import saved_searches as search_store
from paperfeed.web.api import BEARER
from paperfeed.web.api_models import answers, errors
from paperfeed.web.auth import CurrentUser
from paperfeed.web.clock import today
from paperfeed.web.deps import SessionDep
from paperfeed.web.feeds import FEED_RESPONSES, FEED_SIZE, _add_papers, _check_format, _generator, _respond
from paperfeed.web.params import RowId

router = APIRouter(prefix="/api", tags=["notifications"], dependencies=[Depends(BEARER)])
feeds = APIRouter(prefix="/feeds", tags=["feeds"])


class SavedSearchIn(BaseModel):
    query: str = Field(min_length=1, max_length=500, description="as typed on the search page")
    name: str = Field("", max_length=100)
    mode: str = Field("hybrid", description="hybrid, keyword or semantic")
    category: str | None = Field(None, max_length=64, description="e.g. cs.LG, or cs for all of cs.*")
    since: date | None = None
    until: date | None = None
    alertEmail: bool = Field(False, description="mail new matches")
    alertWebhook: bool = Field(False, description="send new matches to the owner's webhooks")


class SavedSearchOut(BaseModel):
    id: int
    name: str
    query: str
    mode: str
    category: str | None
    since: date | None
    until: date | None
    alertEmail: bool
    alertWebhook: bool
    feedUrl: str = Field(description="the search's RSS feed (no sign-in needed; keep it private)")
    lastRunAt: datetime | None = Field(description="when new matches were last looked for (UTC)")
    lastMatches: int = Field(description="new matches found then")


class NotificationOut(BaseModel):
    id: int
    kind: str = Field(description="reply (to your comment) or submission (a comment on a paper you submitted)")
    author: str
    paperId: str
    paperTitle: str
    commentId: int
    createdAt: datetime
    unread: bool


def _out(request: Request, s: SavedSearch) -> dict:
    base = request.app.state.settings.base_url.rstrip("/")
    return {"id": s.pk, "name": s.name, "query": s.query, "mode": s.mode, "category": s.category,
            "since": s.since.isoformat() if s.since else None, "until": s.until.isoformat() if s.until else None,
            "alertEmail": s.alert_email, "alertWebhook": s.alert_webhook,
            "feedUrl": f"{base}/feeds/saved/{s.feed_token}.rss",
            "lastRunAt": s.last_run_at.isoformat() + "Z" if s.last_run_at else None, "lastMatches": s.last_matches}


@router.get("/saved-searches", summary="Your saved searches", response_model=None,
            responses=answers(list[SavedSearchOut], 401, 403))
def list_saved(request: Request, user: CurrentUser, session: SessionDep):
    return [_out(request, s) for s in search_store.list_searches(session, user.pk)]


@router.post("/saved-searches", summary="Save a search", status_code=201, response_model=None,
             responses=answers(SavedSearchOut, 400, 401, 403, 422, status=201))
def create_saved(request: Request, user: CurrentUser, session: SessionDep, data: SavedSearchIn):
    try:
        saved = search_store.save_search(session, user.pk, data.query, name=data.name, mode=data.mode,
                                         category=data.category, since=data.since, until=data.until,
                                         alert_email=data.alertEmail, alert_webhook=data.alertWebhook)
    except search_store.SavedSearchError as exc:
        raise HTTPException(400, str(exc)) from None
    return _out(request, saved)


@router.delete("/saved-searches/{search_id}", summary="Delete a saved search", status_code=204,
               response_class=Response, responses={204: {"description": "Deleted"}, **errors(401, 403, 404, 422)})
def delete_saved(user: CurrentUser, session: SessionDep, search_id: RowId):
    saved = search_store.get_search(session, search_id, user.pk)
    if saved is None:
        raise HTTPException(404, "No saved search with that id is yours.")
    search_store.delete_search(session, saved)
    return Response(status_code=204)


@router.get("/notifications", summary="Replies to your comments and comments on your submissions",
            response_model=None, responses=answers(list[NotificationOut], 401, 403))
def list_notifications(user: CurrentUser, session: SessionDep):
    return [{"id": n.pk, "kind": n.kind, "author": n.actor_name, "paperId": n.paper_id, "paperTitle": n.paper_title,
             "commentId": n.comment_pk, "createdAt": n.created_at.isoformat() + "Z", "unread": n.unread}
            for n in note_store.recent_notifications(session, user.pk)]


@feeds.get("/saved/{token}.{fmt}", summary="A saved search's feed, newest matches first", response_class=Response,
           responses=FEED_RESPONSES)
def saved_feed(request: Request, session: SessionDep, token: str, fmt: str):
    _check_format(fmt)
    saved = search_store.search_by_token(session, token)
    if saved is None:
        raise HTTPException(404, "No saved search has that feed.")
    results = search_in(session, request.app.state.settings, saved.query, limit=FEED_SIZE, mode=saved.mode, category=saved.category,
                     since=saved.since, until=saved.until, highlights=False)
    papers = sorted((h.paper for h in results.hits), key=lambda p: p.pk, reverse=True)
    fg = _generator(request, f"Saved search: {saved.name}", "/search", f"/feeds/saved/{token}.{fmt}",
                    f"Papers matching “{saved.query}”, newest first.")
    _add_papers(fg, request, [(p, None, None) for p in papers], today(request))
    return _respond(request, fg, fmt, [(p.id, p.change_seq) for p in papers])
