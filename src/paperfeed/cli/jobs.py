"""``paperfeed worker`` (the background jobs in one process), ``paperfeed jobs status|run``
and ``paperfeed db backup``."""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import nullcontext

import click
import orjson

from paperfeed.cli.context import AppContext, pass_app


def register(cli: click.Group) -> None:
    from paperfeed.cli.core import db as db_group

    cli.add_command(worker)
    cli.add_command(jobs)
    db_group.add_command(backup)


def _echo_event(line: str) -> None:
    from paperfeed.jobs.runner import utc_now

    click.echo(f"{utc_now():%Y-%m-%d %H:%M:%S}Z {line}")


@click.command()
@click.option("--once", is_flag=True, help="Run the jobs that are due now, then exit (cron, systemd timers).")
@pass_app
def worker(app: AppContext, once: bool) -> None:
    """Run the background jobs: scheduled fetches, embedding, key phrases and the keyword index, digests.

    Run one per deployment (more are safe: every job run is claimed in the database). Web
    nodes then set PAPERFEED_RUN_JOBS_IN_WEB=false and PAPERFEED_EMBED_IN_BACKGROUND=false.
    Fetching starts once PAPERFEED_FETCH_CATEGORIES names categories; digests are sent when
    PAPERFEED_DIGEST_SCHEDULER=true.
    """
    from paperfeed.jobs.runner import JobRunner, JobService, utc_now

    if once:
        from paperfeed.jobs.notify import notify_jobs

        runner = JobRunner(app.db, app.settings, on_event=_echo_event, bars=_terminal_bars)
        outcomes = runner.run_due(utc_now())
        notifier = JobRunner(app.db, app.settings, jobs=notify_jobs(app.settings), on_event=_echo_event,
                             client_factory=lambda _settings: nullcontext(None))
        outcomes += notifier.run_due(utc_now())
        if any(not outcome.ok for outcome in outcomes):
            raise SystemExit(1)
        return
    services = _start_services(app, JobService(app.db, app.settings, on_event=_echo_event))
    _echo_event(f"paperfeed worker started: {_describe(app, services)}")
    _wait_for_signal()
    for service in reversed(services):
        service.stop()
    _echo_event("paperfeed worker stopped")


def _start_services(app: AppContext, jobs_service) -> list:
    services = [jobs_service.start()]
    from paperfeed.jobs.notify import start_notify_service  # webhooks, saved-search alerts, reply mails

    services.append(start_notify_service(app.db, app.settings, on_event=_echo_event))
    if app.settings.embed_in_background:
        from paperfeed.index.worker import start_worker

        services.append(start_worker(app.db, app.settings))
    if app.settings.embed_in_background and app.settings.keywords_in_background:
        from paperfeed.index.keywordworker import start_keyword_worker

        services.append(start_keyword_worker(app.db, app.settings))
    if app.settings.digest_scheduler:
        from paperfeed.digest.scheduler import DigestScheduler

        services.append(DigestScheduler(app.db).start())
    return services


def _describe(app: AppContext, services: list) -> str:
    jobs_list = services[0].runner.jobs
    parts = [", ".join(f"{job.name} ({job.schedule.describe()})" for job in jobs_list)
             or "no fetch jobs (set PAPERFEED_FETCH_CATEGORIES)"]
    parts.append(f"embedding {'on' if app.settings.embed_in_background else 'off'}")
    digests = f"at {app.settings.digest_send_hour:02d}:00 UTC" if app.settings.digest_scheduler else "off"
    parts.append(f"digests {digests}")
    parts.append(f"notifications {'on' if app.settings.notify_in_background else 'off'}")
    return "; ".join(parts)


def _wait_for_signal() -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(3600):
        pass


@click.group()
def jobs() -> None:
    """Scheduled jobs: when they last ran, when they run next, and running them now."""


@jobs.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def jobs_status(app: AppContext, as_json: bool) -> None:
    """Last run, result, next run and failures of every scheduled job."""
    from paperfeed.jobs.fetch import configured_jobs
    from paperfeed.jobs.notify import notify_jobs
    from paperfeed.store.jobs import job_statuses
    from paperfeed.store.thumbnails import backlog

    with app.db.session() as session:
        rows = {row.name: row for row in job_statuses(session)}
        thumbs = backlog(session, app.settings.thumbnail_days) if app.settings.thumbnails else None
    configured = {job.name: job for job in configured_jobs(app.settings) + notify_jobs(app.settings)}
    if as_json:
        extra = {"thumbnails": {"backlog": thumbs.as_json()}} if thumbs else {}
        click.echo(orjson.dumps([{**row.as_json(), "configured": name in configured, **extra.get(name, {})}
                                 for name, row in rows.items()]
                                + [{"name": name, "status": "never", "configured": True, **extra.get(name, {})}
                                   for name in configured if name not in rows]).decode())
        return
    if not rows and not configured:
        click.echo("no scheduled jobs: set PAPERFEED_FETCH_CATEGORIES (e.g. cs.LG,cs.CL) to fetch on schedule")
        return
    for name in sorted(set(rows) | set(configured)):
        click.echo(_status_line(name, rows.get(name), configured.get(name)))
        if name == "thumbnails" and thumbs:
            click.echo(f"    backlog: {thumbs.summary()}")


def _status_line(name: str, row, job) -> str:
    when = job.schedule.describe() if job else "not configured now"
    if row is None:
        return f"{name}  [{when}]  never run; runs at the first check"
    line = f"{name}  [{when}]  {row.status}"
    if row.last_started_at:
        line += f"; last run {row.last_started_at:%Y-%m-%d %H:%M} UTC"
    if row.status == "running":
        from paperfeed.jobs.runner import utc_now

        lapsed = row.lease_until is not None and row.lease_until < utc_now()
        line += (f" by {row.owner}, which stopped: its claim lapsed at {row.lease_until:%H:%M}, the next check "
                 "takes the job over" if lapsed else f" by {row.owner} (claim until {row.lease_until:%H:%M})")
    line += f"; next run {row.next_run_at:%Y-%m-%d %H:%M} UTC; runs {row.runs}, failures {row.total_failures}"
    if row.failures:
        line += f" ({row.failures} in a row)"
    if row.error and row.status == "failed":
        line += f"\n    error: {row.error}"
    elif row.summary:
        line += f"\n    {row.summary}"
    return line


@jobs.command("run")
@click.argument("names", nargs=-1)
@pass_app
def jobs_run(app: AppContext, names: tuple[str, ...]) -> None:
    """Run jobs now, whatever their schedule (all configured jobs without NAMES).

    A job another runner is running right now is left to it. Exits non-zero if one failed.
    """
    from paperfeed.jobs.fetch import configured_jobs
    from paperfeed.jobs.notify import notify_jobs
    from paperfeed.jobs.runner import JobRunner, utc_now

    runner = JobRunner(app.db, app.settings, jobs=configured_jobs(app.settings) + notify_jobs(app.settings),
                       on_event=_echo_event, bars=_terminal_bars)
    known = {job.name: job for job in runner.jobs}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise click.UsageError(f"unknown job {', '.join(unknown)}; configured: {', '.join(known) or 'none'}")
    if not known:
        raise click.ClickException("no scheduled jobs: set PAPERFEED_FETCH_CATEGORIES (e.g. cs.LG,cs.CL)")
    failed = False
    for name in names or list(known):
        outcome = runner.run_job(known[name], utc_now(), force=True)
        if outcome is None:
            _echo_event(f"{name}: another runner is running it; left to it")
        failed = failed or (outcome is not None and not outcome.ok)
    if failed:
        raise SystemExit(1)


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@pass_app
def backup(app: AppContext, path: str) -> None:
    """Write a consistent copy of the database to PATH, while it is in use.

    SQLite: the online backup API (readers and writers go on meanwhile). PostgreSQL: prints
    the pg_dump command to run instead.
    """
    from paperfeed.backup import backup_sqlite, pg_dump_command

    if not app.settings.is_sqlite:
        click.echo(pg_dump_command(app.settings.resolved_database_url, path))
        return
    pages = backup_sqlite(app.settings.resolved_database_url, path, progress=lambda done, total: None)
    click.echo(f"backed up {app.settings.resolved_database_url} to {path} ({pages:,} pages)")


def _terminal_bars(label: str):
    from paperfeed.cli.progress import progress_bar

    return progress_bar(label, sys.stderr.isatty())
