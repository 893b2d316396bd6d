"""Request-scoped dependencies: one session per request, committed at the boundary."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.db.session() as session:
        yield session


def templates(request: Request):
    return request.app.state.templates
