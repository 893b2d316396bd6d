"""Putting a paper on today's page: by id or URL, fetched from arXiv (politely, with no database
connection held) when the instance does not have it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from paperfeed.ingest.http import FetchError, PoliteClient
from paperfeed.links import paper_path
from paperfeed.models import Paper, User
from paperfeed.records import MalformedRecord, parse_arxiv_reference
from paperfeed.store import votes as vote_store
from paperfeed.store.papers import get_paper
from paperfeed.store.votes import SubmissionError
from paperfeed.web.auth import OptionalUser
from paperfeed.web.clock import today
from paperfeed.web.deps import SessionDep, render
from paperfeed.web.ratelimit import Limit, RateLimited

router = APIRouter(include_in_schema=False)


@router.get("/submit", response_class=HTMLResponse)
def submit_form(request: Request, user: OptionalUser):
    if user is None:
        return RedirectResponse("/login?next=/submit", 303)
    return render(request, "community/submit.html", {"window": request.app.state.settings.submission_window_days})


@router.post("/submit", response_class=HTMLResponse)
def submit(request: Request, user: OptionalUser, session: SessionDep, reference: str = Form("")):
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


