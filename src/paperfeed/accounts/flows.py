"""The account flows that span several steps: sign up, confirm an address, reset a
password, change the address."""

from __future__ import annotations

from sqlalchemy.orm import Session

from paperfeed.accounts.api_tokens import lock_out_others
from paperfeed.accounts.email_tokens import PURPOSES, check_email_token, issue_email_token, redeem_email_token
from paperfeed.accounts.errors import AccountError, EmailTaken, TokenError
from paperfeed.accounts.passwords import check_password, hash_password, password_matches, set_password
from paperfeed.accounts.validation import clean_email, clean_username
from paperfeed.config import Settings
from paperfeed.models import User
from paperfeed.store import users as user_store


def create_user(session: Session, settings: Settings, username: str, email: str, password: str, *,
                is_admin: bool = False, verified: bool = False) -> User:
    """A new account. Raises AccountError (bad input, username taken) or EmailTaken."""
    username, email = clean_username(username), clean_email(email)
    check_password(settings, password, username=username, email=email)
    password_hash = hash_password(password)  # hashed before the checks so both answers take as long
    if user_store.get_user_by_name(session, username) is not None:
        raise AccountError("That username is taken.")
    if user_store.get_user_by_email(session, email) is not None:
        raise EmailTaken("email in use")
    return user_store.add_user(session, username, email, password_hash, is_admin=is_admin, verified=verified)


def verify_email(session: Session, settings: Settings, raw: str, current_session: str | None = None) -> User:
    """Confirms the address the link was sent to; for a changed email, that becomes the email,
    and every API token, other browser and outstanding link of the account stops working
    (``current_session``, the cookie of the browser that clicked, stays signed in if it is theirs)."""
    row = redeem_email_token(session, settings, raw, "verify")
    user = user_store.get_user(session, row.user_pk)
    if row.email != user.email:
        if user_store.get_user_by_email(session, row.email) is not None:
            raise TokenError("That address now belongs to another account.")
        user_store.set_email(user, row.email)
        user_store.spend_email_tokens(session, user.pk, PURPOSES)
        lock_out_others(session, user.pk, keep_session=current_session)
    user_store.mark_email_verified(user)
    return user


def reset_password(session: Session, settings: Settings, raw: str, new_password: str) -> User:
    """Sets a new password from a reset link: every reset link of the account is spent, every
    session ended and every API token revoked."""
    row = check_email_token(session, settings, raw, "reset")
    user = user_store.get_user(session, row.user_pk)
    set_password(session, settings, user, new_password)  # validates before the token is spent
    redeem_email_token(session, settings, raw, "reset")
    user_store.spend_email_tokens(session, user.pk, ("reset",))
    user_store.revoke_all_api_tokens(session, user.pk)
    return user


def request_email_change(session: Session, settings: Settings, user: User, password: str, new_email: str) -> str | None:
    """A verify token for the new address, or None when it is in use (the caller says the same either way)."""
    if not password_matches(user.password_hash, password):
        raise AccountError("Your current password is not right.")
    new_email = clean_email(new_email)
    if user_store.get_user_by_email(session, new_email) is not None:
        return None
    return issue_email_token(session, settings, user, "verify", new_email)
