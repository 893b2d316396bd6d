"""Account pages: sign up, sign in/out, email verification, password reset, profiles.

Sign-up, sign-in and reset answer the same whether or not an address has an account:
sign-up always says "check your email" (an existing owner gets a "someone tried to sign
up" mail instead), sign-in says "wrong username/email or password" for both, and reset
always says "if an account uses that address, we sent a link".

Account mail is never sent inside a request: it goes out in a background task after the
response, once the database transaction that made its link has committed. A reset request
does no account look-up in the request at all (the task does it), so neither the answer
nor its timing tells whether an address has an account.
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from paperfeed import accounts
from paperfeed.accounts import AccountError, EmailTaken, TokenError
from paperfeed.accounts.mail import MailStatus, deliver, send_reset_link, signup_attempt_mail, verification_mail
from paperfeed.models import User
from paperfeed.store import comments as comment_store
from paperfeed.store import users as user_store
from paperfeed.store import votes as vote_store
from paperfeed.web.auth import SESSION_COOKIE, OptionalUser, clear_session_cookie, safe_next, set_session_cookie
from paperfeed.web.deps import SessionDep, client_ip, render
from paperfeed.web.ratelimit import Limit, RateLimited, Reservation

router = APIRouter(include_in_schema=False)

NOTICES = {
    "password": "Your password has been changed. Other browsers have been signed out.",
    "email": "If that address is free, we sent a confirmation link to it. Your email changes once you click it.",
    "privacy": "Your privacy setting has been saved.",
    "revoked": "The token has been revoked.",
    "verify-sent": "We sent you a new verification link.",
    "reset": "Your password has been reset. Sign in with the new one.",
    "deleted": "Your account has been deleted.",
}


def limiter(request: Request):
    return request.app.state.rate_limiter


def too_many(request: Request, exc: RateLimited, template: str, context: dict) -> HTMLResponse:
    return render(request, template, {**context, "error": str(exc)}, status=429,
                  headers={"Retry-After": str(exc.retry_after)})


def mail_status(app) -> MailStatus:
    if not hasattr(app.state, "mail_status"):
        app.state.mail_status = MailStatus()
    return app.state.mail_status


def deliver_later(background: BackgroundTasks, request: Request, to: str, mail: tuple[str, str]) -> None:
    """Sends after the response; the caller has committed whatever the mail refers to."""
    background.add_task(deliver, request.app.state.settings, to, *mail, mail_status(request.app))


def check_email_page(request: Request, address: str) -> HTMLResponse:
    """After sign-up. The mail goes out after this page, so it says "sending", and warns
    when the mail server refused the last one: then this one will most likely fail too."""
    return render(request, "community/check_email.html",
                  {"email": address, "mail_failing": mail_status(request.app).last_failed})


def link(request: Request, path: str) -> str:
    return request.app.state.settings.base_url.rstrip("/") + path


# --- sign up -----------------------------------------------------------------


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request):
    return render(request, "community/signup.html")


@router.post("/signup", response_class=HTMLResponse)
def signup(request: Request, background: BackgroundTasks, session: SessionDep, username: str = Form(""),
           email: str = Form(""), password: str = Form("")):
    settings = request.app.state.settings
    form = {"username": username, "email": email}
    try:
        limiter(request).acquire([Limit(f"signup:ip:{client_ip(request)}", settings.signup_limit_per_ip)])
    except RateLimited as exc:
        return too_many(request, exc, "community/signup.html", form)
    try:
        user = accounts.create_user(session, settings, username, email, password)
    except EmailTaken:
        address = accounts.clean_email(email)
        deliver_later(background, request, address,
                      signup_attempt_mail(settings, link(request, "/login"), link(request, "/reset")))
        return check_email_page(request, address)
    except AccountError as exc:
        return render(request, "community/signup.html", {**form, "error": str(exc)}, status=400)
    token = accounts.issue_email_token(session, settings, user, "verify", user.email)
    session.commit()
    send_verification(background, request, user.email, token)
    return check_email_page(request, user.email)


def send_verification(background: BackgroundTasks, request: Request, email: str, token: str) -> None:
    deliver_later(background, request, email,
                  verification_mail(request.app.state.settings, link(request, "/verify?token=" + token)))


@router.get("/verify", response_class=HTMLResponse)
def verify_form(request: Request, token: str = ""):
    # A GET never changes anything (mail scanners prefetch links): the page asks for one click.
    return render(request, "community/verify.html", {"token": token})


@router.post("/verify", response_class=HTMLResponse)
def verify(request: Request, session: SessionDep, token: str = Form("")):
    try:
        user = accounts.verify_email(session, request.app.state.settings, token,
                                     current_session=request.cookies.get(SESSION_COOKIE))
    except TokenError as exc:
        return render(request, "community/verify.html", {"error": str(exc)}, status=400)
    return render(request, "community/verify.html", {"verified": user.email})


# --- sign in / out -----------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", notice: str = ""):
    return render(request, "community/login.html", {"next": safe_next(next), "notice": NOTICES.get(notice)})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, session: SessionDep, login: str = Form(""), password: str = Form(""),
          next: str = Form("/")):
    form = {"login": login, "next": safe_next(next)}
    account = user_store.find_login(session, login)
    session.commit()  # frees this request's pool connection while the limiter takes one of its own
    limits = login_limits(request, login, account)
    try:
        reservation = limiter(request).acquire(limits)  # counted before the password is checked
    except RateLimited as exc:
        return too_many(request, exc, "community/login.html", form)
    user = accounts.check_login(account, password)
    if user is None:
        return render(request, "community/login.html", {**form, "error": "Wrong username/email or password."},
                      status=400)
    forgive_success(request, reservation, limits)
    response = RedirectResponse(safe_next(next), status_code=303)
    sign_in(request, response, session, user)
    return response


def login_limits(request: Request, login: str, account: User | None) -> list[Limit]:
    """What one sign-in attempt counts against.

    Keyed by the account (its pk), so its username and email share one budget. The tight
    per-account limit is per client IP as well, so a stranger elsewhere cannot lock the
    owner out; a higher ceiling over all IPs stops guessing spread over many addresses;
    and every attempt counts against the IP. An unknown login is keyed by what was typed,
    with the same limits, so a 429 does not tell whether an account exists.
    """
    settings = request.app.state.settings
    ip = client_ip(request)
    who = f"user:{account.pk}" if account is not None else \
        "unknown:" + hashlib.sha256((login or "").strip().lower().encode()).hexdigest()[:32]
    return [Limit(f"login:ip:{ip}", settings.login_limit_per_ip),
            Limit(f"login:{who}:ip:{ip}", settings.login_limit_per_account),
            Limit(f"login:{who}", settings.login_limit_per_account_all_ips)]


def forgive_success(request: Request, reservation: Reservation, limits: list[Limit]) -> None:
    """The per-account limits count failures only: a sign-in that worked is taken back."""
    limiter(request).release(reservation, [limit.key for limit in limits if not limit.key.startswith("login:ip:")])


def sign_in(request: Request, response: Response, session: Session, user: User) -> None:
    """A brand-new session id for this browser; any session it presented is ended, so an id
    planted before sign-in (session fixation) is worthless."""
    accounts.end_session(session, request.cookies.get(SESSION_COOKIE))
    raw = accounts.start_session(session, request.app.state.settings, user)
    set_session_cookie(response, request, raw)


@router.post("/logout")
def logout(request: Request, session: SessionDep):
    accounts.end_session(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, request)
    return response


# --- password reset ----------------------------------------------------------


@router.get("/reset", response_class=HTMLResponse)
def reset_request_form(request: Request):
    return render(request, "community/reset.html")


@router.post("/reset", response_class=HTMLResponse)
def reset_request(request: Request, background: BackgroundTasks, email: str = Form("")):
    settings = request.app.state.settings
    try:
        limiter(request).acquire([Limit(f"reset:ip:{client_ip(request)}", settings.signup_limit_per_ip)])
    except RateLimited as exc:
        return too_many(request, exc, "community/reset.html", {"email": email})
    # Known or not, the request does the same work: it schedules the task that looks up.
    background.add_task(send_reset_link, request.app.state.db, settings, link(request, "/reset/confirm?token="),
                        email)
    return render(request, "community/reset.html", {"sent": True})


@router.get("/reset/confirm", response_class=HTMLResponse)
def reset_confirm_form(request: Request, token: str = ""):
    return render(request, "community/reset_confirm.html", {"token": token})


@router.post("/reset/confirm", response_class=HTMLResponse)
def reset_confirm(request: Request, session: SessionDep, token: str = Form(""), password: str = Form("")):
    try:
        accounts.reset_password(session, request.app.state.settings, token, password)
    except AccountError as exc:
        return render(request, "community/reset_confirm.html", {"token": token, "error": str(exc)}, status=400)
    return RedirectResponse("/login?notice=reset", status_code=303)


# --- profiles ----------------------------------------------------------------


@router.get("/u/{username}", response_class=HTMLResponse)
def profile(request: Request, username: str, viewer: OptionalUser, session: SessionDep):
    person = user_store.get_user_by_name(session, username)
    if person is None or (person.banned and not (viewer and viewer.is_admin)):
        return render(request, "error.html", {"status": 404, "title": "Not found",
                                              "message": "There is no such user."}, status=404)
    show_votes = not person.upvotes_private or (viewer is not None and viewer.pk == person.pk)
    context = {
        "person": person,
        "submitted": vote_store.submitted_by(session, person),
        "upvoted": vote_store.upvoted_by(session, person) if show_votes else None,
        "comments": comment_store.comments_by(session, person),
    }
    return render(request, "community/profile.html", context)
