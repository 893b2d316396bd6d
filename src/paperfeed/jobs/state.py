"""A job's claim, step by step: each step is one committed transaction over the ``job_run``
row (the queries are in store/jobs.py), so a claim another runner can see is a claim made."""

from __future__ import annotations

from datetime import datetime

from paperfeed.db import Database
from paperfeed.store import jobs as job_store


def ensure_job(db: Database, name: str, first_run: datetime) -> None:
    """Create the job's row if no runner has yet; a new job is due at ``first_run``."""
    with db.session() as session:
        job_store.insert_job_if_missing(session, name, first_run)


def claim(db: Database, name: str, owner: str, now: datetime, lease_seconds: int, force: bool = False) -> bool:
    """Take the job's next run if it is due (or ``force``) and nobody holds a live claim."""
    with db.session() as session:
        return job_store.claim_run(session, name, owner, now, lease_seconds, force)


def renew(db: Database, name: str, owner: str, lease_until: datetime) -> bool:
    """Extend a running job's claim; False when it was lost (taken over after it lapsed)."""
    with db.session() as session:
        return job_store.renew_claim(session, name, owner, lease_until)


def finish(db: Database, name: str, owner: str, started: datetime, finished: datetime, next_run: datetime,
           summary: str | None = None, error: str | None = None) -> bool:
    """Record the run's outcome, set the next run and release the claim (if still ours)."""
    with db.session() as session:
        return job_store.record_outcome(session, name, owner, started, finished, next_run, summary, error)


def peek(db: Database, name: str):
    """The job's schedule fields, read without a lock (the claim re-checks them)."""
    with db.session() as session:
        return job_store.schedule_fields(session, name)


def failures_so_far(db: Database, name: str) -> int:
    with db.session() as session:
        return job_store.failure_count(session, name)
