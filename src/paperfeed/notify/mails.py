"""Mails of events (a reply, a saved search's new matches), sent from the event outbox by the
worker: claimed with a lease, sent with no transaction open, then marked sent."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.mail import MailError, new_message, send_message
from paperfeed.notify.payloads import headline, items
from paperfeed.store import notifications as store

log = logging.getLogger(__name__)


def send_due_mails(db: Database, settings: Settings, clock: Callable[[], datetime], limit: int = 50) -> tuple[int, int]:
    """Returns (sent, failed)."""
    with db.session() as session:
        pks = store.claim_mails(session, clock(), settings.digest_lease_seconds, limit)
    sent = failed = 0
    for pk in pks:
        with db.session() as session:
            parts = store.mail_parts(session, pk)
            if parts is None:
                continue
            event, user = parts
            message = event_mail(settings, event.kind, event.payload, user.email)
            attempts = event.mail_attempts
        error = _send(settings, message)
        with db.session() as session:
            store.finish_mail(session, pk, clock(), error, give_up=attempts + 1 >= settings.digest_max_attempts)
        sent, failed = sent + (error is None), failed + (error is not None)
    return sent, failed


def event_mail(settings: Settings, kind: str, data: dict, to: str):
    subject = headline(kind, data)
    lines = [subject, ""]
    for item in items(kind, data, settings.base_url):
        lines += [item["title"], item["url"]] + ([item["text"]] if item["text"] else []) + [""]
    lines.append(f"Change what {settings.site_name} sends you: {settings.base_url.rstrip('/')}/settings/notifications")
    return new_message(settings, to, f"[{settings.site_name}] {subject}"[:200], "\n".join(lines) + "\n")


def _send(settings: Settings, message) -> str | None:
    """None when the server took the message, else what went wrong."""
    try:
        send_message(settings, message)
    except (MailError, smtplib.SMTPException, OSError) as exc:
        log.warning("notification mail to %s failed: %s", message["To"], exc)
        return f"{exc.__class__.__name__}: {exc}"
    return None
