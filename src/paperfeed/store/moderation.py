"""Admin actions (hide a paper from a day, hide a comment, ban a user), each written to the audit log."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperfeed.models import AuditLog, Comment, DailyEntry, Paper, User, utcnow
from paperfeed.store.comments import hide_comment, hide_user_comments
from paperfeed.store.users import delete_user_sessions


class ModerationError(ValueError):
    """The target of a moderation action is not there; the message is safe to show."""


def audit(session: Session, actor: User | None, action: str, target_type: str, target: str,
          detail: dict | None = None) -> AuditLog:
    row = AuditLog(actor_pk=actor.pk if actor else None, actor_name=actor.username if actor else "cli",
                   action=action, target_type=target_type, target=str(target)[:128], detail=detail or {},
                   created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def set_entry_hidden(session: Session, admin: User | None, paper_id: str, day: date, hidden: bool = True) -> DailyEntry:
    entry = session.scalar(select(DailyEntry).join(Paper).where(Paper.id == paper_id, DailyEntry.day == day))
    if entry is None:
        raise ModerationError(f"{paper_id} is not on the page of {day.isoformat()}.")
    entry.hidden = hidden
    audit(session, admin, "hide_entry" if hidden else "unhide_entry", "entry", f"{paper_id}@{day.isoformat()}")
    return entry


def set_entry_featured(session: Session, admin: User | None, paper_id: str, day: date,
                       featured: bool = True) -> DailyEntry:
    """Put a paper on (or take it off) the curated Daily Papers view of its day."""
    entry = session.scalar(select(DailyEntry).join(Paper).where(Paper.id == paper_id, DailyEntry.day == day))
    if entry is None:
        raise ModerationError(f"{paper_id} is not on the page of {day.isoformat()}.")
    entry.featured = featured
    audit(session, admin, "feature_entry" if featured else "unfeature_entry", "entry",
          f"{paper_id}@{day.isoformat()}")
    return entry


def moderate_comment(session: Session, admin: User | None, comment_pk: int, reason: str = "") -> Comment:
    comment = session.get(Comment, comment_pk)
    if comment is None:
        raise ModerationError(f"There is no comment {comment_pk}.")
    hide_comment(session, comment)
    audit(session, admin, "hide_comment", "comment", str(comment_pk),
          {"author_pk": comment.user_pk, "reason": reason[:500]})
    return comment


def ban_user(session: Session, admin: User | None, user: User, reason: str = "") -> int:
    """Bans a user: signs them out everywhere, refuses their sign-ins and tokens, hides
    their comments. Returns how many comments were hidden."""
    if admin is not None and admin.pk == user.pk:
        raise ModerationError("You cannot ban yourself.")
    user.banned = True
    delete_user_sessions(session, user.pk)
    hidden = hide_user_comments(session, user)
    audit(session, admin, "ban_user", "user", user.username, {"comments_hidden": hidden, "reason": reason[:500]})
    return hidden


def unban_user(session: Session, admin: User | None, user: User) -> None:
    """Lifts a ban; hidden comments stay hidden (each was a moderation decision)."""
    user.banned = False
    audit(session, admin, "unban_user", "user", user.username)


def audit_entries(session: Session, limit: int = 200, offset: int = 0) -> list[AuditLog]:
    return list(session.scalars(select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.pk.desc())
                                .limit(limit).offset(offset)))
