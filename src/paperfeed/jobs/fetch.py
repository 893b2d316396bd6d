"""The scheduled fetch jobs, built on the fetchers in ``paperfeed.ingest.fetch``.

- ``fetch-arxiv`` runs after each arXiv announcement (Mon-Fri UTC at ``fetch_hour_utc``): the
  announcement RSS for ``fetch_categories`` puts the new papers on the day's page. When a
  whole announcement was missed (the runner was down or failing), an OAI-PMH harvest of
  each category's set first fills the gap (new papers land on their announcement days),
  starting where the last complete harvest ended
  (the harvest's own checkpoint, shared with ``paperfeed fetch arxiv --via oai``).
- ``fetch-hf`` fetches Hugging Face's daily papers every ``hf_fetch_every_hours``, and after
  a gap each day it missed, since HF keeps one page per day.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import httpx

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.ingest.http import PoliteClient
from paperfeed.jobs.schedule import ANNOUNCEMENT_DAYS_UTC, DailyAt, EveryHours, missed_slot


@dataclass
class JobContext:
    """What a job run gets: pinned ``now``, the last successful run, and a fetch client."""

    db: Database
    settings: Settings
    now: datetime
    last_success: datetime | None
    client: PoliteClient
    # bars(label) -> a context yielding an on_progress(done, total) callback or None; the CLI
    # passes one that draws, a worker none
    bars: Callable[[str], AbstractContextManager] = lambda label: nullcontext(None)
    notes: list[str] = field(default_factory=list)  # one line per step, the run's summary

    def note(self, line: str) -> None:
        self.notes.append(line)


@dataclass(frozen=True)
class Job:
    name: str
    schedule: DailyAt | EveryHours
    run: Callable[[JobContext], None]


def configured_jobs(settings: Settings, wanted=None) -> list[Job]:
    """The jobs these settings ask for; none until ``fetch_categories`` names some.

    An instance that fetches on its own also makes thumbnails of its day pages' papers,
    unless ``thumbnails`` is off; ``wanted`` (jobs/thumbnails.py) lets paper pages ask first."""
    if not settings.fetch_categories:
        return []
    jobs = []
    sources = set(settings.fetch_sources)
    if sources & {"rss", "oai"}:
        jobs.append(Job("fetch-arxiv", DailyAt(settings.fetch_hour_utc, ANNOUNCEMENT_DAYS_UTC), run_arxiv))
    if "hf" in sources:
        jobs.append(Job("fetch-hf", EveryHours(max(1, settings.hf_fetch_every_hours)), run_hf))
    if settings.thumbnails:
        from paperfeed.jobs.thumbnails import thumbnail_job

        jobs.append(thumbnail_job(settings, wanted))
    return jobs


def run_arxiv(ctx: JobContext) -> None:
    from paperfeed.ingest.fetch import fetch_rss

    settings = ctx.settings
    sources = set(settings.fetch_sources)
    if "rss" in sources:
        report = fetch_rss(ctx.db, settings, settings.fetch_categories, client=ctx.client)
        ctx.note(f"rss {'+'.join(settings.fetch_categories)}: {report.summary()}")
    schedule = DailyAt(settings.fetch_hour_utc, ANNOUNCEMENT_DAYS_UTC)
    # Without RSS, OAI-PMH is the only source and harvests every time.
    if "oai" in sources and ("rss" not in sources or missed_slot(schedule, ctx.last_success, ctx.now)):
        catch_up_oai(ctx)


def catch_up_oai(ctx: JobContext) -> None:
    """Harvest each category's OAI set from where the last complete harvest ended."""
    from paperfeed.ingest.fetch import harvest_oai, oai_set_for_category

    fallback = _catch_up_start(ctx)
    for set_spec in dict.fromkeys(oai_set_for_category(c) for c in ctx.settings.fetch_categories):
        with ctx.bars(f"OAI-PMH {set_spec}") as on_progress:
            report = harvest_oai(ctx.db, ctx.settings, set_spec=set_spec, default_since=fallback,
                                 client=ctx.client, on_progress=on_progress)
        ctx.note(f"oai {set_spec}: {report.summary()}")


def _catch_up_start(ctx: JobContext) -> date:
    """Where a harvest with no checkpoint of its own starts: the day before the last
    successful run (datestamps are days), but no further back than fetch_catchup_max_days."""
    earliest = ctx.now.date() - timedelta(days=ctx.settings.fetch_catchup_max_days)
    if ctx.last_success is None:
        return earliest
    return max(earliest, ctx.last_success.date() - timedelta(days=1))


def run_hf(ctx: JobContext) -> None:
    from paperfeed.ingest.fetch import fetch_hf

    for day in missed_hf_days(ctx):
        report = fetch_hf(ctx.db, ctx.settings, day, client=ctx.client)
        ctx.note(f"hf {day}: {report.summary()}")
    report = fetch_hf(ctx.db, ctx.settings, None, client=ctx.client)
    ctx.note(f"hf latest: {report.summary()}")


def missed_hf_days(ctx: JobContext) -> list[date]:
    """Days before today since the last successful run, that one's day included: its page
    kept filling and its votes kept changing after that run."""
    if ctx.last_success is None:
        return []
    first = max(ctx.last_success.date(), ctx.now.date() - timedelta(days=ctx.settings.fetch_catchup_max_days))
    return [first + timedelta(days=i) for i in range((ctx.now.date() - first).days)]


# --- the fetch client ------------------------------------------------------------


class MirrorTransport(httpx.HTTPTransport):
    """Sends every request to one base URL, keeping its path and query: a caching mirror
    of arXiv and Hugging Face, or a test's replay server. The polite client still spaces
    requests by the original host, so a mirror of arXiv is treated as arXiv."""

    def __init__(self, base_url: str):
        super().__init__()
        self.base = httpx.URL(base_url)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        prefix = self.base.path.rstrip("/")
        request.url = request.url.copy_with(scheme=self.base.scheme, host=self.base.host, port=self.base.port,
                                            path=prefix + request.url.path)
        request.headers["Host"] = self.base.netloc.decode()
        return super().handle_request(request)


def make_client(settings: Settings) -> PoliteClient:
    transport = MirrorTransport(settings.fetch_mirror_url) if settings.fetch_mirror_url else None
    return PoliteClient(settings, transport=transport)
