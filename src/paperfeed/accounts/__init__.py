"""The accounts service, above store: password policy and hashing, sessions, API tokens,
signed one-time links, the account flows and their mail. ``store/users.py`` holds the rows.

The names most callers need are here; each lives in the module named for its concern.
"""

from paperfeed.accounts.api_tokens import SCOPES, create_api_token, lock_out_others, token_user
from paperfeed.accounts.email_tokens import PURPOSES, check_email_token, issue_email_token, redeem_email_token
from paperfeed.accounts.errors import AccountError, EmailTaken, TokenError
from paperfeed.accounts.flows import create_user, request_email_change, reset_password, verify_email
from paperfeed.accounts.passwords import (authenticate, change_password, check_login, check_password,
                                          common_passwords, hash_password, set_password)
from paperfeed.accounts.sessions import end_all_sessions, end_session, session_user, start_session
from paperfeed.accounts.validation import USERNAME_RE, clean_email, clean_username

__all__ = [
    "SCOPES", "PURPOSES", "USERNAME_RE", "AccountError", "EmailTaken", "TokenError",
    "authenticate", "change_password", "check_email_token", "check_login", "check_password", "clean_email",
    "clean_username", "common_passwords", "create_api_token", "create_user", "end_all_sessions", "end_session",
    "hash_password", "issue_email_token", "lock_out_others", "redeem_email_token", "request_email_change",
    "reset_password", "session_user", "set_password", "start_session", "token_user", "verify_email",
]
