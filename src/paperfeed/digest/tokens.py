"""Signed tokens in digest links: HMAC-SHA256 with settings.signing_key(); no login needed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from paperfeed.config import Settings


class BadToken(ValueError):
    """A link token that is malformed, forged or expired; the message is shown to the user."""


def _mac(settings: Settings, text: str) -> str:
    digest = hmac.new(settings.signing_key(), text.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def unsubscribe_token(settings: Settings, subscriber_pk: int, email: str) -> str:
    # The address is inside the MAC, so a token stays bound to the address it was sent to.
    return f"{subscriber_pk}.{_mac(settings, f'unsubscribe|{subscriber_pk}|{email}')}"


def read_unsubscribe_token(settings: Settings, token: str) -> tuple[int, str]:
    """Returns (subscriber_pk, mac); the caller checks it against the subscriber's address."""
    pk_text, _, mac = token.partition(".")
    if not pk_text.isdigit() or not mac:
        raise BadToken("This unsubscribe link is not valid.")
    return int(pk_text), mac


def unsubscribe_token_matches(settings: Settings, token: str, subscriber_pk: int, email: str) -> bool:
    return hmac.compare_digest(token, unsubscribe_token(settings, subscriber_pk, email))


def confirm_token(settings: Settings, subscriber_pk: int, nonce: str, ttl_seconds: int, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + ttl_seconds)
    return f"{subscriber_pk}.{nonce}.{expires}.{_mac(settings, f'confirm|{subscriber_pk}|{nonce}|{expires}')}"


def read_confirm_token(settings: Settings, token: str, now: float | None = None) -> tuple[int, str]:
    """(subscriber_pk, nonce) of a genuine, unexpired confirmation token."""
    parts = token.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
        raise BadToken("This confirmation link is not valid.")
    pk, nonce, expires, mac = parts
    if not hmac.compare_digest(mac, _mac(settings, f"confirm|{pk}|{nonce}|{expires}")):
        raise BadToken("This confirmation link is not valid.")
    if int(expires) < (now if now is not None else time.time()):
        raise BadToken("This confirmation link has expired. Subscribe again to get a new one.")
    return int(pk), nonce
