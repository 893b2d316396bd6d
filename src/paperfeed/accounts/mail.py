"""Account mail: what the messages say, and sending them so that no outcome tells a
visitor whether an address has an account.

The web layer sends these after its response, once the transaction that made a link has
committed (web/accounts.py ``deliver_later``).
"""

from __future__ import annotations

import logging
import smtplib

from paperfeed.accounts.email_tokens import issue_email_token
from paperfeed.accounts.errors import AccountError
from paperfeed.accounts.validation import clean_email
from paperfeed.config import Settings
from paperfeed.mail import new_message, send_message
from paperfeed.store.users import get_user_by_email

log = logging.getLogger(__name__)


class MailStatus:
    """Whether this process's last account mail reached the mail server. Pages may say so:
    it is about the site, never about one address, so it tells nobody who has an account."""

    def __init__(self) -> None:
        self.last_failed = False

    def record(self, delivered: bool) -> None:
        self.last_failed = not delivered


def deliver(settings: Settings, to: str, subject: str, text: str, status: MailStatus | None = None) -> None:
    """Sends an account mail; a mail server failure is logged and noted in ``status``, never
    shown for this address (that would tell whether it has an account)."""
    try:
        send_message(settings, new_message(settings, to, subject, text))
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("could not send %r to %s: %s", subject, to, exc)
        delivered = False
    else:
        delivered = True
    if status is not None:
        status.record(delivered)


def signup_attempt_mail(settings: Settings, login_url: str, reset_url: str) -> tuple[str, str]:
    """To the owner of an address someone tried to sign up with again."""
    return (f"Someone tried to sign up on {settings.site_name}",
            f"Someone (maybe you) tried to create an account with this address, which already has one.\n"
            f"Sign in: {login_url}\nForgot your password? {reset_url}\n")


def verification_mail(settings: Settings, verify_url: str) -> tuple[str, str]:
    return (f"Confirm your email for {settings.site_name}",
            f"Confirm this address by opening:\n\n{verify_url}\n\n"
            f"The link works once and expires in {settings.verify_token_hours} hours.\n")


def reset_mail(settings: Settings, reset_url: str) -> tuple[str, str]:
    return (f"Reset your {settings.site_name} password",
            f"Choose a new password here:\n\n{reset_url}\n\n"
            f"The link works once and expires in {settings.reset_token_hours} hours. "
            f"If you did not ask for this, ignore this mail.\n")


def send_reset_link(db, settings: Settings, link_prefix: str, email: str) -> None:
    """After the response: a reset link for the account that uses ``email``, if any. The
    link's row is committed before the mail goes."""
    try:
        address = clean_email(email)
    except AccountError:
        return
    with db.session() as session:
        user = get_user_by_email(session, address)
        if user is None or user.banned:
            return
        token = issue_email_token(session, settings, user, "reset", user.email)
        to = user.email
    deliver(settings, to, *reset_mail(settings, link_prefix + token))
