"""Running due jobs: claim, run, record. ``JobService`` does it in a thread, once a minute.

``now`` is always passed in (the service reads the clock once per check), so tests pin it.
While a job runs, a heartbeat renews its claim; a runner that dies stops renewing and its
claim lapses after ``job_lease_seconds``, when another runner takes the job over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.jobs import state
from paperfeed.jobs.fetch import Job, JobContext, configured_jobs, make_client
from paperfeed.jobs.schedule import retry_at

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    job: str
    ok: bool
    summary: str
    next_run: datetime


def runner_id() -> str:
    """Names the process holding a claim, for `jobs status` and the logs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobRunner:
    def __init__(self, db: Database, settings: Settings, jobs: list[Job] | None = None, owner: str | None = None,
                 client_factory: Callable[[Settings], object] = make_client,
                 on_event: Callable[[str], None] | None = None, bars: Callable | None = None):
        self.db = db
        self.settings = settings
        self.jobs = configured_jobs(settings) if jobs is None else jobs
        self.owner = owner or runner_id()
        self.client_factory = client_factory
        self.on_event = on_event or (lambda line: log.info("%s", line))
        self.bars = bars  # progress bars for a run from a terminal (JobContext.bars)
        self._known: set[str] = set()  # jobs whose row exists

    def run_due(self, now: datetime) -> list[Outcome]:
        """Run every job that is due at ``now`` and that this runner wins the claim for."""
        outcomes = []
        for job in self.jobs:
            outcome = self.run_job(job, now)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def run_job(self, job: Job, now: datetime, force: bool = False) -> Outcome | None:
        """Run one job if due (or ``force``) and unclaimed; None when it was not ours to run."""
        if job.name not in self._known:
            state.ensure_job(self.db, job.name, first_run=now)  # a new job runs at once
            self._known.add(job.name)
        row = state.peek(self.db, job.name)
        if row is None or not (force or row.next_run_at <= now):
            return None  # not due: decided with a read, so idle checks write nothing
        if not state.claim(self.db, job.name, self.owner, now, self.settings.job_lease_seconds, force=force):
            return None
        last_success = row.last_success_at
        self.on_event(f"{job.name}: running")
        started = time.monotonic()
        with _Heartbeat(self, job.name, now, started):
            error, summary = self._run(job, now, last_success)
        finished = now + timedelta(seconds=time.monotonic() - started)
        return self._record(job, now, finished, summary, error)

    def _run(self, job: Job, now: datetime, last_success: datetime | None) -> tuple[str | None, str]:
        try:
            with self.client_factory(self.settings) as client:
                ctx = JobContext(self.db, self.settings, now, last_success, client,
                                 **({"bars": self.bars} if self.bars else {}))
                job.run(ctx)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried; the runner goes on
            log.exception("job %s failed", job.name)
            return f"{exc.__class__.__name__}: {exc}", ""
        return None, "; ".join(ctx.notes)

    def _record(self, job: Job, started: datetime, finished: datetime, summary: str, error: str | None) -> Outcome:
        if error is None:
            next_run = job.schedule.next_after(finished)
        else:
            failures = state.failures_so_far(self.db, job.name) + 1
            next_run = retry_at(job.schedule, finished, failures, self.settings.job_retry_minutes)
        if not state.finish(self.db, job.name, self.owner, started, finished, next_run, summary, error):
            log.warning("job %s: the claim lapsed while it ran; another runner took it over", job.name)
        self.on_event(f"{job.name}: {'ok' if error is None else 'failed: ' + error}"
                      f"{(' (' + summary + ')') if summary else ''}; next run {next_run:%Y-%m-%d %H:%M} UTC")
        return Outcome(job.name, error is None, summary or error or "", next_run)


class _Heartbeat:
    """Renews a running job's claim every third of the lease."""

    def __init__(self, runner: JobRunner, name: str, started_at: datetime, started_mono: float):
        self.runner, self.name = runner, name
        self.started_at, self.started_mono = started_at, started_mono
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"job-heartbeat-{name}", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        lease = self.runner.settings.job_lease_seconds
        while not self._stop.wait(max(1.0, lease / 3)):
            now = self.started_at + timedelta(seconds=time.monotonic() - self.started_mono)
            try:
                state.renew(self.runner.db, self.name, self.runner.owner, now + timedelta(seconds=lease))
            except Exception:  # noqa: BLE001 - a missed beat only shortens the lease
                log.warning("could not renew the claim on %s", self.name, exc_info=True)


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class JobService:
    """Checks for due jobs every ``job_check_seconds`` in a daemon thread; ``stop()`` ends it."""

    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime] = utc_now, **runner_options):
        self.runner = JobRunner(db, settings, **runner_options)
        self.clock = clock
        self.check_seconds = settings.job_check_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="paperfeed-jobs", daemon=True)

    def start(self) -> "JobService":
        if self.runner.jobs:  # nothing configured: no thread
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.runner.run_due(self.clock())
            except Exception:  # noqa: BLE001 - e.g. the database briefly unreachable; try again next check
                log.exception("checking for due jobs failed")
            self._stop.wait(self.check_seconds)


def start_job_service(db: Database, settings: Settings, clock: Callable[[], datetime] = utc_now,
                      wanted=None) -> JobService:
    """``wanted``: the web app's thumbnail requests (jobs/thumbnails.py), served first."""
    return JobService(db, settings, clock=clock, jobs=configured_jobs(settings, wanted)).start()
