"""Reference-manager import from the browser: upload a library, get a private collection
and the list of references this instance does not have."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from paperfeed.ingest.library import MAX_FILE_BYTES, ImportReport, LibraryError, import_library
from paperfeed.models import User
from paperfeed.store.collections import CollectionError
from paperfeed.web.auth import OptionalUser
from paperfeed.web.clock import now
from paperfeed.web.collections import page_path, status_of
from paperfeed.web.deps import SessionDep, render

router = APIRouter(include_in_schema=False)


def run_import(request: Request, session: Session, user: User, upload: UploadFile, title: str) -> ImportReport:
    """The API's import: the whole of it in the request's one transaction."""
    data = upload.file.read(MAX_FILE_BYTES + 1)
    return import_bytes(session, user, data, upload.filename or "", title, now(request))


def import_bytes(session: Session, user: User, data: bytes, filename: str, title: str,
                 when: datetime) -> ImportReport:
    """Any error rolls all of it back and becomes a 4xx with the reason."""
    try:
        return import_library(session, user, data, filename=filename, title=title, now=when)
    except LibraryError as exc:
        session.rollback()
        raise HTTPException(exc.status, str(exc)) from None
    except CollectionError as exc:
        session.rollback()
        raise HTTPException(status_of(exc), str(exc)) from None


@router.post("/collections/import", response_class=HTMLResponse)
async def import_page(request: Request, user: OptionalUser, session: SessionDep):
    """The form is read here, after the sign-in check, so an anonymous POST gets the
    sign-in redirect whatever it sent."""
    if user is None:
        return RedirectResponse("/login?next=/collections", 303)
    form = await request.form(max_files=1, max_fields=10)
    upload, title = form.get("file"), form.get("title") or "Imported library"
    if not isinstance(upload, StarletteUpload) or not isinstance(title, str):
        raise HTTPException(400, "Choose a BibTeX, RIS or CSL-JSON file to import.")
    data = await upload.read(MAX_FILE_BYTES + 1)
    report = await run_in_threadpool(import_bytes, session, user, data, upload.filename or "", title[:1000],
                                    now(request))
    path = page_path(report.collection)  # read before the commit expires the rows
    await run_in_threadpool(session.commit)  # before showing the result: the listed collection exists
    # in a thread too: the committed rows are read again while the page renders
    return await run_in_threadpool(render, request, "collections/import_result.html",
                                   {"report": report, "path": path}, 201)
