"""The signature of generic JSON webhooks.

``X-Paperfeed-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`` with the
webhook's secret as the key. Signing the timestamp with the body lets a receiver refuse
replays of an old message (check that ``t`` is recent); the README shows the recipe, and
``verify`` is that recipe.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Paperfeed-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance: int = 300) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its time is within ``tolerance``."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))
