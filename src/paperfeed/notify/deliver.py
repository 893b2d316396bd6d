"""Sending claimed webhook deliveries, one HTTP call each, every call recorded.

A delivery is claimed (``store.webhooks.claim_deliveries``) in a short transaction, sent
with no transaction open, and its outcome written in another. 2xx is sent; 5xx, 429,
timeouts and connection errors are retried after ``base * 2**(attempt-1)`` seconds up to
``webhook_max_attempts``; any other answer (3xx included: redirects are not followed, as
they could lead inside) fails at once. ``webhook_max_failures`` failed calls in a row turn
the webhook off. A worker killed between the send and the record leaves the delivery
``sending``; after its lease another worker sends it again with the same idempotency key,
which receivers use to drop the repeat.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.models.notify import JSON_KIND
from paperfeed.notify.payloads import body_for
from paperfeed.notify.signing import HEADER, sign
from paperfeed.notify.targets import Target, TargetError, check_target
from paperfeed.store import webhooks as store
from paperfeed.store.claims import new_owner

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def summary(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed"


@dataclass(frozen=True)
class _Attempt:
    ok: bool
    status_code: int | None
    error: str | None
    retryable: bool


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def deliver_due(db: Database, settings: Settings, clock: Callable[[], datetime] = utc_now,
                owner: str | None = None, limit: int = 50, only: list[int] | None = None) -> DeliveryReport:
    """Claim and send what is due now (or just the deliveries ``only`` names, when still due)."""
    owner = owner or new_owner()
    report = DeliveryReport()
    with db.session() as session:
        pks = store.claim_deliveries(session, owner, clock(), settings.webhook_lease_seconds, limit)
        if only is not None:
            keep = set(only)
            _release(session, [pk for pk in pks if pk not in keep], owner)
            pks = [pk for pk in pks if pk in keep]
    if not pks:
        return report
    with Clients(settings) as clients:
        for pk in pks:
            outcome = send_delivery(db, settings, pk, owner, clock, clients)
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


class Clients:
    """HTTP clients for one batch, one per target host, sharing one TLS context (building one
    costs ~60 ms, ten times a delivery). Per host, because requests go to pinned addresses:
    a pool keyed by address alone could reuse a TLS connection verified for one name to
    send to another name served from the same address."""

    def __init__(self, settings: Settings):
        self.timeout = settings.webhook_timeout_seconds
        self._tls = None
        self._clients: dict[tuple[str, str, int], httpx.Client] = {}

    def __enter__(self) -> "Clients":
        return self

    def __exit__(self, *exc) -> None:
        for client in self._clients.values():
            client.close()

    def for_target(self, target: Target) -> httpx.Client:
        key = (target.scheme, target.host, target.port)
        if key not in self._clients:
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
            self._clients[key] = httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False,
                                              verify=self._tls)
        return self._clients[key]


def _release(session, pks: list[int], owner: str) -> None:
    from sqlalchemy import update

    from paperfeed.models.notify import D_PENDING, WebhookDelivery

    if pks:
        session.execute(update(WebhookDelivery).where(WebhookDelivery.pk.in_(pks), WebhookDelivery.owner == owner)
                        .values(status=D_PENDING, owner=None, lease_until=None))


def send_delivery(db: Database, settings: Settings, pk: int, owner: str, clock: Callable[[], datetime],
                  clients: Clients) -> str:
    """Send one claimed delivery; returns "sent", "retrying" or "failed"."""
    with db.session() as session:
        parts = store.delivery_parts(session, pk)
        if parts is None:
            return "failed"
        delivery, event, hook = parts
        if not hook.enabled:
            store.drop_delivery(session, pk, owner, "webhook disabled")
            return "failed"
        job = {"url": hook.url, "target_kind": hook.kind, "secret": hook.secret, "kind": event.kind,
               "data": event.payload, "key": delivery.idempotency_key, "created": event.created_at,
               "attempts": delivery.attempts}
    started = time.monotonic()
    label, attempt = _attempt(settings, job, clock, clients)
    duration_ms = int((time.monotonic() - started) * 1000)
    now = clock()
    retry_at = None
    if not attempt.ok and attempt.retryable and job["attempts"] + 1 < settings.webhook_max_attempts:
        retry_at = now + timedelta(seconds=settings.webhook_retry_base_seconds * 2 ** job["attempts"])
    with db.session() as session:
        store.record_call(session, pk, owner, now, target=label, ok=attempt.ok, status_code=attempt.status_code,
                          error=attempt.error, retry_at=retry_at, duration_ms=duration_ms,
                          max_failures=settings.webhook_max_failures)
    if not attempt.ok:
        log.info("webhook delivery %s to %s failed: %s", pk, label, attempt.error)
    return "sent" if attempt.ok else "retrying" if retry_at else "failed"


def _attempt(settings: Settings, job: dict, clock: Callable[[], datetime],
             clients: Clients) -> tuple[str, _Attempt]:
    try:
        target = check_target(job["url"], settings.webhook_allow_private)  # again: DNS may have changed
    except TargetError as exc:
        return _label_of(job["url"]), _Attempt(False, None, f"refused: {exc}", retryable=False)
    body = body_for(job["target_kind"], job["kind"], job["data"], settings.base_url, job["key"], job["created"])
    headers = _headers(settings, job, body, clock)
    try:
        response = post_pinned(clients.for_target(target), target, body, headers)
    except httpx.TimeoutException:
        return target.label, _Attempt(False, None, "timed out", retryable=True)
    except httpx.HTTPError as exc:
        return target.label, _Attempt(False, None, f"connection failed: {exc.__class__.__name__}: {exc}"[:300],
                                      retryable=True)
    code = response.status_code
    if 200 <= code < 300:
        return target.label, _Attempt(True, code, None, retryable=False)
    return target.label, _Attempt(False, code, f"HTTP {code}: {response.text[:200]}",
                                  retryable=code >= 500 or code == 429)


def _headers(settings: Settings, job: dict, body: bytes, clock: Callable[[], datetime]) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": settings.user_agent,
               "X-Paperfeed-Event": job["kind"], "X-Paperfeed-Delivery": job["key"], "Idempotency-Key": job["key"]}
    if job["target_kind"] == JSON_KIND:
        timestamp = int(clock().replace(tzinfo=timezone.utc).timestamp())
        headers[HEADER] = sign(job["secret"], timestamp, body)
    return headers


def post_pinned(client: httpx.Client, target: Target, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST to the address that was checked, not to whatever the name resolves to now; the
    name still goes in Host and, for https, in SNI and the certificate check."""
    url = httpx.URL(target.url)
    host_header = url.netloc.decode("ascii")
    pinned = url.copy_with(host=target.address)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = client.build_request("POST", pinned, content=body, headers={**headers, "Host": host_header},
                                   extensions=extensions)
    return client.send(request)


def _label_of(url: str) -> str:
    try:
        from paperfeed.notify.targets import parse_url

        scheme, host, port = parse_url(url)
        return f"{scheme}://{host}:{port}"
    except TargetError:
        return "(bad url)"
