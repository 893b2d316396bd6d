"""Account rows: users, server-side sessions, API tokens and emailed one-time links.

Queries and row writes only. Hashing, password policy, token signing and the account flows
live above store, in ``paperfeed.accounts``; what reaches this module is already hashed
(only the sha256 of a secret is stored, so a copy of the database lets nobody sign in).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from paperfeed.models import ApiToken, DailyEntry, EmailToken, User, UserSession, utcnow

# What a stored username looks like; a name of another shape names no account, unqueried.
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$")

# --- users -------------------------------------------------------------------


def add_user(session: Session, username: str, email: str, password_hash: str, *, is_admin: bool = False,
             verified: bool = False) -> User:
    user = User(username=username, username_key=username.lower(), email=email, password_hash=password_hash,
                is_admin=is_admin, email_verified=verified, created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_pk: int) -> User | None:
    return session.get(User, user_pk)


def get_user_by_name(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username_key == username.strip().lower()))


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def list_users(session: Session, limit: int = 1000) -> list[User]:
    return list(session.scalars(select(User).order_by(User.pk).limit(limit)))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def find_login(session: Session, login: str) -> User | None:
    """The account a typed login (username or email) names, if any."""
    login = (login or "").strip()[:320]
    return get_user_by_email(session, login) if "@" in login else get_user_by_name(session, login)


def usernames(session: Session, user_pks) -> dict[int, str]:
    """Usernames for a page's submitters, in one query."""
    pks = {pk for pk in user_pks if pk is not None}
    if not pks:
        return {}
    return dict(session.execute(select(User.pk, User.username).where(User.pk.in_(pks))).all())


def set_password_hash(user: User, password_hash: str) -> None:
    user.password_hash = password_hash


def set_email(user: User, email: str) -> None:
    user.email = email


def mark_email_verified(user: User) -> None:
    user.email_verified = True


def set_upvotes_private(session: Session, user: User, private: bool) -> None:
    user.upvotes_private = bool(private)


def delete_account(session: Session, user: User) -> None:
    """Removes an account: its votes are taken back (counts stay exact), its comments are
    emptied (replies keep a placeholder), its sessions and tokens go with the row."""
    from paperfeed.store.comments import orphan_user_comments
    from paperfeed.store.votes import remove_all_votes

    remove_all_votes(session, user)
    orphan_user_comments(session, user)
    session.execute(update(DailyEntry).where(DailyEntry.submitted_by == user.pk).values(submitted_by=None))
    session.delete(user)
    session.flush()


# --- sessions ----------------------------------------------------------------


def add_session(session: Session, id_hash: str, user: User, expires_at: datetime) -> None:
    session.add(UserSession(id_hash=id_hash, user_pk=user.pk, created_at=utcnow(), expires_at=expires_at))
    session.flush()


def get_session_row(session: Session, id_hash: str) -> UserSession | None:
    return session.get(UserSession, id_hash)


def delete_session(session: Session, id_hash: str) -> None:
    session.execute(delete(UserSession).where(UserSession.id_hash == id_hash))


def delete_user_sessions(session: Session, user_pk: int, keep_hash: str | None = None) -> None:
    """Ends every session of the user, except the one whose id hashes to ``keep_hash``."""
    stmt = delete(UserSession).where(UserSession.user_pk == user_pk)
    if keep_hash:
        stmt = stmt.where(UserSession.id_hash != keep_hash)
    session.execute(stmt)


# --- API tokens --------------------------------------------------------------


def add_api_token(session: Session, user: User, name: str, token_hash: str, scopes: list[str]) -> ApiToken:
    token = ApiToken(user_pk=user.pk, name=name, token_hash=token_hash, scopes=" ".join(scopes), created_at=utcnow())
    session.add(token)
    session.flush()
    return token


def api_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_pk == user.pk).order_by(ApiToken.pk)))


def revoke_api_token(session: Session, user: User, token_pk: int) -> bool:
    res = session.execute(
        update(ApiToken).where(ApiToken.pk == token_pk, ApiToken.user_pk == user.pk, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(res.rowcount)


def revoke_all_api_tokens(session: Session, user_pk: int) -> None:
    session.execute(update(ApiToken).where(ApiToken.user_pk == user_pk, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))


# --- emailed one-time links --------------------------------------------------


def add_email_token(session: Session, user: User, purpose: str, email: str, nonce_hash: str,
                    expires_at: datetime) -> EmailToken:
    row = EmailToken(user_pk=user.pk, purpose=purpose, email=email, nonce_hash=nonce_hash, created_at=utcnow(),
                     expires_at=expires_at)
    session.add(row)
    session.flush()
    return row


def get_email_token(session: Session, token_pk: int) -> EmailToken | None:
    return session.get(EmailToken, token_pk)


def mark_email_token_used(session: Session, token_pk: int) -> bool:
    """Marks the link used unless it already was, in one statement: of two concurrent
    redeems, one gets True."""
    res = session.execute(update(EmailToken).where(EmailToken.pk == token_pk, EmailToken.used_at.is_(None))
                          .values(used_at=utcnow()))
    return bool(res.rowcount)


def spend_email_tokens(session: Session, user_pk: int, purposes: tuple[str, ...]) -> None:
    """Marks every outstanding link of these purposes used: siblings of a link just used,
    or links that went to an address the account no longer has."""
    session.execute(update(EmailToken).where(EmailToken.user_pk == user_pk, EmailToken.purpose.in_(purposes),
                                             EmailToken.used_at.is_(None)).values(used_at=utcnow()))
