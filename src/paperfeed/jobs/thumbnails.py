"""The ``thumbnails`` job: first-page thumbnails for the papers on day pages, newest day first.

Each paper is claimed in the database before its PDF is fetched (store/thumbnails.py), so
runners on several nodes, or a ``paperfeed thumbnails run`` beside the worker, never fetch
one PDF twice; a run that dies leaves claims that lapse and are taken over, and the next
run goes on where it stopped. No database connection is held while a PDF downloads or
renders. A paper whose page someone opened goes first (``WantedPapers``): the page only
notes it in memory, since a GET never writes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.ingest.http import PoliteClient
from paperfeed.ingest.thumbnails import NoThumbnail, fetch_pdf, render_first_page
from paperfeed.jobs.fetch import Job, JobContext
from paperfeed.store.claims import new_owner
from paperfeed.store.thumbnails import Claimed, backlog, claim_next, record_failure, record_made

log = logging.getLogger(__name__)
JOB_NAME = "thumbnails"
MAX_WANTED = 1000


class WantedPapers:
    """Papers whose thumbnail someone is waiting for, in this process (newest request last)."""

    def __init__(self, limit: int = MAX_WANTED):
        self._pks: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()
        self.limit = limit

    def add(self, pk: int) -> None:
        with self._lock:
            self._pks[pk] = None
            while len(self._pks) > self.limit:
                self._pks.popitem(last=False)

    def snapshot(self) -> list[int]:
        with self._lock:
            return list(reversed(self._pks))  # the latest request first

    def discard(self, pks) -> None:
        with self._lock:
            for pk in pks:
                self._pks.pop(pk, None)


@dataclass(frozen=True)
class EveryMinutes:
    """Every ``minutes`` minutes, counted from midnight UTC."""

    minutes: int

    def next_after(self, when: datetime) -> datetime:
        return self.previous(when) + timedelta(minutes=self.minutes)

    def previous(self, when: datetime) -> datetime:
        midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight + timedelta(minutes=self.minutes * int((when - midnight) / timedelta(minutes=self.minutes)))

    def describe(self) -> str:
        return f"every {self.minutes} min"


@dataclass
class ThumbnailReport:
    made: int = 0
    failed: int = 0
    retrying: int = 0
    reasons: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = f"made {self.made}, failed {self.failed}, to retry {self.retrying}"
        if self.reasons:
            line += " (" + "; ".join(dict.fromkeys(self.reasons)) + ")"
        return line


def thumbnail_job(settings: Settings, wanted: WantedPapers | None = None) -> Job:
    return Job(JOB_NAME, EveryMinutes(max(1, settings.thumbnail_every_minutes)),
               lambda ctx: run_thumbnails(ctx, wanted))


def run_thumbnails(ctx: JobContext, wanted: WantedPapers | None = None) -> None:
    started = time.monotonic()
    with ctx.bars("thumbnails") as on_progress:
        report = make_thumbnails(ctx.db, ctx.settings, ctx.client, owner=new_owner(),
                                 clock=lambda: ctx.now + timedelta(seconds=time.monotonic() - started),
                                 limit=ctx.settings.thumbnail_batch, wanted=wanted, on_progress=on_progress)
    with ctx.db.session() as session:
        left = backlog(session, ctx.settings.thumbnail_days)
    ctx.note(f"{report.summary()}; {left.waiting:,} waiting")


def make_thumbnails(db: Database, settings: Settings, client: PoliteClient, *, owner: str,
                    clock: Callable[[], datetime], limit: int, wanted: WantedPapers | None = None,
                    on_progress: Callable[[int, int], None] | None = None) -> ThumbnailReport:
    """Make up to ``limit`` thumbnails, claiming one paper at a time; returns what happened.
    A bad PDF is recorded and the run goes on: nothing about one paper stops it."""
    report = ThumbnailReport()
    for done in range(limit):
        claimed = _claim(db, settings, owner, clock(), wanted)
        if claimed is None:
            break
        _make_one(db, settings, client, owner, claimed, clock, report)
        if on_progress:
            on_progress(done + 1, limit)
    return report


def _claim(db: Database, settings: Settings, owner: str, now: datetime, wanted: WantedPapers | None):
    asked = wanted.snapshot() if wanted else []
    with db.session() as session:
        claimed = claim_next(session, owner, now, settings.thumbnail_lease_seconds, settings.thumbnail_days, asked)
    if wanted and asked:
        # a wanted paper that was not claimable has its outcome (or another worker has it)
        wanted.discard([claimed.pk] if claimed is not None and claimed.pk in asked else asked)
    return claimed


def _make_one(db: Database, settings: Settings, client: PoliteClient, owner: str, claimed: Claimed,
              clock: Callable[[], datetime], report: ThumbnailReport) -> None:
    try:
        if claimed.withdrawn:
            raise NoThumbnail("withdrawn on arXiv", permanent=True)
        images = render_first_page(fetch_pdf(client, settings, claimed.id))
    except NoThumbnail as exc:
        _record_failure(db, settings, owner, claimed, exc, clock(), report)
        return
    except Exception as exc:  # noqa: BLE001 - a renderer bug on one file must not stop the run
        log.exception("thumbnail for %s failed", claimed.id)
        _record_failure(db, settings, owner, claimed, NoThumbnail(f"render error: {exc.__class__.__name__}", True),
                        clock(), report)
        return
    with db.session() as session:
        stored = record_made(session, claimed.pk, owner, images, clock())
    report.made += stored


def _record_failure(db: Database, settings: Settings, owner: str, claimed: Claimed, exc: NoThumbnail,
                    now: datetime, report: ThumbnailReport) -> None:
    attempts = claimed.attempts + 1
    retry_at = None
    reason = exc.reason
    if not exc.permanent:
        if attempts >= settings.thumbnail_max_attempts:
            reason = f"gave up after {attempts} attempts: {exc.reason}"
        else:
            retry_at = now + timedelta(minutes=settings.thumbnail_retry_minutes * 2 ** (attempts - 1))
    with db.session() as session:
        record_failure(session, claimed.pk, owner, reason, retry_at)
    log.info("no thumbnail for %s: %s", claimed.id, reason)
    report.reasons.append(reason.split(":")[0])
    if retry_at is None:
        report.failed += 1
    else:
        report.retrying += 1
