"""Scheduled jobs: the schedule, the claim that keeps each run to one runner, and the fetch
jobs end to end over real HTTP against a local server replaying recorded responses.

Every time is pinned: runners get ``now`` passed in, and the polite client's sleeps are
recorded rather than slept.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from paperfeed.cli import cli
from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.ingest.http import PoliteClient
from paperfeed.jobs import state
from paperfeed.jobs.fetch import Job, MirrorTransport, configured_jobs
from paperfeed.jobs.runner import JobRunner
from paperfeed.jobs.schedule import DailyAt, EveryHours, missed_slot, retry_at
from paperfeed.models import DailyEntry, Paper
from paperfeed.models.jobs import JobRun
from paperfeed.store.papers import get_state
from paperfeed.web.app import create_app
from replay_server import ReplayServer

ARXIV = DailyAt(2, frozenset(range(5)))
THU = datetime(2026, 9, 24, 3, 0)  # the recorded RSS feed's announcement, fetched an hour after
MON = datetime(2026, 9, 28, 3, 0)  # after a weekend and a missed Friday announcement


# --- the schedule (pure) -----------------------------------------------------------


def test_arxiv_slots_follow_the_announcements_mon_to_fri_utc():
    assert ARXIV.next_after(datetime(2026, 9, 24, 1, 59)) == datetime(2026, 9, 24, 2, 0)
    assert ARXIV.next_after(datetime(2026, 9, 24, 2, 0)) == datetime(2026, 9, 25, 2, 0)
    assert ARXIV.next_after(datetime(2026, 9, 25, 2, 0)) == datetime(2026, 9, 28, 2, 0)  # Fri -> Mon
    assert ARXIV.previous(datetime(2026, 9, 27, 12, 0)) == datetime(2026, 9, 25, 2, 0)  # Sun -> Fri
    assert ARXIV.previous(datetime(2026, 9, 28, 2, 0)) == datetime(2026, 9, 28, 2, 0)
    assert ARXIV.describe() == "Mon-Fri at 02:00 UTC"


def test_every_hours_counts_from_midnight():
    every6 = EveryHours(6)
    assert every6.next_after(datetime(2026, 9, 24, 3, 0)) == datetime(2026, 9, 24, 6, 0)
    assert every6.next_after(datetime(2026, 9, 24, 18, 0)) == datetime(2026, 9, 25, 0, 0)
    assert every6.previous(datetime(2026, 9, 24, 17, 59)) == datetime(2026, 9, 24, 12, 0)


def test_a_missed_announcement_is_noticed():
    assert not missed_slot(ARXIV, None, MON)  # never ran: nothing to catch up from
    assert not missed_slot(ARXIV, datetime(2026, 9, 25, 2, 30), MON)  # Friday fetched, Monday due
    assert missed_slot(ARXIV, THU, MON)  # Friday's announcement missed
    assert not missed_slot(ARXIV, THU, datetime(2026, 9, 25, 3, 0))


def test_failed_runs_back_off_but_not_past_the_next_slot():
    finished = datetime(2026, 9, 24, 3, 0)
    assert retry_at(ARXIV, finished, 1, 15) == finished + timedelta(minutes=15)
    assert retry_at(ARXIV, finished, 3, 15) == finished + timedelta(minutes=60)
    assert retry_at(ARXIV, finished, 9, 15) == datetime(2026, 9, 25, 2, 0)


def test_settings_name_categories_and_sources_as_comma_lists(monkeypatch):
    monkeypatch.setenv("PAPERFEED_FETCH_CATEGORIES", "cs.LG, cs.CL,stat.ML")
    monkeypatch.setenv("PAPERFEED_FETCH_SOURCES", "rss,hf")
    settings = Settings()
    assert settings.fetch_categories == ["cs.LG", "cs.CL", "stat.ML"]
    assert [job.name for job in configured_jobs(settings)] == ["fetch-arxiv", "fetch-hf", "thumbnails"]
    assert [job.name for job in configured_jobs(Settings(thumbnails=False))] == ["fetch-arxiv", "fetch-hf"]
    assert configured_jobs(Settings(fetch_categories=[])) == []  # fetching is off until categories are named
    monkeypatch.setenv("PAPERFEED_FETCH_SOURCES", "rss,ftp")
    with pytest.raises(ValueError, match="ftp"):
        Settings()


# --- the claim ----------------------------------------------------------------------


class CountingJob:
    """A job that takes a moment and counts its runs, so racing runners overlap."""

    def __init__(self, seconds: float = 0.3):
        self.runs, self.seconds, self.lock = 0, seconds, threading.Lock()
        self.job = Job("count", EveryHours(6), self.run)

    def run(self, ctx) -> None:
        with self.lock:
            self.runs += 1
        threading.Event().wait(self.seconds)
        ctx.note("counted")


class NoClient:
    def __init__(self, _settings):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def test_two_runners_racing_for_the_claim_run_the_job_once(db, settings):
    counting = CountingJob()
    other_db = Database(settings)  # its own engine and connections, as another process has
    runners = [JobRunner(d, settings, jobs=[counting.job], owner=f"runner-{i}", client_factory=NoClient)
               for i, d in enumerate([db, other_db])]
    barrier, outcomes = threading.Barrier(2), [None, None]

    def race(i):
        barrier.wait()
        outcomes[i] = runners[i].run_due(THU)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other_db.dispose()
    assert counting.runs == 1
    assert sorted(len(o) for o in outcomes) == [0, 1]
    with db.session() as s:
        row = s.get(JobRun, "count")
    assert (row.runs, row.last_status, row.owner, row.next_run_at) == (1, "ok", None, datetime(2026, 9, 24, 6, 0))
    # not due again until the next slot
    assert runners[0].run_due(THU + timedelta(hours=2)) == []
    assert [o.job for o in runners[1].run_due(datetime(2026, 9, 24, 6, 0))] == ["count"]


def test_a_dead_runners_claim_lapses_and_is_taken_over(db, settings):
    counting = CountingJob(0)
    state.ensure_job(db, "count", THU)
    assert state.claim(db, "count", "dead-runner", THU, lease_seconds=600)
    live = JobRunner(db, settings, jobs=[counting.job], owner="live", client_factory=NoClient)
    assert live.run_due(THU + timedelta(minutes=5)) == []  # the claim is still live
    assert live.run_job(counting.job, THU + timedelta(minutes=5), force=True) is None  # even forced
    assert [o.ok for o in live.run_due(THU + timedelta(minutes=11))] == [True]
    assert counting.runs == 1


# --- the fetch jobs end to end over real HTTP ------------------------------------------


@pytest.fixture
def replay():
    with ReplayServer() as server:
        yield server


@pytest.fixture
def fetch_settings(settings, replay):
    return settings.model_copy(update={
        "fetch_categories": ["cs.LG", "cs.CL"], "fetch_mirror_url": replay.url, "http_max_retries": 2,
        "run_jobs_in_web": False, "thumbnails": False,  # thumbnails have their own tests
    })


class RecordedSleeps:
    """Polite clients that talk to the replay server over real HTTP but record their sleeps."""

    def __init__(self):
        self.sleeps: list[float] = []

    def __call__(self, settings):
        return PoliteClient(settings, transport=MirrorTransport(settings.fetch_mirror_url), sleep=self.sleeps.append)


def test_scheduled_fetches_end_to_end_with_catch_up_after_downtime(db, fetch_settings, replay):
    sleeps = RecordedSleeps()
    runner = JobRunner(db, fetch_settings, owner="worker-1", client_factory=sleeps)

    first = runner.run_due(THU)
    assert [(o.job, o.ok) for o in first] == [("fetch-arxiv", True), ("fetch-hf", True)]
    assert replay.paths() == ["/rss/cs.LG+cs.CL", "/api/daily_papers"]  # first run: no catch-up
    with db.session() as s:
        announced = s.scalar(select(func.count()).select_from(DailyEntry)
                             .where(DailyEntry.day == datetime(2026, 9, 24).date()))
        rows = {r.name: r for r in s.scalars(select(JobRun))}
    assert announced > 0
    assert rows["fetch-arxiv"].next_run_at == datetime(2026, 9, 25, 2, 0)
    assert rows["fetch-hf"].next_run_at == datetime(2026, 9, 24, 6, 0)
    assert runner.run_due(THU + timedelta(minutes=30)) == []  # nothing due

    # Down from Thursday to Monday: Friday's announcement and HF's days are caught up.
    second = runner.run_due(MON)
    assert all(o.ok for o in second), second
    oai = replay.queries("/oai")
    assert oai[0] == {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs:cs:LG", "from": "2026-09-23"}
    assert oai[1] == oai[0]  # after the recorded 503
    assert oai[2] == {"verb": "ListRecords", "resumptionToken": "6960524|1001"}
    assert 10.0 in sleeps.sleeps  # the recorded Retry-After
    assert {q.get("set") for q in oai[3:] if "set" in q} == {"cs:cs:CL"}
    assert [q.get("date") for q in replay.queries("/api/daily_papers")][1:] == [
        "2026-09-24", "2026-09-25", "2026-09-26", "2026-09-27", None]
    with db.session() as s:
        harvest = get_state(s, "fetch:oai:arXiv:cs:cs:LG")
        papers = s.scalar(select(func.count()).select_from(Paper))
        arxiv = s.get(JobRun, "fetch-arxiv")
    assert harvest["token"] is None and harvest["next_from"]
    assert papers > announced
    with db.session() as s:
        caught_up = s.scalar(select(func.count()).select_from(DailyEntry)
                             .where(DailyEntry.day == datetime(2024, 1, 26).date(), DailyEntry.source == "auto"))
    assert caught_up == 4  # the harvested new papers are on their announcement day's page
    assert (arxiv.runs, arxiv.last_success_at, arxiv.next_run_at) == (2, MON, datetime(2026, 9, 29, 2, 0))
    assert "oai cs:cs:LG: read" in arxiv.last_summary and "rss cs.LG+cs.CL" in arxiv.last_summary


def test_failures_are_recorded_retried_and_shown(db, fetch_settings, replay):
    replay.fail["/rss/"] = 500
    runner = JobRunner(db, fetch_settings.model_copy(update={"fetch_sources": ["rss"]}), owner="w",
                       client_factory=RecordedSleeps())
    [outcome] = runner.run_due(THU)
    assert not outcome.ok and "HTTP 500" in outcome.summary
    # the retry is counted from when the run finished: the pinned start plus the seconds it took
    assert timedelta(0) <= outcome.next_run - (THU + timedelta(minutes=15)) < timedelta(seconds=30)
    [again] = runner.run_due(THU + timedelta(minutes=16))
    assert timedelta(0) <= again.next_run - (THU + timedelta(minutes=46)) < timedelta(seconds=30)  # backed off
    with db.session() as s:
        row = s.get(JobRun, "fetch-arxiv")
    assert (row.last_status, row.failures, row.total_failures, row.last_success_at) == ("failed", 2, 2, None)

    with TestClient(create_app(fetch_settings, db)) as client:
        about = client.get("/about").text
    assert "Scheduled jobs" in about and "fetch-arxiv" in about and "HTTP 500" in about
    assert "2026-09-24 03:46" in about  # the next run

    env = {"PAPERFEED_DATABASE_URL": fetch_settings.resolved_database_url,
           "PAPERFEED_DATA_DIR": str(fetch_settings.data_dir), "PAPERFEED_FETCH_CATEGORIES": "cs.LG,cs.CL",
           "PAPERFEED_FETCH_SOURCES": "rss", "PAPERFEED_THUMBNAILS": "false"}
    status = CliRunner().invoke(cli, ["jobs", "status"], env=env, catch_exceptions=False).output
    assert "fetch-arxiv  [Mon-Fri at 02:00 UTC]  failed; last run 2026-09-24 03:16 UTC" in status
    assert "next run 2026-09-24 03:46 UTC; runs 2, failures 2 (2 in a row)" in status
    assert "error: FetchError" in status and "HTTP 500" in status


# --- paperfeed worker, as processes ----------------------------------------------------


def worker_env(settings, replay) -> dict:
    import os

    return {**os.environ, "PAPERFEED_DATABASE_URL": settings.resolved_database_url,
            "PAPERFEED_DATA_DIR": str(settings.data_dir), "PAPERFEED_FETCH_CATEGORIES": "cs.LG,cs.CL",
            "PAPERFEED_FETCH_SOURCES": "rss,hf", "PAPERFEED_FETCH_MIRROR_URL": replay.url,
            "PAPERFEED_EMBED_IN_BACKGROUND": "false", "PAPERFEED_JOB_CHECK_SECONDS": "0.5",
            "PAPERFEED_THUMBNAILS": "false"}


def test_two_worker_processes_fetch_once_between_them(db, settings, replay):
    import subprocess
    import sys

    env = worker_env(settings, replay)
    procs = [subprocess.Popen([sys.executable, "-m", "paperfeed", "worker", "--once"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert sorted(replay.paths()) == ["/api/daily_papers", "/rss/cs.LG+cs.CL"]
    with db.session() as s:
        assert {r.name: (r.runs, r.last_status) for r in s.scalars(select(JobRun))} == {
            "fetch-arxiv": (1, "ok"), "fetch-hf": (1, "ok"),  # and the notification jobs, once each too
            "notify-deliver": (1, "ok"), "notify-saved-searches": (1, "ok"), "notify-trending": (1, "ok")}
    ran = "".join(out for out, _ in results)
    assert ran.count("fetch-arxiv: ok") == 1 and ran.count("fetch-hf: ok") == 1


def test_worker_runs_until_terminated(db, settings, replay):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "paperfeed", "worker"], env=worker_env(settings, replay),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "fetch-hf: ok" in line:
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    text = "".join(lines) + out
    assert "paperfeed worker started: fetch-arxiv (Mon-Fri at 02:00 UTC), fetch-hf (every 6 h)" in text
    assert "embedding off; digests off" in text and "paperfeed worker stopped" in text


def test_serve_runs_the_jobs_in_process_on_the_web_clock(db, fetch_settings, replay):
    from paperfeed.jobs.runner import JobService

    in_web = fetch_settings.model_copy(update={"run_jobs_in_web": True, "job_check_seconds": 0.2})
    app = create_app(in_web, db)
    app.state.clock = lambda: THU.replace(tzinfo=timezone.utc).timestamp()
    with TestClient(app):
        for _ in range(300):
            with db.session() as s:
                rows = {r.name: r for r in s.scalars(select(JobRun).where(JobRun.last_status == "ok"))}
            if len(rows) == 5:
                break
            threading.Event().wait(0.1)
    assert {name: (row.runs, row.last_started_at) for name, row in rows.items()} == {
        "fetch-arxiv": (1, THU), "fetch-hf": (1, THU),  # the notification jobs run on the web clock too
        "notify-deliver": (1, THU), "notify-saved-searches": (1, THU), "notify-trending": (1, THU)}
    assert sorted(replay.paths()) == ["/api/daily_papers", "/rss/cs.LG+cs.CL"]
    # off: the web nodes of an N-machine layout leave the jobs to the worker
    off = JobService(db, fetch_settings.model_copy(update={"fetch_categories": []})).start()
    assert not off._thread.is_alive()
    off.stop()


def test_jobs_run_and_status_from_the_command_line(db, fetch_settings, replay):
    import json

    env = {"PAPERFEED_DATABASE_URL": fetch_settings.resolved_database_url,
           "PAPERFEED_DATA_DIR": str(fetch_settings.data_dir), "PAPERFEED_FETCH_CATEGORIES": "cs.LG,cs.CL",
           "PAPERFEED_FETCH_MIRROR_URL": replay.url, "PAPERFEED_THUMBNAILS": "false"}
    runner = CliRunner()
    ran = runner.invoke(cli, ["jobs", "run", "fetch-hf"], env=env, catch_exceptions=False)
    assert ran.exit_code == 0 and "fetch-hf: ok (hf latest: read" in ran.output
    assert replay.paths() == ["/api/daily_papers"]
    status = json.loads(runner.invoke(cli, ["jobs", "status", "--json"], env=env, catch_exceptions=False).output)
    by_name = {job["name"]: job for job in status}
    assert by_name["fetch-hf"]["status"] == "ok" and by_name["fetch-hf"]["runs"] == 1
    assert by_name["fetch-hf"]["next_run_at"].endswith(":00:00Z")
    assert by_name["fetch-arxiv"] == {"name": "fetch-arxiv", "status": "never", "configured": True}
    unknown = runner.invoke(cli, ["jobs", "run", "fetch-nope"], env=env)
    assert unknown.exit_code == 2 and "unknown job fetch-nope" in unknown.output
    replay.fail["/api/"] = 404
    failed = runner.invoke(cli, ["jobs", "run", "fetch-hf"], env=env)
    assert failed.exit_code == 1 and "fetch-hf: failed: FetchError" in failed.output
