"""Admins feature papers onto a day's curated Daily Papers view (and take them off), audited."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import RedirectResponse

from paperfeed.store import moderation
from paperfeed.web.auth import AdminUser, safe_next
from paperfeed.web.deps import SessionDep

router = APIRouter(include_in_schema=False)


@router.post("/admin/entries/feature")
def feature_entry(admin: AdminUser, session: SessionDep, paper_id: str = Form("", max_length=128),
                  day: date = Form(...), featured: bool = Form(True),
                  next_path: str = Form("/admin/audit", alias="next", max_length=2000)):
    """From the audit page's form, or the Feature button admins see under each card."""
    try:
        moderation.set_entry_featured(session, admin, paper_id.strip(), day, featured)
    except moderation.ModerationError as exc:
        raise HTTPException(404, str(exc)) from None
    session.commit()  # acknowledged only once stored
    return RedirectResponse(safe_next(next_path), 303)
