"""API tokens: minted once (the raw value is shown once and never stored), scoped read/write."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from paperfeed.accounts.errors import AccountError
from paperfeed.accounts.fingerprints import fingerprint
from paperfeed.accounts.sessions import end_all_sessions
from paperfeed.models import ApiToken, User
from paperfeed.store import users as user_store

SCOPES = ("read", "write")


def create_api_token(session: Session, user: User, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """A new token; the raw value is returned once and never stored.

    Only verified accounts get tokens: a token made by someone who registered another
    person's address would otherwise keep working after that person took the account back."""
    if not user.email_verified:
        raise AccountError("Confirm your email address before creating API tokens.")
    name = (name or "").strip()[:100] or "token"
    wanted = [s for s in SCOPES if s in set(scopes)]
    if not wanted:
        raise AccountError("Pick at least one scope: read or write.")
    raw = "pf_" + secrets.token_urlsafe(32)
    return user_store.add_api_token(session, user, name, fingerprint(raw), wanted), raw


def token_user(session: Session, raw: str) -> tuple[User, ApiToken] | None:
    row = user_store.api_token_by_hash(session, fingerprint(raw.strip()))
    if row is None or row.revoked_at is not None or row.user.banned:
        return None
    return row.user, row


def lock_out_others(session: Session, user_pk: int, keep_session: str | None = None) -> None:
    """After the account changed hands or addresses: every API token revoked, every other
    browser signed out."""
    user_store.revoke_all_api_tokens(session, user_pk)
    end_all_sessions(session, user_pk, keep=keep_session)
