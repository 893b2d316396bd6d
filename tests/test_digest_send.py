"""Sending digests to a real aiosmtpd server, on SQLite and PostgreSQL: exactly once per
subscriber and period, resumable after SIGKILL, safe with two senders, retries on 4xx,
records 5xx, skips what was already sent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

import pinned
from digest_support import SMTPServer, paper, seed_papers
from paperfeed.digest import subscribe as flow
from paperfeed.digest.send import send_period
from paperfeed.models.digest import PAUSED, DigestDelivery, DigestSubscriber
from paperfeed.store import subscriptions as store

TODAY = pinned.TODAY


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def mail_db(db, smtp):
    db.settings = db.settings.model_copy(update={**smtp.settings_overrides(), "embed_in_background": False,
                                                 "digest_retry_base_seconds": 0.05})
    return db


def subscribe_active(db, email: str, **prefs) -> int:
    with db.session() as session:
        sub = store.pending_subscriber(session, email)
        flow.apply_preferences(sub, flow.parse_preferences(**{"frequency": "daily", "weekday": 0, "size": 5,
                                                              **prefs}))
        store.activate(session, sub, pinned.naive_now())
        return sub.pk


def seed_day(db, day: date = TODAY, n: int = 12, prefix: str = "2611") -> None:
    seed_papers(db, [paper(f"{prefix}.{i:05d}", f"Paper {prefix} number {i}", upvotes=100 - i,
                           code=f"https://github.com/example/p{i}" if i % 3 == 0 else None) for i in range(n)], day)


def delivery_count(db, status: str) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(DigestDelivery).where(DigestDelivery.status == status))


def test_each_subscriber_gets_one_digest_and_a_rerun_sends_nothing(mail_db, smtp):
    seed_day(mail_db)
    for i in range(3):
        subscribe_active(mail_db, f"reader{i}@example.com")
    first = send_period(mail_db, "daily", TODAY)
    again = send_period(mail_db, "daily", TODAY)
    assert (first.planned, first.sent) == (3, 3)
    assert (again.planned, again.sent) == (0, 0)
    assert sorted(r for m in smtp.handler.messages for r in m.recipients) == [
        "reader0@example.com", "reader1@example.com", "reader2@example.com"]


def test_next_period_skips_papers_already_sent_and_sends_nothing_when_nothing_is_new(mail_db, smtp):
    seed_day(mail_db, n=7)
    subscribe_active(mail_db, "a@example.com", size=5)
    send_period(mail_db, "daily", TODAY)
    second = send_period(mail_db, "daily", TODAY + timedelta(days=1))
    third = send_period(mail_db, "daily", TODAY + timedelta(days=2))
    assert (second.sent, third.sent, third.skipped) == (1, 0, 1)
    bodies = [m.text for m in smtp.handler.to("a@example.com")]
    assert len(bodies) == 2
    assert "Paper 2611 number 0\n" in bodies[0] and "Paper 2611 number 0\n" not in bodies[1]
    assert "Paper 2611 number 5\n" in bodies[1] and "Paper 2611 number 6\n" in bodies[1]


def test_weekly_subscribers_get_one_digest_per_iso_week(mail_db, smtp):
    monday = TODAY - timedelta(days=TODAY.weekday())
    seed_day(mail_db, monday)
    subscribe_active(mail_db, "w@example.com", frequency="weekly", weekday=2)
    assert send_period(mail_db, "weekly", monday + timedelta(days=1)).planned == 0  # Tuesday: not yet
    assert send_period(mail_db, "weekly", monday + timedelta(days=3)).sent == 1  # Thursday: due (catches up)
    assert send_period(mail_db, "weekly", monday + timedelta(days=4)).planned == 0  # same week: done


@pytest.mark.parametrize("monday", [TODAY - timedelta(days=TODAY.weekday()), date(2026, 12, 28)],
                         ids=["pinned-week", "iso-week-53"])
def test_a_weekly_digest_holds_every_paper_since_the_last_one_whatever_their_days(mail_db, smtp, monday):
    thursday, saturday = monday + timedelta(days=3), monday + timedelta(days=5)
    seed_day(mail_db, monday, n=2, prefix="2611")
    seed_day(mail_db, thursday, n=2, prefix="2612")
    subscribe_active(mail_db, "w@example.com", frequency="weekly", weekday=3, size=10)
    assert send_period(mail_db, "weekly", thursday).sent == 1
    seed_day(mail_db, saturday, n=2, prefix="2613")  # after this week's digest went out
    assert send_period(mail_db, "weekly", thursday + timedelta(days=7)).sent == 1
    first, second = (m.text for m in smtp.handler.to("w@example.com"))
    assert all(f"Paper {p} number {i}\n" in first for p in ("2611", "2612") for i in range(2))
    assert all(f"Paper 2613 number {i}\n" in second for i in range(2))
    assert "Paper 2611" not in second and "Paper 2612" not in second


def test_a_451_is_retried_with_backoff_then_succeeds(mail_db, smtp):
    seed_day(mail_db)
    subscribe_active(mail_db, "flaky@example.com")
    subscribe_active(mail_db, "fine@example.com")
    smtp.handler.rcpt_replies["flaky@example.com"] = ["451 4.3.0 Try again later"]
    report = send_period(mail_db, "daily", TODAY)
    assert (report.sent, report.retried, report.failed) == (2, 1, 0)
    assert len(smtp.handler.to("flaky@example.com")) == 1
    with mail_db.session() as session:
        attempts = session.scalar(select(DigestDelivery.attempts).join(DigestSubscriber)
                                  .where(DigestSubscriber.email == "flaky@example.com"))
    assert attempts == 2


def test_temporary_failures_give_up_after_max_attempts(mail_db, smtp):
    mail_db.settings = mail_db.settings.model_copy(update={"digest_max_attempts": 3})
    seed_day(mail_db)
    subscribe_active(mail_db, "down@example.com")
    smtp.handler.rcpt_replies["down@example.com"] = ["421 4.4.2 busy"] * 5
    report = send_period(mail_db, "daily", TODAY)
    assert (report.sent, report.retried, report.failed) == (0, 2, 1)
    assert delivery_count(mail_db, "failed") == 1


def test_a_550_is_recorded_and_repeated_ones_pause_the_subscriber(mail_db, smtp):
    mail_db.settings = mail_db.settings.model_copy(update={"digest_max_bounces": 2})
    seed_day(mail_db, n=20)
    subscribe_active(mail_db, "gone@example.com")
    smtp.handler.rcpt_replies["gone@example.com"] = ["550 5.1.1 No such user"] * 5
    first = send_period(mail_db, "daily", TODAY)
    with mail_db.session() as session:
        sub = store.by_email(session, "gone@example.com")
        assert (sub.permanent_failures, sub.status) == (1, "active")
        assert "550" in sub.last_error
    second = send_period(mail_db, "daily", TODAY + timedelta(days=1))
    third = send_period(mail_db, "daily", TODAY + timedelta(days=2))
    assert (first.bounced, second.bounced, second.paused, third.planned) == (1, 1, 1, 0)
    with mail_db.session() as session:
        assert [s.email for s in store.paused_subscribers(session)] == ["gone@example.com"]
        assert store.by_email(session, "gone@example.com").status == PAUSED
    assert smtp.handler.messages == []


def test_unsubscribed_between_planning_and_sending_is_skipped(mail_db, smtp):
    seed_day(mail_db)
    pk = subscribe_active(mail_db, "leaving@example.com")
    with mail_db.session() as session:
        store.plan_deliveries(session, f"daily:{TODAY.isoformat()}", "daily", None, pinned.naive_now())
        store.unsubscribe(session, session.get(DigestSubscriber, pk), pinned.naive_now())
    report = send_period(mail_db, "daily", TODAY)
    assert (report.sent, report.skipped) == (0, 1)
    assert smtp.handler.messages == []


def test_dry_run_writes_eml_files_and_records_them_as_sent(mail_db, smtp, tmp_path):
    seed_day(mail_db)
    subscribe_active(mail_db, "dry@example.com")
    report = send_period(mail_db, "daily", TODAY, dry_run_dir=tmp_path / "out")
    files = list((tmp_path / "out").glob("*.eml"))
    assert report.sent == 1 and len(files) == 1 and smtp.handler.messages == []
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in files[0].read_bytes()


def test_personalised_digest_puts_matching_papers_first(mail_db, smtp):
    papers = [paper(f"2611.{i:05d}", f"Trending vision paper {i}", categories=("cs.CV",), upvotes=200 - i)
              for i in range(8)]
    papers += [paper("2611.10001", "A language model paper", categories=("cs.CL",), upvotes=3),
               paper("2611.10002", "Robust speech recognition in noise", abstract="We study speech.",
                     categories=("eess.AS",), upvotes=1),
               paper("2611.10003", "Speech translation for language pairs", categories=("cs.CL",), upvotes=2)]
    seed_papers(mail_db, papers, TODAY)
    subscribe_active(mail_db, "nlp@example.com", categories="cat:cs.CL", keywords="speech", size=5)
    subscribe_active(mail_db, "plain@example.com", size=5)
    send_period(mail_db, "daily", TODAY)
    [nlp] = smtp.handler.to("nlp@example.com")
    [plain] = smtp.handler.to("plain@example.com")
    order = [line.split(". ", 1)[1] for line in nlp.text.splitlines()
             if line[:2] in {f"{i}." for i in range(1, 6)}]
    # both category and keyword first, then keyword or category alone, then trending
    assert order[0] == "Speech translation for language pairs"
    assert set(order[1:3]) == {"Robust speech recognition in noise", "A language model paper"}
    assert order[3:] == ["Trending vision paper 0", "Trending vision paper 1"]
    assert "Speech" not in plain.text


def _sender_env(db, smtp, lease: int = 1) -> dict:
    s = db.settings
    return {**os.environ, "PAPERFEED_DATABASE_URL": s.resolved_database_url, "PAPERFEED_DATA_DIR": str(s.data_dir),
            "PAPERFEED_SECRET_KEY": "test-secret", "PAPERFEED_BASE_URL": s.base_url,
            "PAPERFEED_SMTP_HOST": "127.0.0.1", "PAPERFEED_SMTP_PORT": str(smtp.port),
            "PAPERFEED_MAIL_FROM": s.mail_from, "PAPERFEED_DIGEST_LEASE_SECONDS": str(lease),
            "PAPERFEED_DIGEST_BATCH_SIZE": "5", "PAPERFEED_DIGEST_SMTP_CONNECTIONS": "4"}


def _sender(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "paperfeed", "digest", "send", "--period", "daily",
                             "--date", TODAY.isoformat()], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.02)


def test_a_sender_killed_mid_batch_resumes_and_everyone_gets_exactly_one(mail_db, smtp):
    seed_day(mail_db)
    emails = [f"k{i:02d}@example.com" for i in range(30)]
    for email in emails:
        subscribe_active(mail_db, email)
    smtp.handler.mail_delay = 0.2  # slow server: the kill lands mid-batch
    env = _sender_env(mail_db, smtp)
    victim = _sender(env)
    # Kill while all 4 of the sender's connections wait in MAIL FROM: mid-batch, with every message
    # the server accepted already recorded (a connection sends MAIL only after recording its last
    # one). A kill in the instant between the server's 250 and the sender's commit would repeat
    # those messages; SMTP cannot rule that out, and the stable Message-ID lets receivers drop them.
    _wait_for(lambda: len(smtp.handler.messages) >= 7 and smtp.handler.in_mail == 4)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = len(smtp.handler.messages)
    assert killed_at < len(emails)
    time.sleep(1.2)  # the killed sender's claims expire (lease 1 s)
    rerun = subprocess.run([sys.executable, "-m", "paperfeed", "digest", "send", "--period", "daily",
                            "--date", TODAY.isoformat()], env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(r for m in smtp.handler.messages for r in m.recipients) == emails
    assert delivery_count(mail_db, "sent") == len(emails)


def test_two_concurrent_senders_send_no_duplicates(mail_db, smtp):
    seed_day(mail_db)
    emails = [f"c{i:02d}@example.com" for i in range(40)]
    for email in emails:
        subscribe_active(mail_db, email)
    smtp.handler.mail_delay = 0.02
    env = _sender_env(mail_db, smtp, lease=300)
    senders = [_sender(env), _sender(env)]
    outputs = [p.communicate(timeout=120) for p in senders]
    assert [p.returncode for p in senders] == [0, 0], outputs
    assert sorted(r for m in smtp.handler.messages for r in m.recipients) == emails
    sent_by = [int(out.decode().split("sent ")[1].split(",")[0]) for out, _ in outputs]
    assert sum(sent_by) == len(emails)


def test_scheduler_sends_once_a_day_from_the_configured_hour(mail_db, smtp):
    from datetime import datetime, timezone

    from paperfeed.digest.scheduler import DigestScheduler

    mail_db.settings = mail_db.settings.model_copy(update={"digest_send_hour": 7})
    seed_day(mail_db)
    subscribe_active(mail_db, "sched@example.com")
    scheduler = DigestScheduler(mail_db)  # not started: ticks are driven by the test
    day = datetime.combine(TODAY, datetime.min.time(), tzinfo=timezone.utc)
    assert scheduler.tick(day.replace(hour=6)) is False
    assert scheduler.tick(day.replace(hour=7, minute=1)) is True
    assert scheduler.tick(day.replace(hour=9)) is False  # already ran today
    assert DigestScheduler(mail_db).tick(day.replace(hour=8)) is True  # a second worker: no duplicate
    assert len(smtp.handler.to("sched@example.com")) == 1


def test_the_subject_names_the_papers_days_not_the_sending_day(mail_db, smtp):
    seed_day(mail_db, TODAY, n=6)
    subscribe_active(mail_db, "late@example.com")
    assert send_period(mail_db, "daily", TODAY + timedelta(days=1)).sent == 1  # the data ends a day earlier
    subject = smtp.handler.to("late@example.com")[0].message["Subject"]
    assert subject == f"Trending papers, {TODAY.strftime('%-d %b %Y')}"
