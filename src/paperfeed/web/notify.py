"""Notifications in the web UI: /settings/notifications (webhooks, saved searches, reply
mail), /admin/webhooks (the instance's webhooks), /notifications (the in-app list), saving
a search from the search page, and the header badge's count.

No request sends anything: "Send test" queues a test event in the request's transaction
and, after the response (so after the commit), a background task delivers it in sessions
of its own; the worker would deliver it otherwise.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from paperfeed.models import User
from paperfeed.models.notify import E_TEST, EVENT_KINDS, WEBHOOK_KINDS, Webhook
from paperfeed.notify.targets import TargetError, check_target
from paperfeed.store import notifications as note_store
from paperfeed.store import saved_searches as search_store
from paperfeed.store import webhooks as hook_store
from paperfeed.web.auth import AdminUser, OptionalUser, template_user
from paperfeed.web.clock import now as now_utc
from paperfeed.web.deps import SessionDep, render
from paperfeed.web.params import RowId

router = APIRouter(include_in_schema=False)

EVENT_LABELS = {"trending": "Daily trending picks", "for_you": "Daily For you picks",
                "saved_search": "New matches for my saved searches", "reply": "Replies to my comments",
                "collection": "New papers in collections I follow"}
NOTICES = {"added": "Webhook added.", "deleted": "Webhook deleted.", "enabled": "Webhook turned on.",
           "disabled": "Webhook turned off.", "test": "Test message queued; its result appears below in a moment.",
           "saved": "Search saved.", "search-deleted": "Saved search deleted.", "alerts": "Alerts updated.",
           "mail": "Reply mail preference saved.", "read": "All marked as read."}


# --- the header badge ------------------------------------------------------------------


def badge_context(request: Request) -> dict:
    """Template context for every page: the signed-in user's unread notifications. A
    context processor, so the view computes it before rendering; templates only show it."""
    try:
        user = template_user(request)
        if user is None:
            return {}
        session = getattr(request.state, "db_session", None)
        # the request's session while its transaction is open; an error page renders after
        # that session was closed, and reusing it then would begin a transaction nobody ends
        if session is not None and session.in_transaction():
            return {"unread_notifications": note_store.unread_count(session, user.pk)}
        with request.app.state.db.sessions() as own:
            return {"unread_notifications": note_store.unread_count(own, user.pk)}
    except Exception:  # noqa: BLE001 - an error page (database away) renders without the badge
        return {}


# --- pages -----------------------------------------------------------------------------


def _owner_redirect(request: Request, user: User | None) -> RedirectResponse | None:
    if user is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return None


def _hooks_context(session: Session, owner_pk: int | None) -> dict:
    hooks = hook_store.list_webhooks(session, owner_pk)
    return {"webhooks": hooks, "calls": hook_store.recent_calls(session, [h.pk for h in hooks]),
            "kinds": WEBHOOK_KINDS, "event_kinds": EVENT_KINDS, "event_labels": EVENT_LABELS}


def _settings_page(request: Request, session: Session, user: User, status: int = 200, **extra) -> HTMLResponse:
    context = {**_hooks_context(session, user.pk), "account": user, "base": "/settings/webhooks",
               "searches": search_store.list_searches(session, user.pk),
               "email_replies": note_store.wants_reply_mail(session, user.pk), **extra}
    return render(request, "notify/settings.html", context, status=status)


@router.get("/settings/notifications", response_class=HTMLResponse)
def notification_settings(request: Request, user: OptionalUser, session: SessionDep, notice: str = ""):
    return _owner_redirect(request, user) or _settings_page(request, session, user, notice=NOTICES.get(notice))


@router.get("/admin/webhooks", response_class=HTMLResponse)
def admin_webhooks(request: Request, user: AdminUser, session: SessionDep, notice: str = ""):
    context = {**_hooks_context(session, None), "base": "/admin/webhooks", "notice": NOTICES.get(notice),
               "allow_private": request.app.state.settings.webhook_allow_private}
    return render(request, "notify/admin.html", context)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, user: OptionalUser, session: SessionDep, notice: str = ""):
    if redirect := _owner_redirect(request, user):
        return redirect
    items = note_store.recent_notifications(session, user.pk)
    return render(request, "notify/list.html", {"items": items, "notice": NOTICES.get(notice)})


@router.post("/notifications/read")
def mark_read(request: Request, user: OptionalUser, session: SessionDep):
    if redirect := _owner_redirect(request, user):
        return redirect
    note_store.mark_all_read(session, user.pk, now_utc(request))
    return RedirectResponse("/notifications?notice=read", status_code=303)


@router.post("/settings/notifications/mail")
def set_reply_mail(request: Request, user: OptionalUser, session: SessionDep, email_replies: str = Form("")):
    if redirect := _owner_redirect(request, user):
        return redirect
    note_store.set_reply_mail(session, user.pk, email_replies == "on")
    return RedirectResponse("/settings/notifications?notice=mail", status_code=303)


# --- webhooks: the same forms for a user's own and (under /admin) the instance's -------------


def _owner(request: Request, user: User | None, scope: str) -> int | None:
    """Whose webhooks a form changes: the user's, or the instance's for an admin."""
    if user is None:
        raise HTTPException(401, "Please sign in first.")
    if scope == "admin":
        if not user.is_admin:
            raise HTTPException(403, "Only administrators can do that.")
        return None
    return user.pk


def _back(scope: str, notice: str) -> RedirectResponse:
    path = "/admin/webhooks" if scope == "admin" else "/settings/notifications"
    return RedirectResponse(f"{path}?notice={notice}", status_code=303)


def _create(request: Request, scope: str, user: User | None, session: Session, name: str, kind: str, url: str,
            events: list[str]):
    owner = _owner(request, user, scope)
    try:
        check_target(url, request.app.state.settings.webhook_allow_private)
        hook_store.create_webhook(session, owner, name, kind, url.strip(), events)
    except (TargetError, hook_store.WebhookError) as exc:
        if scope == "admin":
            raise HTTPException(400, str(exc)) from None
        return _settings_page(request, session, user, status=400, error=str(exc), form={"name": name, "url": url})
    return _back(scope, "added")


def _own_hook(request: Request, scope: str, user: User | None, session: Session, pk: int) -> Webhook:
    hook = hook_store.get_webhook(session, pk, _owner(request, user, scope))
    if hook is None:
        raise HTTPException(404, "That webhook is not there, or it is not yours.")
    return hook


async def _deliver_test(app, delivery_pks: list[int]) -> None:
    from datetime import datetime, timezone

    from paperfeed.notify.deliver import deliver_due

    def clock() -> datetime:
        return datetime.fromtimestamp(app.state.clock(), timezone.utc).replace(tzinfo=None)

    await run_in_threadpool(lambda: deliver_due(app.state.db, app.state.settings, clock=clock, only=delivery_pks))


def _send_test(request: Request, background: BackgroundTasks, scope: str, user: User | None, session: Session,
               pk: int):
    from sqlalchemy import select

    from paperfeed.models.notify import WebhookDelivery

    hook = _own_hook(request, scope, user, session, pk)
    now = now_utc(request)
    site = request.app.state.settings.site_name
    event = hook_store.emit_event(session, E_TEST, f"test:{hook.pk}:{now.isoformat()}",
                                  {"message": f"Test message from {site}: this webhook works.", "papers": []},
                                  now, user_pk=hook.user_pk, only=hook)
    if event is not None:
        session.commit()  # acknowledged and visible to the sender once committed
        pks = list(session.scalars(select(WebhookDelivery.pk).where(WebhookDelivery.event_pk == event.pk)))
        background.add_task(_deliver_test, request.app, pks)
    return _back(scope, "test")


for scope, prefix in (("user", "/settings/webhooks"), ("admin", "/admin/webhooks")):
    def _routes(scope: str = scope, prefix: str = prefix) -> None:
        @router.post(prefix, response_class=HTMLResponse, name=f"{scope}_webhook_create")
        def create(request: Request, user: OptionalUser, session: SessionDep, name: str = Form(""),
                   kind: str = Form("json"), url: str = Form(""), events: list[str] = Form([])):
            return _create(request, scope, user, session, name, kind, url, events)

        @router.post(prefix + "/{pk}/test", name=f"{scope}_webhook_test")
        def send_test(request: Request, user: OptionalUser, session: SessionDep, background: BackgroundTasks,
                      pk: RowId):
            return _send_test(request, background, scope, user, session, pk)

        @router.post(prefix + "/{pk}/delete", name=f"{scope}_webhook_delete")
        def delete(request: Request, user: OptionalUser, session: SessionDep, pk: RowId):
            hook_store.delete_webhook(session, _own_hook(request, scope, user, session, pk))
            return _back(scope, "deleted")

        @router.post(prefix + "/{pk}/enable", name=f"{scope}_webhook_enable")
        def enable(request: Request, user: OptionalUser, session: SessionDep, pk: RowId):
            hook_store.enable_webhook(session, _own_hook(request, scope, user, session, pk))
            return _back(scope, "enabled")

        @router.post(prefix + "/{pk}/disable", name=f"{scope}_webhook_disable")
        def disable(request: Request, user: OptionalUser, session: SessionDep, pk: RowId):
            hook_store.disable_webhook(session, _own_hook(request, scope, user, session, pk))
            return _back(scope, "disabled")

    _routes()


# --- saved searches --------------------------------------------------------------------


@router.post("/search/save", response_class=HTMLResponse)
def save_search(request: Request, user: OptionalUser, session: SessionDep, q: str = Form(""), name: str = Form(""),
                mode: str = Form("hybrid"), category: str = Form(""), since: str = Form(""), until: str = Form(""),
                alert_email: str = Form(""), alert_webhook: str = Form("")):
    if redirect := _owner_redirect(request, user):
        return redirect
    try:
        search_store.save_search(session, user.pk, q, name=name, mode=mode, category=category or None,
                                 since=_form_date(since), until=_form_date(until), alert_email=alert_email == "on",
                                 alert_webhook=alert_webhook == "on")
    except search_store.SavedSearchError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse("/settings/notifications?notice=saved#saved-searches", status_code=303)


def _form_date(value: str) -> date | None:
    """A date field's value ("" when left empty); anything else but YYYY-MM-DD is a 400."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(400, f"{value[:20]!r} is not a date (YYYY-MM-DD).") from None


def _own_search(session: Session, user: User | None, pk: int):
    if user is None:
        raise HTTPException(401, "Please sign in first.")
    saved = search_store.get_search(session, pk, user.pk)
    if saved is None:
        raise HTTPException(404, "That saved search is not there, or it is not yours.")
    return saved


@router.post("/settings/searches/{pk}/alerts")
def search_alerts(user: OptionalUser, session: SessionDep, pk: RowId, alert_email: str = Form(""),
                  alert_webhook: str = Form("")):
    search_store.set_alerts(session, _own_search(session, user, pk), alert_email == "on", alert_webhook == "on")
    return RedirectResponse("/settings/notifications?notice=alerts#saved-searches", status_code=303)


@router.post("/settings/searches/{pk}/delete")
def search_delete(user: OptionalUser, session: SessionDep, pk: RowId):
    search_store.delete_search(session, _own_search(session, user, pk))
    return RedirectResponse("/settings/notifications?notice=search-deleted#saved-searches", status_code=303)


def install(app) -> None:
    from paperfeed.web import notify_api

    app.include_router(router)
    app.include_router(notify_api.router)
    app.include_router(notify_api.feeds)
    app.state.templates.context_processors.append(badge_context)
