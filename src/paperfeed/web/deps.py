"""Request-scoped dependencies and the small HTTP helpers routes share."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work, committed by ``commit_before_response``.

    A yield dependency's exit code runs after the response has been sent (FastAPI's
    "request" scope), too late to turn a failed commit into an error; here it only closes
    the session, rolling back whatever a failed route left behind.
    """
    with request.app.state.db.sessions() as session:
        request.state.db_session = session
        yield session


# The one way a route gets the request's session: ``session: SessionDep``.
SessionDep = Annotated[Session, Depends(get_session)]


async def commit_before_response(request: Request) -> AsyncIterator[None]:
    """Commits the request's session once the route has returned, before its response is
    sent: a client acting on the response (following the sign-in redirect, say) finds the
    write, and a commit that fails raises, so the client gets a 5xx instead of a success."""
    yield
    session: Session | None = getattr(request.state, "db_session", None)
    if session is not None and session.in_transaction():
        await run_in_threadpool(session.commit)


# Function scope: its exit runs before the response goes out. Installed on the app, so
# every route commits this way without saying so.
COMMIT_BEFORE_RESPONSE = Depends(commit_before_response, scope="function")


def templates(request: Request):
    return request.app.state.templates


def listing_cache(request: Request):
    return request.app.state.listing_cache


def etag_for(*parts: object) -> str:
    digest = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=12).hexdigest()
    return f'W/"{digest}"'


def not_modified(request: Request, etag: str) -> Response | None:
    """A 304 when the client already holds this version (If-None-Match)."""
    wanted = request.headers.get("if-none-match", "")
    tags = {t.strip() for t in wanted.split(",")}
    if etag in tags or "*" in tags or etag.removeprefix("W/") in tags:
        return Response(status_code=304, headers={"ETag": etag})
    return None


def render(request: Request, name: str, context: dict | None = None, status: int = 200,
           headers: dict | None = None) -> HTMLResponse:
    return templates(request).TemplateResponse(request, name, context or {}, status_code=status, headers=headers)


def client_ip(request: Request) -> str:
    """The client's address (forwarded headers count only from trusted proxies: web/proxies.py)."""
    return request.client.host if request.client else "unknown"


def paper_or_404(session: Session, paper_id: str):
    from paperfeed.store.papers import get_paper

    paper = get_paper(session, paper_id)
    if paper is None:
        raise HTTPException(404, f"No paper with id {paper_id!r} on this instance.")
    return paper
