"""Secrets (session cookies, API tokens, link nonces) are random and only their sha256 is
stored, so a copy of the database lets nobody sign in."""

from __future__ import annotations

import hashlib


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
