"""Saved searches: a query with its filters, owned by a user, with alert choices and a
watermark (``last_paper_pk``) that says which papers the owner has already been told about."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from paperfeed.models import Paper, User
from paperfeed.models.notify import SavedSearch
from paperfeed.store.changes import bump

MODES = ("hybrid", "keyword", "semantic")
MAX_PER_USER = 50
MAX_QUERY = 500
MAX_CATEGORY = 64


class SavedSearchError(ValueError):
    """Bad input for a saved search; the message is safe to show."""


def _has_control(text: str) -> bool:
    """NUL and other control characters: PostgreSQL refuses NUL, and none belongs in a query."""
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def _is_category(value: str) -> bool:
    """cs.LG, cs, q-bio.NC: letters, digits, dots and dashes."""
    return len(value) <= MAX_CATEGORY and value.replace(".", "").replace("-", "").isalnum() and value.isascii()


def newest_paper_pk(session: Session) -> int:
    return session.scalar(select(func.max(Paper.pk))) or 0


def save_search(session: Session, user_pk: int, query: str, *, name: str = "", mode: str = "hybrid",
                category: str | None = None, since: date | None = None, until: date | None = None,
                alert_email: bool = False, alert_webhook: bool = False) -> SavedSearch:
    """Saves a search; it alerts only about papers that arrive after this moment."""
    query = (query or "").strip()
    category = (category or "").strip() or None
    if _has_control(query) or _has_control(name or ""):
        raise SavedSearchError("A saved search cannot contain control characters.")
    if not query or len(query) > MAX_QUERY:
        raise SavedSearchError(f"A saved search needs a query of 1 to {MAX_QUERY} characters.")
    if mode not in MODES:
        raise SavedSearchError(f"Unknown mode {mode!r}; use one of {', '.join(MODES)}.")
    if category is not None and not _is_category(category):
        raise SavedSearchError("A category looks like cs.LG or cs.")
    if since and until and since > until:
        raise SavedSearchError("The start date is after the end date.")
    if count_searches(session, user_pk) >= MAX_PER_USER:
        raise SavedSearchError(f"At most {MAX_PER_USER} saved searches each.")
    saved = SavedSearch(user_pk=user_pk, name=(name or "").strip()[:100] or query[:100], query=query, mode=mode,
                        category=category, since=since, until=until, alert_email=alert_email,
                        alert_webhook=alert_webhook, feed_token=secrets.token_hex(16),
                        last_paper_pk=newest_paper_pk(session), last_matches=0)
    session.add(saved)
    session.flush()
    bump(session)
    return saved


def count_searches(session: Session, user_pk: int) -> int:
    return session.scalar(select(func.count()).select_from(SavedSearch).where(SavedSearch.user_pk == user_pk)) or 0


def list_searches(session: Session, user_pk: int) -> list[SavedSearch]:
    return list(session.scalars(select(SavedSearch).where(SavedSearch.user_pk == user_pk).order_by(SavedSearch.pk)))


def get_search(session: Session, pk: int, user_pk: int) -> SavedSearch | None:
    saved = session.get(SavedSearch, pk)
    return saved if saved is not None and saved.user_pk == user_pk else None


def search_by_token(session: Session, token: str) -> SavedSearch | None:
    if not token or len(token) != 32:
        return None
    return session.scalar(select(SavedSearch).where(SavedSearch.feed_token == token))


def delete_search(session: Session, saved: SavedSearch) -> None:
    session.execute(delete(SavedSearch).where(SavedSearch.pk == saved.pk))
    bump(session)


def set_alerts(session: Session, saved: SavedSearch, email: bool, webhook: bool) -> None:
    saved.alert_email, saved.alert_webhook = email, webhook
    bump(session)


def searches_with_alerts(session: Session) -> list[SavedSearch]:
    return list(session.scalars(select(SavedSearch).join(User, User.pk == SavedSearch.user_pk)
                                .where(SavedSearch.alert_email | SavedSearch.alert_webhook, User.banned.is_(False))
                                .order_by(SavedSearch.pk)))


def advance_watermark(session: Session, pk: int, seen: int, newest: int, matches: int, now: datetime) -> bool:
    """Moves the watermark from ``seen`` to ``newest``; False when another run moved it first
    (then that run tells the owner, and this one must not)."""
    result = session.execute(update(SavedSearch).where(SavedSearch.pk == pk, SavedSearch.last_paper_pk == seen)
                             .values(last_paper_pk=newest, last_run_at=now, last_matches=matches)
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1
