"""What an account request can fail with; every message is safe to show."""

from __future__ import annotations


class AccountError(ValueError):
    """A request about an account that cannot be done; the message is safe to show."""


class EmailTaken(AccountError):
    """Raised only to callers that must not reveal it (sign-up answers as if it worked)."""


class TokenError(AccountError):
    pass
