"""The shape of a username and an email address."""

from __future__ import annotations

from paperfeed.accounts.errors import AccountError
from paperfeed.mail import InvalidAddress, normalize_address
from paperfeed.store.users import USERNAME_RE


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
