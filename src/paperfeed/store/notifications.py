"""Reply notifications: written with the comment that causes them, read by the header badge
and the /notifications page; plus the mail outbox of events (``notify_event.mail_state``).

Who hears of a new comment: the author of the comment it replies to, and whoever submitted
the paper to a day's page; never the commenter themselves, and each person once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from paperfeed.links import paper_path
from paperfeed.models import Comment, DailyEntry, Paper, User
from paperfeed.models.notify import (
    E_REPLY,
    M_FAILED,
    M_PENDING,
    M_SENDING,
    M_SENT,
    Notification,
    NotifyEvent,
    NotifyPreference,
)
from paperfeed.store.changes import bump
from paperfeed.store.votes import insert_or_skip
from paperfeed.store.webhooks import emit_event

REPLY, SUBMISSION = "reply", "submission"


def notify_comment(session: Session, comment: Comment, paper: Paper, author: User,
                   replied_to: int | None = None) -> int:
    """Notify the people a new comment concerns; returns how many. Called by ``add_comment``
    in its transaction, so a notification exists exactly when its comment does."""
    told = 0
    for user_pk, kind in _audience(session, replied_to or comment.parent_pk, paper, author):
        values = {"user_pk": user_pk, "kind": kind, "comment_pk": comment.pk, "paper_pk": paper.pk,
                  "actor_name": author.username, "created_at": comment.created_at}
        if not insert_or_skip(session, Notification, values, ["user_pk", "comment_pk"]):
            continue
        told += 1
        payload = {"kind": kind, "paper_id": paper.id, "paper_title": paper.title, "path": paper_path(paper.id),
                   "comment_pk": comment.pk, "author": author.username, "excerpt": comment.body[:280]}
        emit_event(session, E_REPLY, f"reply:{comment.pk}:{user_pk}", payload, comment.created_at,
                   user_pk=user_pk, mail=wants_reply_mail(session, user_pk))
    return told


def _audience(session: Session, parent_pk: int | None, paper: Paper, author: User) -> list[tuple[int, str]]:
    people: dict[int, str] = {}
    if parent_pk is not None:
        parent_author = session.scalar(select(Comment.user_pk).where(Comment.pk == parent_pk))
        if parent_author is not None:
            people[parent_author] = REPLY
    submitters = session.scalars(select(DailyEntry.submitted_by).where(
        DailyEntry.paper_pk == paper.pk, DailyEntry.submitted_by.is_not(None)).distinct())
    for user_pk in submitters:
        people.setdefault(user_pk, SUBMISSION)
    people.pop(author.pk, None)
    return sorted(people.items())


def unread_count(session: Session, user_pk: int) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.user_pk == user_pk, Notification.read_at.is_(None))) or 0


@dataclass(frozen=True)
class NotificationItem:
    pk: int
    kind: str
    actor_name: str
    paper_id: str
    paper_title: str
    comment_pk: int
    created_at: datetime
    unread: bool


def recent_notifications(session: Session, user_pk: int, limit: int = 50) -> list[NotificationItem]:
    rows = session.execute(select(Notification, Paper.id, Paper.title).join(Paper, Paper.pk == Notification.paper_pk)
                           .where(Notification.user_pk == user_pk)
                           .order_by(Notification.created_at.desc(), Notification.pk.desc()).limit(limit)).all()
    return [NotificationItem(n.pk, n.kind, n.actor_name, pid, title, n.comment_pk, n.created_at, n.read_at is None)
            for n, pid, title in rows]


def mark_all_read(session: Session, user_pk: int, now: datetime) -> int:
    result = session.execute(update(Notification)
                             .where(Notification.user_pk == user_pk, Notification.read_at.is_(None))
                             .values(read_at=now).execution_options(synchronize_session=False))
    if result.rowcount:
        bump(session)
    return result.rowcount


def wants_reply_mail(session: Session, user_pk: int) -> bool:
    return bool(session.scalar(select(NotifyPreference.email_replies).where(NotifyPreference.user_pk == user_pk)))


def set_reply_mail(session: Session, user_pk: int, wanted: bool) -> None:
    pref = session.get(NotifyPreference, user_pk)
    if pref is None:
        session.add(NotifyPreference(user_pk=user_pk, email_replies=wanted))
    else:
        pref.email_replies = wanted
    session.flush()
    bump(session)


# --- the events' mail outbox -----------------------------------------------------------


def claim_mails(session: Session, now: datetime, lease_seconds: int, limit: int = 50) -> list[int]:
    """Event pks whose mail is due and unclaimed (a sender killed mid-send: after its lease)."""
    due = or_(NotifyEvent.mail_state == M_PENDING,
              (NotifyEvent.mail_state == M_SENDING) & (NotifyEvent.mail_lease_until < now))
    candidates = select(NotifyEvent.pk).where(due).order_by(NotifyEvent.pk).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        candidates = list(session.scalars(candidates.with_for_update(skip_locked=True)))
        if not candidates:
            return []
    result = session.execute(update(NotifyEvent).where(NotifyEvent.pk.in_(candidates), due)
                             .values(mail_state=M_SENDING, mail_lease_until=now + timedelta(seconds=lease_seconds))
                             .returning(NotifyEvent.pk).execution_options(synchronize_session=False))
    return sorted(result.scalars())


def mail_parts(session: Session, event_pk: int) -> tuple[NotifyEvent, User] | None:
    row = session.execute(select(NotifyEvent, User).join(User, User.pk == NotifyEvent.user_pk)
                          .where(NotifyEvent.pk == event_pk)).first()
    return tuple(row) if row else None


def finish_mail(session: Session, event_pk: int, now: datetime, error: str | None, give_up: bool) -> None:
    """Records a mail attempt: sent (``error`` None), to retry, or failed for good."""
    event = session.get(NotifyEvent, event_pk)
    if event is None:
        return
    event.mail_attempts += 1
    event.mail_lease_until = None
    event.mail_error = error and error[:1000]
    if error is None:
        event.mail_state, event.mail_sent_at = M_SENT, now
    else:
        event.mail_state = M_FAILED if give_up else M_PENDING
