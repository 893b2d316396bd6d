"""Pages. For now one plain page: the latest (or ?date=) day's papers."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from paperfeed.store.feed import entries_between, latest_day
from paperfeed.web.deps import get_session, templates

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def daily(request: Request, date: str | None = None, session: Session = Depends(get_session)):
    day = _parse_day(date) if date else (latest_day(session) or _today())
    entries = entries_between(session, day, day, limit=200)
    return templates(request).TemplateResponse(request, "daily.html", {"day": day, "entries": entries})


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(status_code=400, detail=f"not a date: {value!r} (use YYYY-MM-DD)")


def _today() -> date:
    return date.today()
