"""The notification jobs, run by ``serve`` and ``paperfeed worker`` beside the fetch jobs:

- ``notify-deliver`` every ``notify_every_minutes``: send due webhook deliveries and mails;
- ``notify-saved-searches`` every ``saved_search_every_hours``: new matches, and new papers in
  followed collections, become events;
- ``notify-trending`` daily at ``trending_webhook_hour_utc``: the day's trending picks, and each
  user's For you picks, to the webhooks that follow them.

Each run is claimed in ``job_run`` like any job, and each delivery again in its own row.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.jobs.fetch import Job, JobContext
from paperfeed.jobs.schedule import DailyAt, EveryHours


@dataclass(frozen=True)
class EveryMinutes:
    """Every ``minutes`` minutes, counted from midnight UTC."""

    minutes: int

    def previous(self, when: datetime) -> datetime:
        midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
        steps = int((when - midnight) / timedelta(minutes=self.minutes))
        return midnight + timedelta(minutes=steps * self.minutes)

    def next_after(self, when: datetime) -> datetime:
        return self.previous(when) + timedelta(minutes=self.minutes)

    def describe(self) -> str:
        return f"every {self.minutes} min"


def run_deliveries(ctx: JobContext) -> None:
    from paperfeed.notify.deliver import deliver_due
    from paperfeed.notify.mails import send_due_mails

    clock = _clock_from(ctx.now)
    report = deliver_due(ctx.db, ctx.settings, clock=clock, limit=500)
    sent, failed = send_due_mails(ctx.db, ctx.settings, clock)
    ctx.note(f"webhooks: {report.summary()}; mails: {sent} sent, {failed} failed")


def run_saved_searches(ctx: JobContext) -> None:
    from paperfeed.notify.alerts import run_collection_news
    from paperfeed.notify.alerts import run_saved_searches as run

    ctx.note(run(ctx.db, ctx.settings, ctx.now).summary())
    ctx.note(f"followed collections: {run_collection_news(ctx.db, ctx.now)} batches of new papers queued")


def run_trending(ctx: JobContext) -> None:
    from paperfeed.notify.alerts import emit_for_you_picks, emit_trending

    ctx.note("trending picks queued" if emit_trending(ctx.db, ctx.now) else "no new trending picks")
    ctx.note(f"For you picks queued for {emit_for_you_picks(ctx.db, ctx.settings, ctx.now)} users")


def _clock_from(start: datetime) -> Callable[[], datetime]:
    """The run's pinned ``now``, moving on with the monotonic clock (durations, retry times)."""
    import time

    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def notify_jobs(settings: Settings) -> list[Job]:
    if not settings.notify_in_background:
        return []
    return [Job("notify-deliver", EveryMinutes(max(1, settings.notify_every_minutes)), run_deliveries),
            Job("notify-saved-searches", EveryHours(max(1, settings.saved_search_every_hours)), run_saved_searches),
            Job("notify-trending", DailyAt(settings.trending_webhook_hour_utc), run_trending)]


def start_notify_service(db: Database, settings: Settings, clock: Callable[[], datetime] | None = None, **options):
    """The notification jobs in a thread of their own (a no-op object when turned off)."""
    from paperfeed.jobs.runner import JobService, utc_now

    service = JobService(db, settings, clock=clock or utc_now, jobs=notify_jobs(settings),
                         client_factory=lambda _settings: nullcontext(None), **options)
    return service.start()
