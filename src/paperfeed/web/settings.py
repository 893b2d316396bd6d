"""The signed-in user's settings: password, email, privacy, API tokens, deleting the account."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from paperfeed.models import User
from paperfeed import accounts
from paperfeed.accounts import AccountError
from paperfeed.store import users as user_store
from paperfeed.store.authors import followed_authors
from paperfeed.web.accounts import NOTICES, send_verification, sign_in
from paperfeed.web.auth import OptionalUser, clear_session_cookie
from paperfeed.web.deps import SessionDep, render
from paperfeed.web.params import RowId

router = APIRouter(include_in_schema=False)


def _settings_page(request: Request, session: Session, user: User, status: int = 200, **extra) -> HTMLResponse:
    context = {"account": user, "tokens": user_store.list_api_tokens(session, user),
               "followed": [name for name, _ in followed_authors(session, user.pk)], **extra}
    return render(request, "community/settings.html", context, status=status)


def _signed_in(request: Request, user: User | None) -> RedirectResponse | None:
    if user is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return None


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, user: OptionalUser, session: SessionDep, notice: str = ""):
    return _signed_in(request, user) or _settings_page(request, session, user, notice=NOTICES.get(notice))


@router.post("/settings/password", response_class=HTMLResponse)
def change_password(request: Request, user: OptionalUser, session: SessionDep, current: str = Form(""),
                    new: str = Form("")):
    if redirect := _signed_in(request, user):
        return redirect
    try:
        accounts.change_password(session, request.app.state.settings, user, current, new)
    except AccountError as exc:
        return _settings_page(request, session, user, status=400, error=str(exc))
    response = RedirectResponse("/settings?notice=password", status_code=303)
    sign_in(request, response, session, user)
    return response


@router.post("/settings/email", response_class=HTMLResponse)
def change_email(request: Request, background: BackgroundTasks, user: OptionalUser, session: SessionDep,
                 password: str = Form(""), email: str = Form("")):
    if redirect := _signed_in(request, user):
        return redirect
    try:
        token = accounts.request_email_change(session, request.app.state.settings, user, password, email)
    except AccountError as exc:
        return _settings_page(request, session, user, status=400, error=str(exc))
    if token is not None:
        session.commit()
        send_verification(background, request, accounts.clean_email(email), token)
    return RedirectResponse("/settings?notice=email", status_code=303)


@router.post("/settings/verify")
def resend_verification(request: Request, background: BackgroundTasks, user: OptionalUser, session: SessionDep):
    if redirect := _signed_in(request, user):
        return redirect
    if not user.email_verified:
        token = accounts.issue_email_token(session, request.app.state.settings, user, "verify", user.email)
        session.commit()
        send_verification(background, request, user.email, token)
    return RedirectResponse("/settings?notice=verify-sent", status_code=303)


@router.post("/settings/privacy")
def change_privacy(request: Request, user: OptionalUser, session: SessionDep, upvotes_private: str = Form("")):
    if redirect := _signed_in(request, user):
        return redirect
    user_store.set_upvotes_private(session, user, upvotes_private == "on")
    return RedirectResponse("/settings?notice=privacy", status_code=303)


@router.post("/settings/tokens", response_class=HTMLResponse)
def create_token(request: Request, user: OptionalUser, session: SessionDep, name: str = Form(""),
                 scopes: list[str] = Form([])):
    if redirect := _signed_in(request, user):
        return redirect
    try:
        token, raw = accounts.create_api_token(session, user, name, scopes)
    except AccountError as exc:
        return _settings_page(request, session, user, status=400, error=str(exc))
    return _settings_page(request, session, user, new_token=raw, new_token_name=token.name)


@router.post("/settings/tokens/{token_pk}/revoke")
def revoke_token(request: Request, token_pk: RowId, user: OptionalUser, session: SessionDep):
    if redirect := _signed_in(request, user):
        return redirect
    user_store.revoke_api_token(session, user, token_pk)
    return RedirectResponse("/settings?notice=revoked", status_code=303)


@router.post("/settings/delete", response_class=HTMLResponse)
def delete_account(request: Request, user: OptionalUser, session: SessionDep, password: str = Form("")):
    if redirect := _signed_in(request, user):
        return redirect
    if accounts.authenticate(session, user.username, password) is None:
        return _settings_page(request, session, user, status=400, error="Your password is not right.")
    user_store.delete_account(session, user)
    response = RedirectResponse("/login?notice=deleted", status_code=303)
    clear_session_cookie(response, request)
    return response


