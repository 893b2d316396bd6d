"""Reference-manager import from the browser: upload a library, get a private collection
and the list of references this instance does not have."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from paperfeed.ingest.library import MAX_FILE_BYTES, ImportReport, LibraryError, import_library
from paperfeed.models import User
from paperfeed.store.collections import CollectionError
from paperfeed.web.auth import current_user
from paperfeed.web.collections import page_path, status_of
from paperfeed.web.deps import get_session, render

router = APIRouter(include_in_schema=False)


def run_import(session: Session, user: User, upload: UploadFile, title: str) -> ImportReport:
    """The whole import in the request's one transaction; any error rolls all of it back."""
    data = upload.file.read(MAX_FILE_BYTES + 1)
    try:
        return import_library(session, user, data, filename=upload.filename or "", title=title)
    except LibraryError as exc:
        session.rollback()
        raise HTTPException(exc.status, str(exc)) from None
    except CollectionError as exc:
        session.rollback()
        raise HTTPException(status_of(exc), str(exc)) from None


@router.post("/collections/import", response_class=HTMLResponse)
def import_page(request: Request, file: UploadFile = File(...), title: str = Form("Imported library", max_length=1000),
                user: User | None = Depends(current_user), session: Session = Depends(get_session)):
    if user is None:
        return RedirectResponse("/login?next=/collections", 303)
    report = run_import(session, user, file, title)
    session.commit()  # before showing the result: the listed collection exists
    return render(request, "collections/import_result.html", {"report": report,
                                                              "path": page_path(report.collection)}, status=201)
