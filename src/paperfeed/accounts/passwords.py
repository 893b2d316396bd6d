"""Passwords: the policy, argon2 hashing, and checking a sign-in without telling by its
timing whether the account exists."""

from __future__ import annotations

import secrets
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from paperfeed.accounts.errors import AccountError
from paperfeed.accounts.sessions import end_all_sessions
from paperfeed.config import Settings
from paperfeed.models import User
from paperfeed.store.users import find_login, set_password_hash

_hasher = PasswordHasher()  # argon2id with the library's recommended cost


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


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def authenticate(session: Session, login: str, password: str) -> User | None:
    """The user whose username or email and password match, else None."""
    return check_login(find_login(session, login), password)


def check_login(user: User | None, password: str) -> User | None:
    """``user`` when the password is theirs and they are not banned, else None.

    An unknown login (None) still costs one argon2 verification, so timing does not tell
    whether an account exists.
    """
    if user is None:
        password_matches(_dummy_hash(), password)
        return None
    if not password_matches(user.password_hash, password) or user.banned:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        set_password_hash(user, hash_password(password))
    return user


def change_password(session: Session, settings: Settings, user: User, current: str, new: str) -> None:
    if not password_matches(user.password_hash, current):
        raise AccountError("Your current password is not right.")
    set_password(session, settings, user, new)


def set_password(session: Session, settings: Settings, user: User, new: str) -> None:
    """Sets the password and signs the user out everywhere (the caller signs this browser in again)."""
    check_password(settings, new, username=user.username, email=user.email)
    set_password_hash(user, hash_password(new))
    end_all_sessions(session, user.pk)
