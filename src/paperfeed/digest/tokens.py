"""Signed tokens in digest links: HMAC-SHA256 with settings.signing_key(); no login needed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from paperfeed.config import Settings


class BadToken(ValueError):
    """A link token that is malformed, forged or expired; the message is shown to the user."""


MAX_ROW_ID = 2**31 - 1  # INTEGER on PostgreSQL: a larger id overflowed in the look-up (a 500)


def _row_id(text: str) -> int | None:
    """A row id written in ASCII digits and in range; str.isdigit alone accepts "²" or "١"."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None


def _same(given: str, expected: str) -> bool:
    # compare_digest raises TypeError for str with non-ASCII characters: compare bytes
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


def _mac(settings: Settings, text: str) -> str:
    digest = hmac.new(settings.signing_key(), text.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def unsubscribe_token(settings: Settings, subscriber_pk: int, email: str) -> str:
    # The address is inside the MAC, so a token stays bound to the address it was sent to.
    return f"{subscriber_pk}.{_mac(settings, f'unsubscribe|{subscriber_pk}|{email}')}"


def read_unsubscribe_token(settings: Settings, token: str) -> tuple[int, str]:
    """Returns (subscriber_pk, mac); the caller checks it against the subscriber's address."""
    pk_text, _, mac = token.partition(".")
    pk = _row_id(pk_text)
    if pk is None or not mac:
        raise BadToken("This unsubscribe link is not valid.")
    return pk, mac


def unsubscribe_token_matches(settings: Settings, token: str, subscriber_pk: int, email: str) -> bool:
    return _same(token, unsubscribe_token(settings, subscriber_pk, email))


def confirm_token(settings: Settings, subscriber_pk: int, nonce: str, ttl_seconds: int, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + ttl_seconds)
    return f"{subscriber_pk}.{nonce}.{expires}.{_mac(settings, f'confirm|{subscriber_pk}|{nonce}|{expires}')}"


def read_confirm_token(settings: Settings, token: str, now: float | None = None) -> tuple[int, str]:
    """(subscriber_pk, nonce) of a genuine, unexpired confirmation token."""
    parts = token.split(".")
    if len(parts) != 4 or _row_id(parts[0]) is None or not (parts[2].isascii() and parts[2].isdigit()):
        raise BadToken("This confirmation link is not valid.")
    pk, nonce, expires, mac = parts
    if not _same(mac, _mac(settings, f"confirm|{pk}|{nonce}|{expires}")):
        raise BadToken("This confirmation link is not valid.")
    if int(expires) < (now if now is not None else time.time()):
        raise BadToken("This confirmation link has expired. Subscribe again to get a new one.")
    return int(pk), nonce
