"""The collections API: list, create, rename, delete; add, annotate and remove papers;
export; import a reference-manager library. Token or session auth (auth.py); a session's
writes carry the CSRF header like every other POST.

Private collections answer 404 to everyone but their owner, and notes and reading states
appear only in the owner's answers.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from paperfeed.store import collections as store
from paperfeed.store.feed import activity_for
from paperfeed.web.api import BEARER
from paperfeed.web.api_models import answers, errors
from paperfeed.web.auth import CurrentUser, OptionalUser
from paperfeed.web.clock import now
from paperfeed.web.collection_export import API_FORMATS, FORMATS, as_json, render_export, summary
from paperfeed.web.collections import owned, status_of, visible
from paperfeed.web.collections_models import (
    CollectionDetail,
    CollectionIn,
    CollectionItemOut,
    CollectionPatch,
    CollectionSummary,
    ImportOut,
    ItemIn,
)
from paperfeed.web.deps import SessionDep, paper_or_404
from paperfeed.web.render import iso_z

router = APIRouter(prefix="/api", tags=["collections"], dependencies=[Depends(BEARER)])
EXPORT_RESPONSES = {200: {"description": "BibTeX, RIS or JSON", "content": {
    "application/x-bibtex": {"schema": {"type": "string"}},
    "application/x-research-info-systems": {"schema": {"type": "string"}},
    "application/json": {"schema": {"$ref": "#/components/schemas/CollectionDetail"}}}},
    **errors(400, 401, 403, 404, 422)}


def _base(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def _refuse(session: Session, exc: store.CollectionError):
    session.rollback()
    raise HTTPException(status_of(exc), str(exc)) from None


def _item_out(paper_id: str, item) -> dict:
    return {"id": paper_id, "note": item.note, "state": item.state, "addedAt": iso_z(item.added_at)}


@router.get("/me/collections", summary="Your collections, private ones included", response_model=None,
            responses=answers(list[CollectionSummary], 401, 403))
def my_collections(request: Request, user: CurrentUser, session: SessionDep):
    return [summary(v, _base(request)) for v in store.user_collections(session, user, user)]


@router.get("/users/{username}/collections", summary="A user's public collections", response_model=None,
            responses=answers(list[CollectionSummary], 404, 422))
def user_collections(request: Request, viewer: OptionalUser, session: SessionDep, username: str):
    person = store.find_owner(session, username)
    if person is None:
        raise HTTPException(404, f"no user {username!r}")
    return [summary(v, _base(request)) for v in store.user_collections(session, person, viewer)]


@router.post("/collections", summary="Create a collection", status_code=201, response_model=None,
             responses=answers(CollectionSummary, 400, 401, 403, 409, 422, status=201))
def create(request: Request, user: CurrentUser, session: SessionDep, data: CollectionIn):
    try:
        collection = store.create_collection(session, user, data.title, visibility=data.visibility,
                                             description=data.description, slug=data.slug, now=now(request))
    except store.CollectionError as exc:
        _refuse(session, exc)
    return summary(store.CollectionView(collection, user), _base(request))


@router.get("/collections/{owner}/{slug}", summary="A collection and its papers", response_model=None,
            responses=answers(CollectionDetail, 401, 404, 422))
def detail(request: Request, viewer: OptionalUser, session: SessionDep, owner: str, slug: str):
    view = visible(session, owner, slug, viewer)
    items = store.collection_items(session, view.collection)
    counts = activity_for(session, [p.pk for _, p in items])
    return as_json(view, items, store.viewer_owns(view.collection, viewer), _base(request), counts)


@router.patch("/collections/{owner}/{slug}", summary="Rename, re-describe, change visibility or address",
              response_model=None, responses=answers(CollectionSummary, 400, 401, 403, 404, 409, 422))
def edit(request: Request, user: CurrentUser, session: SessionDep, owner: str, slug: str, data: CollectionPatch):
    view = owned(session, owner, slug, user)
    try:
        store.update_collection(session, view.collection, title=data.title, description=data.description,
                                visibility=data.visibility, slug=data.slug, now=now(request))
    except store.CollectionError as exc:
        _refuse(session, exc)
    view.count = store.item_count(session, view.collection.pk)
    return summary(view, _base(request))


@router.delete("/collections/{owner}/{slug}", summary="Delete a collection", status_code=204,
               response_class=Response, responses=errors(401, 403, 404, 422))
def delete(user: CurrentUser, session: SessionDep, owner: str, slug: str):
    store.delete_collection(session, owned(session, owner, slug, user).collection)
    return Response(status_code=204)


@router.get("/collections/{owner}/{slug}/export", summary="Export as BibTeX, RIS or JSON",
            response_class=Response, responses=EXPORT_RESPONSES)
def export(request: Request, viewer: OptionalUser, session: SessionDep, owner: str, slug: str,
           format: str = Query("bibtex", json_schema_extra={"enum": list(API_FORMATS)})):
    if format not in API_FORMATS:
        raise HTTPException(400, f"unknown format {format!r}; use bibtex, ris or json")
    fmt = API_FORMATS[format]
    view = visible(session, owner, slug, viewer)
    items = store.collection_items(session, view.collection)
    counts = activity_for(session, [p.pk for _, p in items]) if fmt == "json" else {}
    body = render_export(fmt, view, items, store.viewer_owns(view.collection, viewer), _base(request), counts)
    return Response(body, media_type=FORMATS[fmt])


@router.put("/collections/{owner}/{slug}/papers/{paper_id:path}", summary="Add a paper (idempotent)",
            response_model=None, responses=answers(CollectionItemOut, 400, 401, 403, 404, 409, 422))
def add(request: Request, user: CurrentUser, session: SessionDep, owner: str, slug: str, paper_id: str,
        data: ItemIn | None = None):
    view = owned(session, owner, slug, user)
    paper = paper_or_404(session, paper_id)
    data = data or ItemIn()
    try:
        item = store.add_paper(session, view.collection, paper, now=now(request))
        if data.note is not None or data.state is not None:
            item = store.update_item(session, view.collection, paper, note=data.note, state=data.state,
                                     now=now(request))
    except store.CollectionError as exc:
        _refuse(session, exc)
    return _item_out(paper.id, item)


@router.patch("/collections/{owner}/{slug}/papers/{paper_id:path}", summary="Set a paper's note or reading state",
              response_model=None, responses=answers(CollectionItemOut, 400, 401, 403, 404, 422))
def annotate(request: Request, user: CurrentUser, session: SessionDep, owner: str, slug: str, paper_id: str,
             data: ItemIn):
    view = owned(session, owner, slug, user)
    paper = paper_or_404(session, paper_id)
    try:
        item = store.update_item(session, view.collection, paper, note=data.note, state=data.state,
                                 now=now(request))
    except store.CollectionError as exc:
        _refuse(session, exc)
    return _item_out(paper.id, item)


@router.delete("/collections/{owner}/{slug}/papers/{paper_id:path}", summary="Remove a paper", status_code=204,
               response_class=Response, responses=errors(401, 403, 404, 422))
def remove(request: Request, user: CurrentUser, session: SessionDep, owner: str, slug: str, paper_id: str):
    view = owned(session, owner, slug, user)
    if not store.remove_paper(session, view.collection, paper_or_404(session, paper_id), now(request)):
        raise HTTPException(404, f"paper {paper_id!r} is not in this collection")
    return Response(status_code=204)


@router.post("/me/library-import", summary="Import a BibTeX, RIS or CSL-JSON library as a private collection",
             status_code=201, response_model=None, responses=answers(ImportOut, 400, 401, 403, 409, 413, 422,
                                                                       status=201))
def library_import(request: Request, user: CurrentUser, session: SessionDep, file: UploadFile = File(...),
                   title: str = Form("Imported library")):
    from paperfeed.web.library_import import run_import

    report = run_import(request, session, user, file, title)
    return import_body(report, _base(request))


def import_body(report, base: str) -> dict:
    return {"collection": summary(report.collection, base), "references": report.total, "added": report.added,
            "matched": report.matched, "unmatched": report.unmatched}
