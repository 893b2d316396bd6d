"""Queries for digest subscribers and deliveries. Functions take a Session and never commit."""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from paperfeed.models.digest import (
    ACTIVE,
    D_CLAIMED,
    D_FAILED,
    D_PENDING,
    D_SENT,
    D_SKIPPED,
    PAUSED,
    PENDING,
    UNSUBSCRIBED,
    DigestDelivery,
    DigestSubscriber,
)


def new_nonce() -> str:
    return secrets.token_hex(8)


def get_subscriber(session: Session, pk: int) -> DigestSubscriber | None:
    return session.get(DigestSubscriber, pk)


def by_email(session: Session, email: str) -> DigestSubscriber | None:
    return session.scalar(select(DigestSubscriber).where(DigestSubscriber.email == email))


def by_user(session: Session, user_pk: int) -> DigestSubscriber | None:
    return session.scalar(select(DigestSubscriber).where(DigestSubscriber.user_pk == user_pk))


def pending_subscriber(session: Session, email: str, name: str | None = None) -> DigestSubscriber:
    """The row for ``email``, created as pending when new; existing rows keep their state."""
    sub = by_email(session, email)
    if sub is None:
        sub = DigestSubscriber(email=email, name=name, status=PENDING, confirm_nonce=new_nonce(),
                               categories=[], keywords=[], authors=[])
        session.add(sub)
        session.flush()
    elif sub.status == UNSUBSCRIBED:
        sub.status = PENDING
    return sub


def claim_confirmation_slot(session: Session, sub: DigestSubscriber, now: datetime, interval: timedelta) -> bool:
    """Record that a confirmation mail goes out now, unless one went out within ``interval``.

    A conditional UPDATE, so two simultaneous requests for one address send one mail.
    """
    result = session.execute(
        update(DigestSubscriber)
        .where(DigestSubscriber.pk == sub.pk,
               or_(DigestSubscriber.confirm_sent_at.is_(None), DigestSubscriber.confirm_sent_at <= now - interval))
        .values(confirm_sent_at=now, confirm_mails=DigestSubscriber.confirm_mails + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(sub)
    return result.rowcount == 1


def release_confirmation_slot(session: Session, sub_pk: int, claimed_at: datetime) -> None:
    """Undo ``claim_confirmation_slot`` when the mail did not go out: a failed send must not
    block the retry (nothing reached the address, so there is nothing to flood)."""
    session.execute(
        update(DigestSubscriber)
        .where(DigestSubscriber.pk == sub_pk, DigestSubscriber.confirm_sent_at == claimed_at)
        .values(confirm_sent_at=None, confirm_mails=DigestSubscriber.confirm_mails - 1)
        .execution_options(synchronize_session=False)
    )


def activate(session: Session, sub: DigestSubscriber, now: datetime) -> None:
    if sub.status != ACTIVE:
        sub.status = ACTIVE
        sub.confirmed_at = now
        sub.unsubscribed_at = None
        sub.permanent_failures = 0
        sub.paused_at = None
    sub.confirm_nonce = new_nonce()  # the link cannot re-activate after an unsubscribe


def unsubscribe(session: Session, sub: DigestSubscriber, now: datetime) -> None:
    if sub.status != UNSUBSCRIBED:
        sub.status = UNSUBSCRIBED
        sub.unsubscribed_at = now
        sub.confirm_nonce = new_nonce()


def unpause(session: Session, sub: DigestSubscriber) -> None:
    if sub.status == PAUSED:
        sub.status = ACTIVE
        sub.paused_at = None
        sub.permanent_failures = 0


def plan_deliveries(session: Session, period_key: str, frequency: str, max_weekday: int | None,
                    now: datetime) -> int:
    """One pending delivery per due subscriber and period; existing rows are left alone.

    Due: active subscribers of ``frequency``; for weekly ones, whose weekday has come this week.
    A single INSERT ... SELECT ... ON CONFLICT DO NOTHING, so concurrent senders agree.
    """
    cond = [DigestSubscriber.status == ACTIVE, DigestSubscriber.frequency == frequency]
    if max_weekday is not None:
        cond.append(DigestSubscriber.weekday <= max_weekday)
    source = select(DigestSubscriber.pk, literal(period_key), literal(D_PENDING), literal(0), literal(now),
                    literal([], DigestDelivery.paper_pks.type), literal(now)).where(*cond)
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(DigestDelivery).from_select(
        ["subscriber_pk", "period_key", "status", "attempts", "next_attempt_at", "paper_pks", "created_at"], source,
    ).on_conflict_do_nothing(index_elements=["subscriber_pk", "period_key"]).returning(DigestDelivery.pk)
    return len(session.execute(stmt).all())


def claim_deliveries(session: Session, period_key: str, owner: str, limit: int, now: datetime,
                     lease: timedelta) -> list[DigestDelivery]:
    """Atomically take up to ``limit`` deliveries that are pending and due, or whose claim expired.

    One UPDATE ... WHERE pk IN (SELECT ...): on PostgreSQL the inner SELECT skips rows another
    sender has locked; SQLite runs one writer at a time, so the UPDATE is atomic there.
    The caller commits right after, so the claim is visible to other senders.
    """
    claimable = or_(
        and_(DigestDelivery.status == D_PENDING, DigestDelivery.next_attempt_at <= now),
        and_(DigestDelivery.status == D_CLAIMED, DigestDelivery.lease_until < now),
    )
    inner = (select(DigestDelivery.pk).where(DigestDelivery.period_key == period_key, claimable)
             .order_by(DigestDelivery.pk).limit(limit))
    picked = inner.scalar_subquery()
    if session.bind.dialect.name == "postgresql":
        # Materialised, so it runs once: as a plain subquery PostgreSQL may run it again for
        # each row, and each run skips the rows already claimed and picks new ones (a claim
        # of 2 took 3 rows).
        cte = inner.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        picked = select(cte.c.pk).scalar_subquery()
    session.execute(
        update(DigestDelivery)
        .where(DigestDelivery.pk.in_(picked), claimable)
        .values(status=D_CLAIMED, owner=owner, lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    return list(session.scalars(
        select(DigestDelivery).where(DigestDelivery.period_key == period_key, DigestDelivery.status == D_CLAIMED,
                                     DigestDelivery.owner == owner)
        .order_by(DigestDelivery.pk)
    ))


def renew_claims(session: Session, period_key: str, owner: str, now: datetime, lease: timedelta) -> int:
    """Extends every claim ``owner`` still holds (the sender's heartbeat); returns how many."""
    return session.execute(
        update(DigestDelivery).where(DigestDelivery.period_key == period_key, DigestDelivery.status == D_CLAIMED,
                                     DigestDelivery.owner == owner)
        .values(lease_until=now + lease).execution_options(synchronize_session=False)
    ).rowcount


def claims_of_others(session: Session, period_key: str, owner: str, now: datetime) -> list[datetime]:
    """The lease ends of live claims on this period held by senders other than ``owner``."""
    return list(session.scalars(select(DigestDelivery.lease_until).where(
        DigestDelivery.period_key == period_key, DigestDelivery.status == D_CLAIMED,
        DigestDelivery.owner != owner, DigestDelivery.lease_until >= now)))


def next_retry_at(session: Session, period_key: str) -> datetime | None:
    """When the earliest delivery waiting out a backoff becomes due (None: nothing waits)."""
    return session.scalar(select(func.min(DigestDelivery.next_attempt_at))
                          .where(DigestDelivery.period_key == period_key, DigestDelivery.status == D_PENDING))


def mark_sent(session: Session, delivery_pk: int, owner: str, paper_pks: list[int], message_id: str,
              now: datetime) -> None:
    session.execute(update(DigestDelivery).where(DigestDelivery.pk == delivery_pk, DigestDelivery.owner == owner)
                    .values(status=D_SENT, paper_pks=paper_pks, message_id=message_id, sent_at=now,
                            attempts=DigestDelivery.attempts + 1, lease_until=None, last_error=None)
                    .execution_options(synchronize_session=False))


def mark_skipped(session: Session, delivery_pk: int, owner: str, reason: str) -> None:
    session.execute(update(DigestDelivery).where(DigestDelivery.pk == delivery_pk, DigestDelivery.owner == owner)
                    .values(status=D_SKIPPED, last_error=reason, lease_until=None)
                    .execution_options(synchronize_session=False))


def mark_retry(session: Session, delivery_pk: int, owner: str, error: str, retry_at: datetime | None) -> None:
    """A temporary failure: back to pending until ``retry_at``; None means attempts are used up."""
    values = dict(attempts=DigestDelivery.attempts + 1, last_error=error[:1000], owner=None, lease_until=None)
    if retry_at is None:
        values["status"] = D_FAILED
    else:
        values.update(status=D_PENDING, next_attempt_at=retry_at)
    session.execute(update(DigestDelivery).where(DigestDelivery.pk == delivery_pk, DigestDelivery.owner == owner)
                    .values(**values).execution_options(synchronize_session=False))


def mark_bounced(session: Session, delivery_pk: int, owner: str, subscriber_pk: int, error: str, max_bounces: int,
                 now: datetime) -> bool:
    """A permanent failure, counted on the subscriber; returns True when this pauses them."""
    session.execute(update(DigestDelivery).where(DigestDelivery.pk == delivery_pk, DigestDelivery.owner == owner)
                    .values(status=D_FAILED, attempts=DigestDelivery.attempts + 1, last_error=error[:1000],
                            lease_until=None).execution_options(synchronize_session=False))
    sub = session.get(DigestSubscriber, subscriber_pk)
    sub.permanent_failures += 1
    sub.last_error = error[:1000]
    if sub.permanent_failures >= max_bounces and sub.status == ACTIVE:
        sub.status = PAUSED
        sub.paused_at = now
        return True
    return False


def sent_history(session: Session, subscriber_pks: list[int], since: datetime) -> dict[int, set[int]]:
    """The papers each subscriber was sent since ``since``."""
    history: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(select(DigestDelivery.subscriber_pk, DigestDelivery.paper_pks).where(
        DigestDelivery.subscriber_pk.in_(subscriber_pks), DigestDelivery.status == D_SENT,
        DigestDelivery.sent_at >= since))
    for pk, papers in rows:
        history[pk].update(papers)
    return history


def subscribers_by_pk(session: Session, pks: list[int]) -> dict[int, DigestSubscriber]:
    return {s.pk: s for s in session.scalars(select(DigestSubscriber).where(DigestSubscriber.pk.in_(pks)))}


def period_counts(session: Session, period_key: str) -> dict[str, int]:
    rows = session.execute(select(DigestDelivery.status, func.count()).where(DigestDelivery.period_key == period_key)
                           .group_by(DigestDelivery.status))
    return {status: count for status, count in rows}


def paused_subscribers(session: Session) -> list[DigestSubscriber]:
    return list(session.scalars(select(DigestSubscriber).where(DigestSubscriber.status == PAUSED)
                                .order_by(DigestSubscriber.paused_at.desc())))


def subscriber_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(DigestSubscriber.status, func.count()).group_by(DigestSubscriber.status))
    return {status: count for status, count in rows}


def recent_failures(session: Session, limit: int = 50) -> list[tuple[DigestDelivery, str]]:
    rows = session.execute(select(DigestDelivery, DigestSubscriber.email).join(DigestSubscriber)
                           .where(DigestDelivery.status == D_FAILED).order_by(DigestDelivery.pk.desc()).limit(limit))
    return [(d, email) for d, email in rows]

