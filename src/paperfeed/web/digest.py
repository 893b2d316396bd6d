"""Digest pages: subscribe (header form), confirm, unsubscribe, /settings/digest, admin.

Mail scanners follow links with GET, so no GET here changes anything: the confirm and
unsubscribe links open a page with one button that POSTs. The RFC 8058 one-click POST
(body ``List-Unsubscribe=One-Click``, sent by the mail provider) unsubscribes directly.
"""

from __future__ import annotations

import logging
import smtplib

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from sqlalchemy.orm import Session

from paperfeed.db import Database
from paperfeed.digest import subscribe as flow
from paperfeed.digest.preview import preview_message
from paperfeed.digest.tokens import BadToken
from paperfeed.models import User
from paperfeed.models.digest import ACTIVE
from paperfeed.store import subscriptions as store
from paperfeed.web.auth import AdminUser, OptionalUser
from paperfeed.web.deps import SessionDep, client_ip, render
from paperfeed.web.ratelimit import Limit, RateLimited

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
WINDOW_SECONDS = 600
ADDRESS_LIMIT = 5  # subscribe requests naming one address per window (the mail itself is rarer still)


def _db(request: Request) -> Database:
    return request.app.state.db


@router.post("/digest/subscribe", response_class=HTMLResponse)
def subscribe(request: Request, email: str = Form(""), name: str = Form("")):
    settings = request.app.state.settings
    try:
        address = flow.normalize_email(email)
        who = flow.clean_name(name)
    except flow.SubscriptionError as exc:
        return render(request, "digest/subscribed.html", {"error": str(exc), "email": email[:200]}, status=400)
    address_key = f"digest:addr:{address}"
    keys = [Limit(f"digest:ip:{client_ip(request)}", settings.digest_ip_limit, WINDOW_SECONDS),
            Limit(address_key, ADDRESS_LIMIT, WINDOW_SECONDS)]
    try:  # checked and recorded in one locked step (web/ratelimit.py)
        reservation = request.app.state.rate_limiter.acquire(keys)
    except RateLimited as exc:
        return render(request, "digest/subscribed.html", {"error": str(exc), "email": address}, status=429,
                      headers={"Retry-After": str(exc.retry_after)})
    try:
        flow.request_subscription(_db(request), address, who)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("confirmation mail to %s failed: %s", address, exc)
        # Nothing reached the address, so the try does not count against it (the IP's does).
        request.app.state.rate_limiter.release(reservation, [address_key])
        return render(request, "digest/subscribed.html",
                      {"error": "We could not send the confirmation email just now. Please try again later.",
                       "email": address}, status=503)
    # The same answer whether the address is new, pending or already subscribed.
    return render(request, "digest/subscribed.html", {"email": address})


@router.get("/digest/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str):
    return render(request, "digest/confirm.html", {"token": token})


@router.post("/digest/confirm/{token}", response_class=HTMLResponse)
def confirm(request: Request, token: str, session: SessionDep):
    try:
        sub = flow.confirm(session, _db(request).settings, token)
    except BadToken as exc:
        return render(request, "digest/confirm.html", {"token": token, "error": str(exc)}, status=400)
    return render(request, "digest/confirm.html", {"token": token, "done": True, "email": sub.email})


@router.get("/digest/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str, session: SessionDep):
    try:
        sub = flow.subscriber_for_unsubscribe(session, _db(request).settings, token)
    except BadToken as exc:
        return render(request, "digest/unsubscribe.html", {"token": token, "error": str(exc)}, status=400)
    return render(request, "digest/unsubscribe.html",
                  {"token": token, "email": sub.email, "already": sub.status != ACTIVE})


@router.post("/digest/unsubscribe/{token}")
def unsubscribe(request: Request, token: str, session: SessionDep,
                list_unsubscribe: str = Form("", alias="List-Unsubscribe")):
    one_click = list_unsubscribe == "One-Click"
    try:
        sub = flow.unsubscribe(session, _db(request).settings, token)
    except BadToken as exc:
        if one_click:
            return PlainTextResponse(str(exc), status_code=400)
        return render(request, "digest/unsubscribe.html", {"token": token, "error": str(exc)}, status=400)
    if one_click:
        return PlainTextResponse("Unsubscribed.")
    return render(request, "digest/unsubscribe.html", {"token": token, "email": sub.email, "done": True})


@router.get("/settings/digest", response_class=HTMLResponse)
def manage_page(request: Request, user: OptionalUser, session: SessionDep, notice: str = ""):
    if user is None:
        return RedirectResponse("/login?next=/settings/digest", status_code=303)
    sub = store.by_user(session, user.pk) or store.by_email(session, user.email)
    return render(request, "digest/manage.html", _manage_context(user, sub, notice=notice))


def _manage_context(user: User, sub, **extra) -> dict:
    return {"user": user, "sub": sub, "prefs": flow.preferences_of(sub), "weekdays": WEEKDAYS,
            "min_size": flow.MIN_SIZE, "max_size": flow.MAX_SIZE, **extra}


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@router.post("/settings/digest", response_class=HTMLResponse)
def manage(request: Request, user: OptionalUser, session: SessionDep, action: str = Form("save"),
           frequency: str = Form("daily"), weekday: str = Form("0"), size: str = Form("10"),
           categories: str = Form(""), keywords: str = Form(""), authors: str = Form("")):
    if user is None:
        return RedirectResponse("/login?next=/settings/digest", status_code=303)
    if action == "stop":
        notice = _stop_for_user(session, user)
        return RedirectResponse(f"/settings/digest?notice={notice}", status_code=303)
    try:
        prefs = flow.parse_preferences(frequency, weekday, size, categories, keywords, authors)
        notice = flow.save_for_user(_db(request), user.pk, user.email, user.email_verified, prefs)
    except flow.SubscriptionError as exc:
        sub = store.by_user(session, user.pk)
        return render(request, "digest/manage.html", _manage_context(user, sub, error=str(exc)), status=400)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("confirmation mail to %s failed: %s", user.email, exc)
        notice = "mail-failed"
    return RedirectResponse(f"/settings/digest?notice={notice}", status_code=303)


def _stop_for_user(session: Session, user: User) -> str:
    from paperfeed.models import utcnow

    sub = store.by_user(session, user.pk)
    if sub is not None:
        store.unsubscribe(session, sub, utcnow())
    return "stopped"


@router.get("/admin/digest", response_class=HTMLResponse)
def admin_page(request: Request, user: AdminUser, session: SessionDep):
    context = {"paused": store.paused_subscribers(session), "counts": store.subscriber_counts(session),
               "failures": store.recent_failures(session)}
    return render(request, "digest/admin.html", context)


@router.post("/admin/digest/unpause", response_class=HTMLResponse)
def admin_unpause(request: Request, user: AdminUser, session: SessionDep, email: str = Form("")):
    sub = store.by_email(session, email.strip().lower())
    if sub is None:
        raise HTTPException(404, f"No subscriber {email!r}.")
    store.unpause(session, sub)
    return RedirectResponse("/admin/digest", status_code=303)


@router.get("/admin/digest/preview", response_class=HTMLResponse)
def admin_preview(request: Request, email: str, user: AdminUser, period: str = "daily"):
    try:
        msg = preview_message(_db(request), email, period)
    except LookupError as exc:
        raise HTTPException(404, str(exc))
    except flow.SubscriptionError as exc:
        raise HTTPException(400, str(exc))
    if msg is None:
        return HTMLResponse("<p>Nothing new to send to this subscriber.</p>")
    return HTMLResponse(msg.get_body(("html",)).get_content())
