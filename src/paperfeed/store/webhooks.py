"""Webhook targets, the event outbox and its delivery bookkeeping.

``emit_event`` writes an event and fans it out to one delivery row per target in the
caller's transaction, so an event exists exactly when what caused it committed. The
``(event, webhook)`` pair is unique, so producing an event twice cannot deliver it twice.
Workers then ``claim_deliveries`` (an atomic UPDATE of rows nobody holds, taking a lease;
``FOR UPDATE SKIP LOCKED`` first on PostgreSQL) and ``record_call`` for every attempt.

Delivery bookkeeping (claims, the call log) does not bump the change sequence, like
``job_run`` and embedding claims: nothing cached or indexed depends on it. Settings
changes (a webhook added or removed) do.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from paperfeed.models import User
from paperfeed.models.notify import (
    D_FAILED,
    D_PENDING,
    D_SENDING,
    D_SENT,
    EVENT_KINDS,
    WEBHOOK_KINDS,
    NotifyEvent,
    Webhook,
    WebhookCall,
    WebhookDelivery,
)
from paperfeed.store.changes import bump
from paperfeed.store.votes import insert_or_skip

MAX_WEBHOOKS_PER_OWNER = 20
MAX_URL_LENGTH = 2000
MAX_ERROR_CHARS = 1000
# A new delivery is due at once on every node: not "at the producer's now", which a worker
# whose clock is behind would read as the future.
DUE_AT_ONCE = datetime(2000, 1, 1)


class WebhookError(ValueError):
    """Bad input for a webhook; the message is safe to show."""


# --- targets -------------------------------------------------------------------------


def create_webhook(session: Session, user_pk: int | None, name: str, kind: str, url: str,
                   events: list[str]) -> Webhook:
    """A new enabled target; ``user_pk`` None makes it the instance's. The URL must already
    have passed the network check (``paperfeed.notify.targets``)."""
    name = (name or "").strip()[:100] or kind
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name):
        raise WebhookError("A webhook's name cannot contain control characters.")
    if kind not in WEBHOOK_KINDS:
        raise WebhookError(f"Choose a kind: {', '.join(WEBHOOK_KINDS)}.")
    if not url or len(url) > MAX_URL_LENGTH:
        raise WebhookError(f"A webhook URL is 1 to {MAX_URL_LENGTH} characters.")
    unknown = set(events) - set(EVENT_KINDS)
    if unknown or not events:
        raise WebhookError(f"Choose at least one event of: {', '.join(EVENT_KINDS)}.")
    if len(list_webhooks(session, user_pk)) >= MAX_WEBHOOKS_PER_OWNER:
        raise WebhookError(f"At most {MAX_WEBHOOKS_PER_OWNER} webhooks each.")
    hook = Webhook(user_pk=user_pk, name=name, kind=kind, url=url, secret=secrets.token_hex(32),
                   events=sorted(set(events)), enabled=True, consecutive_failures=0)
    session.add(hook)
    session.flush()
    bump(session)
    return hook


def list_webhooks(session: Session, user_pk: int | None) -> list[Webhook]:
    """A user's targets, or (None) the instance's."""
    owner = Webhook.user_pk.is_(None) if user_pk is None else Webhook.user_pk == user_pk
    return list(session.scalars(select(Webhook).where(owner).order_by(Webhook.pk)))


def get_webhook(session: Session, pk: int, user_pk: int | None) -> Webhook | None:
    """The webhook if it belongs to ``user_pk`` (None: the instance)."""
    hook = session.get(Webhook, pk)
    if hook is None or hook.user_pk != user_pk:
        return None
    return hook


def delete_webhook(session: Session, hook: Webhook) -> None:
    session.execute(delete(Webhook).where(Webhook.pk == hook.pk))
    bump(session)


def enable_webhook(session: Session, hook: Webhook) -> None:
    """Turned back on by its owner: the failure count starts again."""
    hook.enabled, hook.consecutive_failures, hook.disabled_reason = True, 0, None
    bump(session)


def disable_webhook(session: Session, hook: Webhook) -> None:
    hook.enabled = False
    bump(session)


# --- events and their fan-out --------------------------------------------------------


def emit_event(session: Session, kind: str, dedupe_key: str, payload: dict, now: datetime,
               user_pk: int | None = None, only: Webhook | None = None, mail: bool = False,
               webhooks: bool = True) -> NotifyEvent | None:
    """Record an event and one delivery per target, in the caller's transaction; None when an
    event with this ``dedupe_key`` exists already.

    Targets: ``only`` (a test message); else, for a user's event, their enabled webhooks that
    follow ``kind``; for an instance event (``user_pk`` None), every enabled webhook, the
    instance's and users', that follows it; none when ``webhooks`` is false. ``mail``
    queues a mail to the user as well.
    """
    values = {"kind": kind, "user_pk": user_pk, "dedupe_key": dedupe_key[:200], "payload": payload,
              "created_at": now, "mail_state": "pending" if mail and user_pk is not None else None,
              "mail_attempts": 0}
    if not insert_or_skip(session, NotifyEvent, values, ["dedupe_key"]):
        return None
    event = session.scalar(select(NotifyEvent).where(NotifyEvent.dedupe_key == values["dedupe_key"]))
    targets = [only] if only is not None else _targets(session, kind, user_pk) if webhooks else []
    for hook in targets:
        insert_or_skip(session, WebhookDelivery,
                       {"event_pk": event.pk, "webhook_pk": hook.pk, "idempotency_key": uuid.uuid4().hex,
                        "status": D_PENDING, "attempts": 0, "next_attempt_at": DUE_AT_ONCE},
                       ["event_pk", "webhook_pk"])
    return event


def users_following(session: Session, kind: str) -> list[int]:
    """Users (not banned) with an enabled webhook of their own that follows ``kind``."""
    stmt = (select(Webhook).join(User, User.pk == Webhook.user_pk)
            .where(Webhook.enabled.is_(True), User.banned.is_(False)).order_by(Webhook.pk))
    return list(dict.fromkeys(hook.user_pk for hook in session.scalars(stmt) if kind in (hook.events or [])))


def _targets(session: Session, kind: str, user_pk: int | None) -> list[Webhook]:
    # a banned user's webhooks hear nothing (the instance's, with no user, always do)
    stmt = (select(Webhook).outerjoin(User, User.pk == Webhook.user_pk)
            .where(Webhook.enabled.is_(True), or_(User.pk.is_(None), User.banned.is_(False))))
    if user_pk is not None:
        stmt = stmt.where(Webhook.user_pk == user_pk)
    return [hook for hook in session.scalars(stmt.order_by(Webhook.pk)) if kind in (hook.events or [])]


# --- claiming and recording deliveries -----------------------------------------------


def claim_deliveries(session: Session, owner: str, now: datetime, lease_seconds: int, limit: int = 20) -> list[int]:
    """Take up to ``limit`` due deliveries nobody holds; returns their pks. A delivery whose
    worker died mid-send (``sending`` past its lease) is due again."""
    due = [WebhookDelivery.next_attempt_at <= now,
           or_(WebhookDelivery.status == D_PENDING,
               (WebhookDelivery.status == D_SENDING) & (WebhookDelivery.lease_until < now))]
    candidates = select(WebhookDelivery.pk).where(*due).order_by(WebhookDelivery.pk).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pks = list(session.scalars(candidates.with_for_update(skip_locked=True)))
        if not pks:
            return []
        candidates = pks
    result = session.execute(
        update(WebhookDelivery).where(WebhookDelivery.pk.in_(candidates), *due)
        .values(status=D_SENDING, owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
        .returning(WebhookDelivery.pk).execution_options(synchronize_session=False))
    return sorted(result.scalars())


def delivery_parts(session: Session, delivery_pk: int) -> tuple[WebhookDelivery, NotifyEvent, Webhook] | None:
    row = session.execute(select(WebhookDelivery, NotifyEvent, Webhook)
                          .join(NotifyEvent, NotifyEvent.pk == WebhookDelivery.event_pk)
                          .join(Webhook, Webhook.pk == WebhookDelivery.webhook_pk)
                          .where(WebhookDelivery.pk == delivery_pk)).first()
    return tuple(row) if row else None


def record_call(session: Session, delivery_pk: int, owner: str, now: datetime, *, target: str, ok: bool,
                status_code: int | None, error: str | None, retry_at: datetime | None, duration_ms: int,
                max_failures: int) -> bool:
    """Write one attempt's outcome: the call log, the delivery (sent, retry at ``retry_at``,
    or failed for good when it is None) and the webhook's failure streak, which disables it
    at ``max_failures``. False when the claim was lost meanwhile (only the log is written)."""
    webhook_pk = session.scalar(select(WebhookDelivery.webhook_pk).where(WebhookDelivery.pk == delivery_pk))
    if webhook_pk is None:
        return False
    # the webhook's row first, then the delivery's: every recorder locks in that order (the
    # call's foreign key share-locks the webhook, so locking it last deadlocked two workers)
    hook = session.get(Webhook, webhook_pk, with_for_update=True)
    delivery = session.get(WebhookDelivery, delivery_pk, with_for_update=True)
    if delivery is None or hook is None:
        return False
    session.add(WebhookCall(webhook_pk=delivery.webhook_pk, delivery_pk=delivery_pk, at=now, target=target[:300],
                            status_code=status_code, ok=ok, error=(error or None) and error[:MAX_ERROR_CHARS],
                            duration_ms=duration_ms))
    if delivery.owner != owner or delivery.status != D_SENDING:
        return False
    delivery.attempts += 1
    delivery.owner, delivery.lease_until, delivery.last_error = None, None, error
    if ok:
        delivery.status, delivery.sent_at = D_SENT, now
    elif retry_at is not None:
        delivery.status, delivery.next_attempt_at = D_PENDING, retry_at
    else:
        delivery.status = D_FAILED
    _count_outcome(session, hook, ok, error, max_failures)
    return True


def _count_outcome(session: Session, hook: Webhook, ok: bool, error: str | None, max_failures: int) -> None:
    if ok:
        hook.consecutive_failures = 0
        return
    hook.consecutive_failures += 1
    if hook.enabled and hook.consecutive_failures >= max_failures:
        hook.enabled = False
        hook.disabled_reason = f"Turned off after {hook.consecutive_failures} failed calls in a row (last: {error})"
        # what is still queued for it will not go out
        session.execute(update(WebhookDelivery)
                        .where(WebhookDelivery.webhook_pk == hook.pk, WebhookDelivery.status == D_PENDING)
                        .values(status=D_FAILED, last_error="webhook disabled")
                        .execution_options(synchronize_session=False))


def drop_delivery(session: Session, delivery_pk: int, owner: str, reason: str) -> None:
    """A claimed delivery that will not be sent (its webhook was disabled meanwhile)."""
    session.execute(update(WebhookDelivery).where(WebhookDelivery.pk == delivery_pk, WebhookDelivery.owner == owner)
                    .values(status=D_FAILED, owner=None, lease_until=None, last_error=reason)
                    .execution_options(synchronize_session=False))


def recent_calls(session: Session, webhook_pks: list[int], per_webhook: int = 5) -> dict[int, list[WebhookCall]]:
    """The latest calls of each webhook, newest first (what settings shows)."""
    out: dict[int, list[WebhookCall]] = {pk: [] for pk in webhook_pks}
    for pk in webhook_pks:
        out[pk] = list(session.scalars(select(WebhookCall).where(WebhookCall.webhook_pk == pk)
                                       .order_by(WebhookCall.at.desc(), WebhookCall.pk.desc()).limit(per_webhook)))
    return out


def delivery_counts(session: Session) -> dict[str, int]:
    from sqlalchemy import func

    rows = session.execute(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all()
    return {status: n for status, n in rows}
