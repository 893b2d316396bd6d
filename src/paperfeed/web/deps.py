"""Request-scoped dependencies and the small HTTP helpers routes share."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from fastapi import Request, Response
from sqlalchemy.orm import Session


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.db.session() as session:
        yield session


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
