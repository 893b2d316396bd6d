"""Emailed one-time links (verify an address, reset a password).

A link token is "<row pk>.<expiry>.<nonce>.<hmac>": the HMAC (keyed by the instance
secret) rejects forged or altered tokens before any look-up; the row makes it single use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy.orm import Session

from paperfeed.accounts.errors import TokenError
from paperfeed.accounts.fingerprints import fingerprint
from paperfeed.config import Settings
from paperfeed.models import EmailToken, User, utcnow
from paperfeed.store import users as user_store

PURPOSES = ("verify", "reset")


def issue_email_token(session: Session, settings: Settings, user: User, purpose: str, email: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    hours = settings.verify_token_hours if purpose == "verify" else settings.reset_token_hours
    nonce = secrets.token_urlsafe(24)
    row = user_store.add_email_token(session, user, purpose, email, fingerprint(nonce),
                                     utcnow() + timedelta(hours=hours))
    body = f"{row.pk}.{int(row.expires_at.timestamp())}.{nonce}"
    return f"{body}.{_sign(settings, purpose, body)}"


def _sign(settings: Settings, purpose: str, body: str) -> str:
    mac = hmac.new(settings.signing_key(), f"{purpose}:{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def check_email_token(session: Session, settings: Settings, raw: str, purpose: str) -> EmailToken:
    """The token's row if it is authentic, unexpired and unused; raises TokenError otherwise."""
    parts = (raw or "").strip().split(".")
    if len(parts) != 4 or not raw.isascii():  # compare_digest raises TypeError on non-ASCII str
        raise TokenError("This link is not valid.")
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_sign(settings, purpose, body), parts[3]):
        raise TokenError("This link is not valid.")
    row = user_store.get_email_token(session, int(parts[0])) if parts[0].isdigit() else None
    if row is None or row.purpose != purpose or not hmac.compare_digest(row.nonce_hash, fingerprint(parts[2])):
        raise TokenError("This link is not valid.")
    if row.used_at is not None:
        raise TokenError("This link has already been used.")
    if row.expires_at <= utcnow():
        raise TokenError("This link has expired; ask for a new one.")
    return row


def redeem_email_token(session: Session, settings: Settings, raw: str, purpose: str) -> EmailToken:
    """Checks the token and marks it used, atomically: of two concurrent redeems one wins."""
    row = check_email_token(session, settings, raw, purpose)
    if not user_store.mark_email_token_used(session, row.pk):
        raise TokenError("This link has already been used.")
    return row
