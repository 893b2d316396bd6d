"""Accounts: users, passwords, server-side sessions, API tokens and emailed one-time links.

Secrets (session cookies, API tokens, link nonces) are random and only their sha256 is
stored, so a copy of the database lets nobody sign in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from paperfeed.config import Settings
from paperfeed.mail import InvalidAddress, normalize_address
from paperfeed.models import ApiToken, DailyEntry, EmailToken, User, UserSession, utcnow

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$")
SCOPES = ("read", "write")
PURPOSES = ("verify", "reset")

_hasher = PasswordHasher()  # argon2id with the library's recommended cost


class AccountError(ValueError):
    """A request about an account that cannot be done; the message is safe to show."""


class EmailTaken(AccountError):
    """Raised only to callers that must not reveal it (sign-up answers as if it worked)."""


class TokenError(AccountError):
    pass


# --- validation --------------------------------------------------------------


def clean_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise AccountError("A username is 3-32 letters, digits, '-' or '_', starting with a letter or digit.")
    return username


def clean_email(email: str) -> str:
    """The normalised address (see mail.normalize_address), or AccountError."""
    try:
        return normalize_address(email or "")
    except InvalidAddress as exc:
        raise AccountError(str(exc)) from None


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("paperfeed").joinpath("data/common_passwords.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_password(settings: Settings, password: str, *, username: str = "", email: str = "") -> None:
    if len(password) < settings.password_min_length:
        raise AccountError(f"Use at least {settings.password_min_length} characters for your password.")
    if len(password) > 1024:
        raise AccountError("That password is too long (1024 characters at most).")
    lowered = password.lower()
    if lowered in common_passwords():
        raise AccountError("That password is on a list of common passwords; choose another.")
    if (username and lowered == username.lower()) or (email and lowered == email.lower()):
        raise AccountError("Your password must differ from your username and email.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


# --- users -------------------------------------------------------------------


def create_user(session: Session, settings: Settings, username: str, email: str, password: str, *,
                is_admin: bool = False, verified: bool = False) -> User:
    """A new account. Raises AccountError (bad input, username taken) or EmailTaken."""
    username, email = clean_username(username), clean_email(email)
    check_password(settings, password, username=username, email=email)
    password_hash = hash_password(password)  # hashed before the checks so both answers take as long
    if get_user_by_name(session, username) is not None:
        raise AccountError("That username is taken.")
    if get_user_by_email(session, email) is not None:
        raise EmailTaken("email in use")
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


def authenticate(session: Session, login: str, password: str) -> User | None:
    """The user whose username or email and password match, else None."""
    return check_login(find_login(session, login), password)


def check_login(user: User | None, password: str) -> User | None:
    """``user`` when the password is theirs and they are not banned, else None.

    An unknown login (None) still costs one argon2 verification, so timing does not tell
    whether an account exists.
    """
    if user is None:
        _password_matches(_dummy_hash(), password)
        return None
    if not _password_matches(user.password_hash, password) or user.banned:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def change_password(session: Session, settings: Settings, user: User, current: str, new: str) -> None:
    if not _password_matches(user.password_hash, current):
        raise AccountError("Your current password is not right.")
    set_password(session, settings, user, new)


def set_password(session: Session, settings: Settings, user: User, new: str) -> None:
    """Sets the password and signs the user out everywhere (the caller signs this browser in again)."""
    check_password(settings, new, username=user.username, email=user.email)
    user.password_hash = hash_password(new)
    end_all_sessions(session, user.pk)


def set_upvotes_private(session: Session, user: User, private: bool) -> None:
    user.upvotes_private = bool(private)


# --- sessions ----------------------------------------------------------------


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def start_session(session: Session, settings: Settings, user: User) -> str:
    """A new session for ``user``; returns the cookie value (a fresh random id every time)."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(UserSession(id_hash=_sha256(raw), user_pk=user.pk, created_at=now,
                            expires_at=now + timedelta(days=settings.session_days)))
    session.flush()
    return raw


def session_user(session: Session, raw: str | None) -> User | None:
    if not raw or len(raw) > 200:
        return None
    row = session.get(UserSession, _sha256(raw))
    if row is None or row.expires_at <= utcnow() or row.user.banned:
        return None
    return row.user


def end_session(session: Session, raw: str | None) -> None:
    if raw and len(raw) <= 200:
        session.execute(delete(UserSession).where(UserSession.id_hash == _sha256(raw)))


def end_all_sessions(session: Session, user_pk: int, keep: str | None = None) -> None:
    """Signs the user out everywhere, except the browser whose cookie is ``keep``."""
    stmt = delete(UserSession).where(UserSession.user_pk == user_pk)
    if keep and len(keep) <= 200:
        stmt = stmt.where(UserSession.id_hash != _sha256(keep))
    session.execute(stmt)


# --- API tokens --------------------------------------------------------------


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
    token = ApiToken(user_pk=user.pk, name=name, token_hash=_sha256(raw), scopes=" ".join(wanted), created_at=utcnow())
    session.add(token)
    session.flush()
    return token, raw


def token_user(session: Session, raw: str) -> tuple[User, ApiToken] | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(raw.strip())))
    if row is None or row.revoked_at is not None or row.user.banned:
        return None
    return row.user, row


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


def lock_out_others(session: Session, user_pk: int, keep_session: str | None = None) -> None:
    """After the account changed hands or addresses: every API token revoked, every other
    browser signed out."""
    revoke_all_api_tokens(session, user_pk)
    end_all_sessions(session, user_pk, keep=keep_session)


# --- emailed one-time links --------------------------------------------------
# A link token is "<row pk>.<expiry>.<nonce>.<hmac>": the HMAC (keyed by the instance
# secret) rejects forged or altered tokens before any look-up; the row makes it single use.


def issue_email_token(session: Session, settings: Settings, user: User, purpose: str, email: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    hours = settings.verify_token_hours if purpose == "verify" else settings.reset_token_hours
    now = utcnow()
    nonce = secrets.token_urlsafe(24)
    row = EmailToken(user_pk=user.pk, purpose=purpose, email=email, nonce_hash=_sha256(nonce), created_at=now,
                     expires_at=now + timedelta(hours=hours))
    session.add(row)
    session.flush()
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
    row = session.get(EmailToken, int(parts[0])) if parts[0].isdigit() else None
    if row is None or row.purpose != purpose or not hmac.compare_digest(row.nonce_hash, _sha256(parts[2])):
        raise TokenError("This link is not valid.")
    if row.used_at is not None:
        raise TokenError("This link has already been used.")
    if row.expires_at <= utcnow():
        raise TokenError("This link has expired; ask for a new one.")
    return row


def redeem_email_token(session: Session, settings: Settings, raw: str, purpose: str) -> EmailToken:
    """Checks the token and marks it used, atomically: of two concurrent redeems one wins."""
    row = check_email_token(session, settings, raw, purpose)
    res = session.execute(update(EmailToken).where(EmailToken.pk == row.pk, EmailToken.used_at.is_(None))
                          .values(used_at=utcnow()))
    if not res.rowcount:
        raise TokenError("This link has already been used.")
    return row


def verify_email(session: Session, settings: Settings, raw: str, current_session: str | None = None) -> User:
    """Confirms the address the link was sent to; for a changed email, that becomes the email,
    and every API token, other browser and outstanding link of the account stops working
    (``current_session``, the cookie of the browser that clicked, stays signed in if it is theirs)."""
    row = redeem_email_token(session, settings, raw, "verify")
    user = session.get(User, row.user_pk)
    if row.email != user.email:
        if get_user_by_email(session, row.email) is not None:
            raise TokenError("That address now belongs to another account.")
        user.email = row.email
        spend_email_tokens(session, user.pk, PURPOSES)
        lock_out_others(session, user.pk, keep_session=current_session)
    user.email_verified = True
    return user


def reset_password(session: Session, settings: Settings, raw: str, new_password: str) -> User:
    """Sets a new password from a reset link: every reset link of the account is spent, every
    session ended and every API token revoked."""
    row = check_email_token(session, settings, raw, "reset")
    user = session.get(User, row.user_pk)
    set_password(session, settings, user, new_password)  # validates before the token is spent
    redeem_email_token(session, settings, raw, "reset")
    spend_email_tokens(session, user.pk, ("reset",))
    revoke_all_api_tokens(session, user.pk)
    return user


def spend_email_tokens(session: Session, user_pk: int, purposes: tuple[str, ...]) -> None:
    """Marks every outstanding link of these purposes used: siblings of a link just used,
    or links that went to an address the account no longer has."""
    session.execute(update(EmailToken).where(EmailToken.user_pk == user_pk, EmailToken.purpose.in_(purposes),
                                             EmailToken.used_at.is_(None)).values(used_at=utcnow()))


def request_email_change(session: Session, settings: Settings, user: User, password: str, new_email: str) -> str | None:
    """A verify token for the new address, or None when it is in use (the caller says the same either way)."""
    if not _password_matches(user.password_hash, password):
        raise AccountError("Your current password is not right.")
    new_email = clean_email(new_email)
    if get_user_by_email(session, new_email) is not None:
        return None
    return issue_email_token(session, settings, user, "verify", new_email)


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


def usernames(session: Session, user_pks) -> dict[int, str]:
    """Usernames for a page's submitters, in one query."""
    pks = {pk for pk in user_pks if pk is not None}
    if not pks:
        return {}
    return dict(session.execute(select(User.pk, User.username).where(User.pk.in_(pks))).all())
