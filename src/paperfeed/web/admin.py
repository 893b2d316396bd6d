"""Moderation: hide entries and comments, ban users, and the audit log of every such action."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from paperfeed.links import paper_path
from paperfeed.store import moderation
from paperfeed.store import users as user_store
from paperfeed.web.auth import AdminUser
from paperfeed.store.papers import get_paper_by_pk
from paperfeed.web.deps import SessionDep, render
from paperfeed.web.params import RowId

router = APIRouter(include_in_schema=False)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, admin: AdminUser, session: SessionDep):
    return render(request, "community/audit.html", {"rows": moderation.audit_entries(session),
                                                    "users": user_store.list_users(session, limit=200)})


@router.post("/admin/entries/hide")
def hide_entry(admin: AdminUser, session: SessionDep, paper_id: str = Form(""), day: date = Form(...),
               hidden: bool = Form(True)):
    try:
        moderation.set_entry_hidden(session, admin, paper_id.strip(), day, hidden)
    except moderation.ModerationError as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse("/admin/audit", 303)


@router.post("/admin/comments/{comment_pk}/hide")
def hide_comment(comment_pk: RowId, admin: AdminUser, session: SessionDep, reason: str = Form("")):
    try:
        comment = moderation.moderate_comment(session, admin, comment_pk, reason)
    except moderation.ModerationError as exc:
        raise HTTPException(404, str(exc)) from None
    paper = get_paper_by_pk(session, comment.paper_pk)
    return RedirectResponse(f"{paper_path(paper.id)}#comments", 303)


@router.post("/admin/users/{username}/ban")
def ban(username: str, admin: AdminUser, session: SessionDep, reason: str = Form("")):
    person = user_store.get_user_by_name(session, username)
    if person is None:
        raise HTTPException(404, "There is no such user.")
    try:
        moderation.ban_user(session, admin, person, reason)
    except moderation.ModerationError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse("/admin/audit", 303)


