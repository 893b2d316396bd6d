"""Sending a period's digests exactly once per subscriber, safe to rerun and to run twice.

Work is claimed in the database: ``plan_deliveries`` inserts one row per due subscriber and
period (unique), and senders claim batches of rows with a lease (an atomic UPDATE; SKIP
LOCKED on PostgreSQL). While a sender works, a heartbeat renews its claims every
lease/3 (at most every 10 s), so a batch that takes longer than the lease keeps them.

The one step that cannot be taken back, the end of SMTP's DATA, is taken by one connection
at a time (the others overlap their MAIL, RCPT and upload meanwhile): the claims are known
to be held (renewed recently enough), the message is handed over, and the delivery is
marked sent, in that order. So a sender killed at
any moment leaves at most one message that the server accepted but nobody recorded: the
one duplicate a rerun can send once the dead sender's lease has expired.

A sender that runs out of work while another sender holds live claims waits for that
sender while its heartbeat goes on; claims that stop being renewed belong to a dead
sender, and the run ends reporting them (``SendReport.claimed_elsewhere``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from paperfeed.db import Database
from paperfeed.digest.choose import Interests, Pool
from paperfeed.digest.personal import papers_for
from paperfeed.digest.pool import DigestPeriod, build_pool, labelled, period_for, prepare_queries
from paperfeed.digest.render import DigestMail, DigestRenderer, Recipient
from paperfeed.mail import Mailer, PermanentMailError, TemporaryMailError, address_of
from paperfeed.models import utcnow
from paperfeed.models.digest import ACTIVE, DigestSubscriber
from paperfeed.store import subscriptions as store

log = logging.getLogger(__name__)
HISTORY_DAYS = 60  # papers sent within this many days are not sent again


@dataclass
class SendReport:
    period_key: str = ""
    planned: int = 0
    sent: int = 0
    skipped: int = 0  # nothing new to show, or the subscriber left meanwhile
    retried: int = 0
    failed: int = 0  # gave up after temporary failures
    bounced: int = 0  # permanent failures
    paused: int = 0
    batches: int = 0
    lost_claims: int = 0  # not sent: the claims were not renewed in time (left to another sender)
    claimed_elsewhere: int = 0  # left claimed by another sender when this one stopped
    claimed_until: datetime | None = None  # when the last of those claims expires
    claims_abandoned: bool = False  # their sender stopped renewing them (killed?)
    timings: dict[str, float] = field(default_factory=lambda: {"pool": 0.0, "choose": 0.0, "render": 0.0,
                                                               "smtp": 0.0, "db": 0.0})

    def summary(self) -> str:
        t = self.timings
        return (f"{self.period_key}: planned {self.planned}, sent {self.sent}, skipped {self.skipped}, "
                f"retried {self.retried}, failed {self.failed}, bounced {self.bounced}, paused {self.paused} "
                f"(pool {t['pool']:.2f}s, choose {t['choose']:.2f}s, render {t['render']:.2f}s, "
                f"smtp {t['smtp']:.2f}s, db {t['db']:.2f}s)")


@dataclass(frozen=True)
class Claimed:
    pk: int
    subscriber_pk: int
    owner: str
    attempts: int


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


MAX_RENEW_INTERVAL = 10.0  # seconds: how stale a live sender's claims can look to others


def renew_interval(settings) -> float:
    return min(settings.digest_lease_seconds * settings.digest_lease_renew_fraction, MAX_RENEW_INTERVAL)


def send_period(db: Database, kind: str, today: date | None = None, *, dry_run_dir: Path | None = None,
                batch_size: int | None = None, wait_for_retries: bool = True) -> SendReport:
    """Send (or resume sending) the ``kind`` digests of the period containing ``today``."""
    settings = db.settings
    period = period_for(kind, today or today_utc())
    report = SendReport(period_key=period.key)
    clock = time.perf_counter()
    with db.session() as session:
        report.planned = store.plan_deliveries(session, period.key, kind, period.max_weekday, utcnow())
    pool, span = build_pool(db, period)
    period = labelled(period, span)
    report.timings["pool"] += time.perf_counter() - clock
    heartbeat = _Heartbeat(db, period, owner=uuid.uuid4().hex)
    with heartbeat, _Sender(db, DigestRenderer(settings, period), pool, span, report, dry_run_dir,
                            heartbeat) as sender:
        while True:
            batch = _claim(db, period, heartbeat, batch_size or settings.digest_batch_size, report)
            if batch:
                sender.send_batch(batch)
            elif not _more_may_come(db, period, heartbeat.owner, report, wait_for_retries):
                break
    log.info("%s", report.summary())
    return report


def _more_may_come(db: Database, period: DigestPeriod, owner: str, report: SendReport, wait: bool) -> bool:
    """Nothing to claim now: True after waiting for a retry to fall due or for a live sender."""
    if wait and _wait_for_retry(db, period):
        return True
    return _wait_for_other_senders(db, period, owner, report, wait)


def _wait_for_other_senders(db: Database, period: DigestPeriod, owner: str, report: SendReport,
                            wait: bool) -> bool:
    """True after a pause when another sender holds live claims and still renews them (it is
    at work: wait for it, and take over whatever it leaves to expire). False when no other
    claims are live, or their sender stopped renewing: those are reported, not waited for."""
    interval = renew_interval(db.settings)
    lease = timedelta(seconds=db.settings.digest_lease_seconds)
    now = utcnow()
    with db.session() as session:
        ends = store.claims_of_others(session, period.key, owner, now)
    report.claimed_elsewhere, report.claimed_until = len(ends), max(ends, default=None)
    if not ends:
        return False
    # Not renewed for 1.5 renewal intervals: the sender is gone (senders share the lease setting).
    renewed_at = report.claimed_until - lease
    report.claims_abandoned = (now - renewed_at).total_seconds() > 1.5 * interval
    if not wait or report.claims_abandoned:
        return False
    time.sleep(min(interval / 2, 1.0))
    return True


class _Heartbeat:
    """Renews every claim of ``owner`` every renew_interval while the sender runs, so a batch
    that takes longer than the lease is not taken over by another sender; and knows, without
    asking the database, whether the claims are still surely held."""

    def __init__(self, db: Database, period: DigestPeriod, owner: str):
        self.db, self.period, self.owner = db, period, owner
        self.lease = db.settings.digest_lease_seconds
        self.renewed_since = time.monotonic()  # claims made or renewed after this last until it + lease
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="digest-heartbeat", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()

    def renewed(self, started: float) -> None:
        """Every claim held now was made or renewed at monotonic time ``started`` or later
        (batches are claimed one at a time, each after the previous one is done)."""
        self.renewed_since = max(self.renewed_since, started)

    def holds_claims(self) -> bool:
        """True while no other sender can have taken the claims over, with a renewal interval
        to spare for handing a message over and recording it."""
        return time.monotonic() < self.renewed_since + self.lease - renew_interval(self.db.settings)

    def _run(self) -> None:
        lease = timedelta(seconds=self.lease)
        while not self.stopped.wait(renew_interval(self.db.settings)):
            started = time.monotonic()
            try:
                with self.db.session() as session:
                    store.renew_claims(session, self.period.key, self.owner, utcnow(), lease)
            except Exception as exc:  # a database hiccup: the next beat tries again
                log.warning("could not renew digest claims: %s", exc)
            else:
                self.renewed(started)


def _claim(db: Database, period: DigestPeriod, heartbeat: _Heartbeat, size: int,
           report: SendReport) -> list[Claimed]:
    clock = time.perf_counter()
    lease = timedelta(seconds=db.settings.digest_lease_seconds)
    owner = heartbeat.owner
    started = time.monotonic()
    with db.session() as session:
        rows = store.claim_deliveries(session, period.key, owner, size, utcnow(), lease)
        batch = [Claimed(d.pk, d.subscriber_pk, owner, d.attempts) for d in rows]
    heartbeat.renewed(started)
    report.timings["db"] += time.perf_counter() - clock
    return batch


def _wait_for_retry(db: Database, period: DigestPeriod) -> bool:
    """Sleep until the next delivery in backoff is due; False when none is waiting."""
    with db.session() as session:
        due = store.next_retry_at(session, period.key)
    if due is None:
        return False
    time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 0.01)
    return True


class _Sender:
    """Chooses and renders on the calling thread; ``digest_smtp_connections`` worker threads,
    each with its own SMTP connection, transmit and record each message as soon as the
    server accepts it. SMTP round trips dominate, so several connections overlap them."""

    def __init__(self, db: Database, renderer: DigestRenderer, pool: Pool, span, report: SendReport,
                 dry_run_dir: Path | None, heartbeat: _Heartbeat):
        self.db, self.renderer, self.pool, self.span, self.report = db, renderer, pool, span, report
        self.heartbeat = heartbeat
        self.dry_run_dir = dry_run_dir
        self.lock = threading.Lock()
        self.handover = threading.Lock()  # one message at a time past the point of no return
        self.local = threading.local()
        self.mailers: list[Mailer] = []
        self.workers = ThreadPoolExecutor(max(1, db.settings.digest_smtp_connections), "digest-smtp")
        self.sender_address = address_of(db.settings.mail_from)

    def __enter__(self) -> "_Sender":
        return self

    def __exit__(self, *exc) -> None:
        self.workers.shutdown(wait=True)
        for mailer in self.mailers:
            mailer.close()

    def send_batch(self, batch: list[Claimed]) -> None:
        report = self.report
        clock = time.perf_counter()
        pks = [c.subscriber_pk for c in batch]
        with self.db.session() as session:
            subscribers = store.subscribers_by_pk(session, pks)
            history = store.sent_history(session, pks, utcnow() - timedelta(days=HISTORY_DAYS))
        self._add("db", time.perf_counter() - clock)
        clock = time.perf_counter()
        prepare_queries(self.db, self.pool, {k for s in subscribers.values() for k in s.keywords}, self.span)
        self._add("choose", time.perf_counter() - clock)
        jobs = [self._prepare(claimed, subscribers.get(claimed.subscriber_pk), history) for claimed in batch]
        # Wait for the whole batch: its claims must not outlive the lease unnoticed.
        for future in [self.workers.submit(self._transmit, *job) for job in jobs if job is not None]:
            future.result()
        report.batches += 1

    def _prepare(self, claimed: Claimed, sub: DigestSubscriber | None, history: dict[int, set[int]]):
        if sub is None or sub.status != ACTIVE:
            self._finish(store.mark_skipped, "skipped", claimed.pk, claimed.owner, "no longer subscribed")
            return None
        clock = time.perf_counter()
        interests = Interests(tuple(sub.categories), tuple(sub.keywords), tuple(sub.authors))
        papers, personalised = papers_for(self.db, self.pool, sub, interests, history.get(sub.pk, frozenset()))
        self._add("choose", time.perf_counter() - clock)
        if not papers:
            self._finish(store.mark_skipped, "skipped", claimed.pk, claimed.owner, "nothing new")
            return None
        clock = time.perf_counter()
        mail = self.renderer.render(Recipient(sub.pk, sub.email, sub.name), papers, personalised)
        self._add("render", time.perf_counter() - clock)
        return claimed, mail, [p.pk for p in papers]

    def _transmit(self, claimed: Claimed, mail: DigestMail, paper_pks: list[int]) -> None:
        clock = time.perf_counter()
        try:
            handed_over = self._mailer().send_bytes(self.sender_address, mail.recipient.email, mail.data,
                                                    lambda: self._handover(claimed, mail, paper_pks))
        except TemporaryMailError as exc:
            self._add("smtp", time.perf_counter() - clock)
            self._temporary_failure(claimed, str(exc))
            return
        except PermanentMailError as exc:
            self._add("smtp", time.perf_counter() - clock)
            self._permanent_failure(claimed, str(exc))
            return
        self._add("smtp", time.perf_counter() - clock, None if handed_over else "lost_claims")

    @contextmanager
    def _handover(self, claimed: Claimed, mail: DigestMail, paper_pks: list[int]):
        """Around the end of DATA: only while this sender surely holds the claim, and recorded
        as sent before any other message may be handed over."""
        with self.handover:
            if not self.heartbeat.holds_claims():
                log.warning("digest delivery %s: claims not renewed in time; left to whoever takes them over",
                            claimed.pk)
                yield False
                return
            yield True  # the server accepts the message here; an error raises instead
            self._finish(store.mark_sent, "sent", claimed.pk, claimed.owner, paper_pks, mail.message_id,
                         utcnow())

    def _mailer(self) -> Mailer:
        mailer = getattr(self.local, "mailer", None)
        if mailer is None:
            mailer = self.local.mailer = Mailer(self.db.settings, self.dry_run_dir)
            with self.lock:
                self.mailers.append(mailer)
        return mailer

    def _add(self, timing: str, seconds: float, counter: str | None = None) -> None:
        with self.lock:
            self.report.timings[timing] += seconds
            if counter:
                setattr(self.report, counter, getattr(self.report, counter) + 1)

    def _finish(self, func, counter: str | None, *args):
        clock = time.perf_counter()
        with self.db.session() as session:
            result = func(session, *args)
        self._add("db", time.perf_counter() - clock, counter)
        return result

    def _temporary_failure(self, claimed: Claimed, error: str) -> None:
        settings = self.db.settings
        attempt = claimed.attempts + 1
        retry_at = None
        if attempt < settings.digest_max_attempts:
            retry_at = utcnow() + timedelta(seconds=settings.digest_retry_base_seconds * 2 ** (attempt - 1))
        log.warning("digest delivery %s: temporary failure (attempt %s): %s", claimed.pk, attempt, error)
        self._finish(store.mark_retry, "retried" if retry_at else "failed", claimed.pk, claimed.owner, error,
                     retry_at)

    def _permanent_failure(self, claimed: Claimed, error: str) -> None:
        settings = self.db.settings
        log.warning("digest delivery %s: permanent failure: %s", claimed.pk, error)
        paused = self._finish(store.mark_bounced, "bounced", claimed.pk, claimed.owner, claimed.subscriber_pk,
                              error, settings.digest_max_bounces, utcnow())
        if paused:
            self._add("db", 0.0, "paused")
