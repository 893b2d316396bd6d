"""Who is asking: session cookies for browsers, ``Authorization: Bearer`` tokens for the API.

Routes name the user with one of the aliases: ``OptionalUser`` (None when anonymous),
``CurrentUser`` (401, or a redirect to sign-in for pages) and
``AdminUser`` (403). A request that carries a Bearer header is
authenticated by that token only (cookies are ignored), needs the "read" scope for GET
and "write" for anything else, and is exempt from CSRF checks (browsers cannot attach
such a header cross-site without CORS, which this app does not allow).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from paperfeed.models import User
from paperfeed.accounts import session_user, token_user
from paperfeed.store.users import get_user
from paperfeed.web.csrf import bearer_credentials
from paperfeed.web.deps import SessionDep

SESSION_COOKIE = "pf_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class SignInRequired(HTTPException):
    def __init__(self, next_path: str = "/"):
        super().__init__(401, "Please sign in first.", headers={"X-Sign-In": f"/login?next={quote(next_path)}"})


def bearer_token(request: Request) -> str | None:
    """The Bearer token, "" for a Bearer header without one (rejected as an invalid token,
    never a fall-back to the session cookie: the CSRF check only skips real tokens)."""
    return bearer_credentials(request.headers.get("authorization", ""))


def is_https(request: Request) -> bool:
    settings = request.app.state.settings
    return settings.base_url.startswith("https://") or request.url.scheme == "https"


def resolve_user(request: Request, session: Session) -> User | None:
    """The signed-in user for this request (cached on request.state); raises 401/403 for a
    bad or under-scoped Bearer token."""
    if "user" in request.state._state:
        return request.state.user
    raw = bearer_token(request)
    if raw is not None:
        found = token_user(session, raw) if raw else None
        if found is None:
            raise HTTPException(401, "Invalid or revoked API token.", headers={"WWW-Authenticate": "Bearer"})
        user, token = found
        needed = "read" if request.method in SAFE_METHODS else "write"
        if needed not in token.scope_list:
            raise HTTPException(403, f"This token lacks the {needed!r} scope.")
        request.state.auth = "token"
    else:
        user = session_user(session, request.cookies.get(SESSION_COOKIE))
        request.state.auth = "session" if user else None
    request.state.user = user
    return user


def current_user(request: Request, session: SessionDep) -> User | None:
    return resolve_user(request, session)


OptionalUser = Annotated[User | None, Depends(current_user)]


def require_user(request: Request, user: OptionalUser) -> User:
    if user is None:
        raise SignInRequired(request.url.path)
    return user


CurrentUser = Annotated[User, Depends(require_user)]


def require_verified(user: CurrentUser) -> User:
    if not user.email_verified:
        raise HTTPException(403, "Please verify your email address first (see your account settings).")
    return user


def require_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise HTTPException(403, "Only administrators can do that.")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def page_viewer(request: Request, session: Session) -> User | None:
    """Who is reading a page, looked up with the request's own session (and cached for the
    templates' ``current_user``); a request with a Bearer token reads pages anonymously."""
    if "user" in request.state._state:
        return request.state.user
    if bearer_token(request) is not None:
        return None
    request.state.user = session_user(session, request.cookies.get(SESSION_COOKIE))
    return request.state.user


def template_user(request: Request) -> User | None:
    """For templates: the user a dependency already resolved, else a read-only look-up.

    An error page rendered after the request's transaction rolled back finds that user
    expired and detached; it is then read again in a short session of its own."""
    user = request.state._state.get("user", _UNSET)
    if user is not _UNSET and (user is None or not inspect(user).expired_attributes):
        return user
    if bearer_token(request) is not None and user is _UNSET:
        return None
    with request.app.state.db.sessions() as session:
        if user is _UNSET:
            user = session_user(session, request.cookies.get(SESSION_COOKIE))
        else:
            user = get_user(session, inspect(user).identity[0])
    request.state.user = user
    return user


_UNSET = object()


def set_session_cookie(response: Response, request: Request, raw: str) -> None:
    days = request.app.state.settings.session_days
    response.set_cookie(SESSION_COOKIE, raw, max_age=days * 86400, httponly=True, samesite="lax",
                        secure=is_https(request), path="/")


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=is_https(request), path="/")


def safe_next(value: str | None) -> str:
    """A same-site path to go back to after signing in; anything else becomes "/"."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or "\n" in value:
        return "/"
    return value
