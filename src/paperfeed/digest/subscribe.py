"""Subscribing with double opt-in, confirming, unsubscribing and preferences."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.digest import tokens
from paperfeed.mail import InvalidAddress, normalize_address
from paperfeed.models import utcnow
from paperfeed.models.digest import ACTIVE, DigestSubscriber
from paperfeed.store import subscriptions as store

CATEGORY_RE = re.compile(r"^[a-z-]+(\.[A-Za-z-]+)?$")
FREQUENCIES = ("daily", "weekly")
MIN_SIZE, MAX_SIZE = 5, 50
MAX_INTERESTS = 20


class SubscriptionError(ValueError):
    """Bad subscription input; the message is shown to the user as is."""


def normalize_email(value: str) -> str:
    """A lower-cased, validated address (mail.normalize_address): lists, comments, display
    names and CR/LF (header injection) are rejected."""
    if any(ch in value for ch in "\r\n\0"):
        raise SubscriptionError("The email address may not contain line breaks.")
    try:
        return normalize_address(value)
    except InvalidAddress:
        raise SubscriptionError(f"{value.strip()[:80]!r} is not an email address.") from None


def clean_name(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if any(ch in value for ch in "\r\n\0") or any(ord(ch) < 32 for ch in value):
        raise SubscriptionError("The name may not contain line breaks or control characters.")
    return value.strip()[:200]


@dataclass
class Preferences:
    frequency: str = "daily"
    weekday: int = 0
    size: int = 10
    categories: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)


def parse_preferences(frequency: str, weekday: str | int, size: str | int, categories: str = "", keywords: str = "",
                      authors: str = "") -> Preferences:
    """Validate form input. Lists are one entry per line (categories may also be space separated)."""
    if frequency not in FREQUENCIES:
        raise SubscriptionError("Frequency must be daily or weekly.")
    day, count = _int(weekday, "weekday"), _int(size, "size")
    if not 0 <= day <= 6:
        raise SubscriptionError("Weekday must be 0 (Monday) to 6 (Sunday).")
    if not MIN_SIZE <= count <= MAX_SIZE:
        raise SubscriptionError(f"Size must be between {MIN_SIZE} and {MAX_SIZE} papers.")
    cats = [c.removeprefix("cat:") for c in categories.replace(",", " ").split()]
    bad = [c for c in cats if not CATEGORY_RE.match(c)]
    if bad:
        raise SubscriptionError(f"Not an arXiv category: {bad[0]!r} (e.g. cs.CL).")
    return Preferences(frequency=frequency, weekday=day, size=count, categories=_limit(cats, "categories"),
                       keywords=_limit(_lines(keywords), "keywords"), authors=_limit(_lines(authors), "authors"))


def _int(value: str | int, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SubscriptionError(f"The {what} must be a number.") from None


def _lines(text: str) -> list[str]:
    return list(dict.fromkeys(line.strip()[:200] for line in text.splitlines() if line.strip()))


def _limit(items: list[str], what: str) -> list[str]:
    if len(items) > MAX_INTERESTS:
        raise SubscriptionError(f"At most {MAX_INTERESTS} {what}.")
    return list(dict.fromkeys(items))


def apply_preferences(sub: DigestSubscriber, prefs: Preferences) -> None:
    sub.frequency, sub.weekday, sub.size = prefs.frequency, prefs.weekday, prefs.size
    sub.categories, sub.keywords, sub.authors = prefs.categories, prefs.keywords, prefs.authors


def preferences_of(sub: DigestSubscriber | None) -> Preferences:
    if sub is None:
        return Preferences()
    return Preferences(sub.frequency, sub.weekday, sub.size, list(sub.categories), list(sub.keywords),
                       list(sub.authors))


@dataclass
class SubscribeOutcome:
    subscriber_pk: int
    mail_sent: bool  # False when already active or a confirmation went out recently
    already_active: bool


def request_subscription(db: Database, email: str, name: str | None = None, prefs: Preferences | None = None,
                         user_pk: int | None = None, now: datetime | None = None) -> SubscribeOutcome:
    """Record a pending subscription and mail a confirmation link (double opt-in).

    Nothing but that one confirmation is ever sent before the link is followed, and at most
    one confirmation per address per ``digest_confirm_interval_minutes`` (counted in the DB),
    so nobody can use the form to flood an address.
    """
    settings = db.settings
    address, who = normalize_email(email), clean_name(name)
    now = now or utcnow()
    with db.session() as session:
        sub = store.pending_subscriber(session, address, who)
        if user_pk is not None and sub.user_pk is None and store.by_user(session, user_pk) is None:
            sub.user_pk = user_pk
        if prefs is not None:
            apply_preferences(sub, prefs)
        if sub.status == ACTIVE:
            return SubscribeOutcome(sub.pk, mail_sent=False, already_active=True)
        interval = timedelta(minutes=settings.digest_confirm_interval_minutes)
        send = store.claim_confirmation_slot(session, sub, now, interval)
        pk, nonce = sub.pk, sub.confirm_nonce
    if send:
        _send_or_release(db, address, pk, nonce, now)
    return SubscribeOutcome(pk, mail_sent=send, already_active=False)


def _send_or_release(db: Database, address: str, pk: int, nonce: str, claimed_at: datetime) -> None:
    """Sends the confirmation; if the mail server refuses, gives the slot back and re-raises."""
    try:
        send_confirmation(db.settings, address, pk, nonce)
    except BaseException:
        with db.session() as session:
            store.release_confirmation_slot(session, pk, claimed_at)
        raise


def send_confirmation(settings: Settings, email: str, subscriber_pk: int, nonce: str) -> None:
    from paperfeed.digest.render import render_confirmation
    from paperfeed.mail import send_message

    token = tokens.confirm_token(settings, subscriber_pk, nonce, settings.digest_confirm_ttl_hours * 3600)
    send_message(settings, render_confirmation(settings, email, token))


def confirm(session: Session, settings: Settings, token: str, now: datetime | None = None) -> DigestSubscriber:
    """Activate the subscription a confirmation token names. Idempotent until the nonce rotates."""
    pk, nonce = tokens.read_confirm_token(settings, token)
    sub = store.get_subscriber(session, pk)
    if sub is None:
        raise tokens.BadToken("This confirmation link is not valid.")
    if sub.status == ACTIVE:
        return sub
    if sub.confirm_nonce != nonce:
        raise tokens.BadToken("This confirmation link was already used or replaced. Subscribe again.")
    store.activate(session, sub, now or utcnow())
    return sub


def subscriber_for_unsubscribe(session: Session, settings: Settings, token: str) -> DigestSubscriber:
    pk, _ = tokens.read_unsubscribe_token(settings, token)
    sub = store.get_subscriber(session, pk)
    if sub is None or not tokens.unsubscribe_token_matches(settings, token, sub.pk, sub.email):
        raise tokens.BadToken("This unsubscribe link is not valid.")
    return sub


def unsubscribe(session: Session, settings: Settings, token: str, now: datetime | None = None) -> DigestSubscriber:
    """Unsubscribe the address a signed token names; doing it twice is harmless."""
    sub = subscriber_for_unsubscribe(session, settings, token)
    store.unsubscribe(session, sub, now or utcnow())
    return sub


def save_for_user(db: Database, user_pk: int, email: str, email_verified: bool, prefs: Preferences) -> str:
    """Create or update a signed-in user's digest. A verified account address needs no second
    opt-in; an unverified one gets a confirmation link. Returns a notice key for the page."""
    address = normalize_email(email)
    with db.session() as session:
        sub = store.by_user(session, user_pk) or store.by_email(session, address)
        if sub is not None and sub.email != address and store.by_email(session, address) is not None:
            raise SubscriptionError("Another subscription already uses your account's address.")
        if sub is None:
            sub = store.pending_subscriber(session, address)
        sub.user_pk, sub.email = user_pk, address
        apply_preferences(sub, prefs)
        if sub.status == ACTIVE:
            return "saved"
        if email_verified:
            store.activate(session, sub, utcnow())
            return "subscribed"
    outcome = request_subscription(db, address, user_pk=user_pk)
    return "confirm-sent" if outcome.mail_sent else "confirm-pending"
