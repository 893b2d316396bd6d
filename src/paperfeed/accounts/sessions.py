"""Server-side sessions: the browser holds a random id, the database its sha256."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.orm import Session

from paperfeed.accounts.fingerprints import fingerprint
from paperfeed.config import Settings
from paperfeed.models import User, utcnow
from paperfeed.store import users as user_store

MAX_COOKIE = 200  # longer values are not ours: no look-up


def start_session(session: Session, settings: Settings, user: User) -> str:
    """A new session for ``user``; returns the cookie value (a fresh random id every time)."""
    raw = secrets.token_urlsafe(32)
    user_store.add_session(session, fingerprint(raw), user, utcnow() + timedelta(days=settings.session_days))
    return raw


def session_user(session: Session, raw: str | None) -> User | None:
    if not raw or len(raw) > MAX_COOKIE:
        return None
    row = user_store.get_session_row(session, fingerprint(raw))
    if row is None or row.expires_at <= utcnow() or row.user.banned:
        return None
    return row.user


def end_session(session: Session, raw: str | None) -> None:
    if raw and len(raw) <= MAX_COOKIE:
        user_store.delete_session(session, fingerprint(raw))


def end_all_sessions(session: Session, user_pk: int, keep: str | None = None) -> None:
    """Signs the user out everywhere, except the browser whose cookie is ``keep``."""
    keep_hash = fingerprint(keep) if keep and len(keep) <= MAX_COOKIE else None
    user_store.delete_user_sessions(session, user_pk, keep_hash)
