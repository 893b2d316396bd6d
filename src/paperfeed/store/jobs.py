"""The ``job_run`` rows: creating them, claiming a run, renewing and releasing the claim.

A claim is one atomic statement, so two runners never both win it: on SQLite a conditional
UPDATE (SQLite serialises writers, and the loser re-reads the row and matches nothing); on
PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` first, so a runner never waits on another's
claim, then the same UPDATE. Each step is its own transaction: ``jobs/state.py`` commits it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from paperfeed.models.jobs import JobRun

MAX_ERROR_CHARS = 2000


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_job_if_missing(session: Session, name: str, first_run: datetime) -> None:
    insert = pg_insert if _on_postgresql(session) else sqlite_insert
    statement = insert(JobRun).values(name=name, next_run_at=first_run, failures=0, runs=0, total_failures=0)
    session.execute(statement.on_conflict_do_nothing(index_elements=["name"]))


def claim_run(session: Session, name: str, owner: str, now: datetime, lease_seconds: int, force: bool = False) -> bool:
    """Take the job's next run if it is due (or ``force``) and nobody holds a live claim."""
    conditions = [JobRun.name == name, or_(JobRun.lease_until.is_(None), JobRun.lease_until < now)]
    if not force:
        conditions.append(JobRun.next_run_at <= now)
    if _on_postgresql(session):
        locked = session.scalar(select(JobRun.name).where(*conditions).with_for_update(skip_locked=True))
        if locked is None:
            return False
    result = session.execute(
        update(JobRun).where(*conditions)
        .values(owner=owner, lease_until=now + timedelta(seconds=lease_seconds), last_status="running",
                last_started_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def renew_claim(session: Session, name: str, owner: str, lease_until: datetime) -> bool:
    result = session.execute(
        update(JobRun).where(JobRun.name == name, JobRun.owner == owner).values(lease_until=lease_until)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def record_outcome(session: Session, name: str, owner: str, started: datetime, finished: datetime,
                   next_run: datetime, summary: str | None = None, error: str | None = None) -> bool:
    """The run's outcome and next run, and the claim released, if the claim is still ``owner``'s."""
    row = session.get(JobRun, name, with_for_update=_on_postgresql(session))
    if row is None or row.owner != owner:
        return False
    row.owner, row.lease_until = None, None
    row.last_finished_at, row.next_run_at = finished, next_run
    row.runs += 1
    if error is None:
        row.last_status, row.last_success_at, row.failures = "ok", started, 0
        row.last_summary, row.last_error = summary, None
    else:
        row.last_status, row.last_error = "failed", error[:MAX_ERROR_CHARS]
        row.failures += 1
        row.total_failures += 1
    return True


def schedule_fields(session: Session, name: str):
    return session.execute(select(JobRun.next_run_at, JobRun.last_success_at).where(JobRun.name == name)).first()


def failure_count(session: Session, name: str) -> int:
    return session.scalar(select(JobRun.failures).where(JobRun.name == name)) or 0


@dataclass(frozen=True)
class JobStatus:
    name: str
    status: str  # never | running | ok | failed
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_success_at: datetime | None
    next_run_at: datetime | None
    failures: int
    runs: int
    total_failures: int
    summary: str | None
    error: str | None
    owner: str | None
    lease_until: datetime | None

    def as_json(self) -> dict:
        return {key: value.isoformat() + "Z" if isinstance(value, datetime) else value
                for key, value in self.__dict__.items()}


def job_statuses(session: Session) -> list[JobStatus]:
    """Every job that has a row, by name (what /about and `jobs status` show)."""
    rows = session.scalars(select(JobRun).order_by(JobRun.name)).all()
    return [JobStatus(name=r.name, status=r.last_status or "never", last_started_at=r.last_started_at,
                      last_finished_at=r.last_finished_at, last_success_at=r.last_success_at,
                      next_run_at=r.next_run_at, failures=r.failures, runs=r.runs, total_failures=r.total_failures,
                      summary=r.last_summary, error=r.last_error, owner=r.owner, lease_until=r.lease_until)
            for r in rows]
