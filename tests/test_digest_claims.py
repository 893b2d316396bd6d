"""Digest claims under slow batches and killed senders (issue #11, finding 9), against a real
SMTP server, on SQLite and PostgreSQL: claims are renewed while a batch sends, a killed
sender costs at most one duplicate, and a rerun that finds a dead sender's live claims
says so and exits non-zero."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from digest_support import RecordingHandler, SMTPServer, paper, seed_papers
from paperfeed.digest import subscribe as flow
from paperfeed.models.digest import D_CLAIMED, DigestDelivery
from paperfeed.store import subscriptions as store

DAY = date(2026, 6, 12)
NOW = datetime(2026, 6, 12, 7, 0)
CLAIMED_ELSEWHERE_EXIT = 75


class SlowAcceptHandler(RecordingHandler):
    """Keeps a message (it is delivered) and then waits ``data_delay`` before saying so: a
    sender killed meanwhile never learns that its message went out."""

    data_delay: float = 0.0
    in_data: int = 0

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        self.in_data += 1
        await asyncio.sleep(self.data_delay)
        self.in_data -= 1
        return reply


@pytest.fixture
def smtp():
    with SMTPServer(SlowAcceptHandler()) as server:
        yield server


def subscribe_all(db, emails: list[str]) -> None:
    prefs = flow.parse_preferences("daily", 0, 5, "", "", "")
    with db.session() as session:
        for email in emails:
            sub = store.pending_subscriber(session, email)
            flow.apply_preferences(sub, prefs)
            store.activate(session, sub, NOW)


def seed(db, emails: list[str]) -> None:
    seed_papers(db, [paper(f"2606.{i:05d}", f"Paper number {i}", upvotes=50 - i) for i in range(8)], DAY)
    subscribe_all(db, emails)


def sender_env(db, smtp, *, lease: int, connections: int, batch: int) -> dict:
    s = db.settings
    return {**os.environ, "PAPERFEED_DATABASE_URL": s.resolved_database_url, "PAPERFEED_DATA_DIR": str(s.data_dir),
            "PAPERFEED_SECRET_KEY": "test-secret", "PAPERFEED_EMBED_IN_BACKGROUND": "false",
            "PAPERFEED_SMTP_HOST": "127.0.0.1", "PAPERFEED_SMTP_PORT": str(smtp.port),
            "PAPERFEED_MAIL_FROM": "paperfeed <digest@paperfeed.test>",
            "PAPERFEED_DIGEST_LEASE_SECONDS": str(lease), "PAPERFEED_DIGEST_BATCH_SIZE": str(batch),
            "PAPERFEED_DIGEST_SMTP_CONNECTIONS": str(connections)}


def sender(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "paperfeed", "digest", "send", "--period", "daily",
                             "--date", DAY.isoformat()], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.02)


def received(smtp) -> Counter:
    return Counter(r for m in smtp.handler.messages for r in m.recipients)


def sent_count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(DigestDelivery).where(DigestDelivery.status == "sent"))


def test_a_batch_longer_than_the_lease_keeps_its_claims(db, smtp):
    """The issue's run: lease 3 s, 0.1 s a message, a second sender 3.5 s after the first."""
    emails = [f"r{i:03d}@example.com" for i in range(200)]
    seed(db, emails)
    smtp.handler.mail_delay = 0.1
    env = sender_env(db, smtp, lease=3, connections=2, batch=200)  # one batch: about 10 s of sending
    first = sender(env)
    wait_for(lambda: len(smtp.handler.messages) >= 1 or first.poll() is not None)
    time.sleep(3.5)  # the first sender's initial lease has run out by now; it is still sending
    assert first.poll() is None, "the first sender must still be at work"
    second = sender(env)
    outputs = [p.communicate(timeout=180) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert received(smtp) == Counter({email: 1 for email in emails})
    assert "sent 0," in outputs[1][0], "the second sender waited for the first one"
    assert sent_count(db) == len(emails)


def test_a_killed_sender_costs_at_most_one_duplicate_and_a_rerun_reports_its_claims(db, smtp):
    emails = [f"k{i:02d}@example.com" for i in range(30)]
    seed(db, emails)
    smtp.handler.data_delay = 0.3  # each message waits 0.3 s between being kept and being confirmed
    # renewals every 3 s: a sender silent for 4.5 s is dead, and its claims last 15 s from
    # its last renewal, time enough for the early rerun below to start and report them
    env = {**sender_env(db, smtp, lease=15, connections=4, batch=30), "PAPERFEED_DIGEST_LEASE_RENEW_FRACTION": "0.2"}
    victim = sender(env)
    wait_for(lambda: len(smtp.handler.messages) >= 6 and smtp.handler.in_data >= 1)
    victim.send_signal(signal.SIGKILL)  # while a message is delivered but not yet confirmed
    victim.wait()
    killed_at = sum(received(smtp).values())
    assert killed_at < len(emails)

    early = subprocess.run(sender(env).args, env=env, capture_output=True, text=True, timeout=120)
    assert early.returncode == CLAIMED_ELSEWHERE_EXIT, (early.stdout, early.stderr)
    claimed = re.search(r"(\d+) deliveries are claimed by another sender until (\d\d:\d\d:\d\d) UTC", early.stderr)
    assert claimed and int(claimed.group(1)) == len(emails) - sent_count(db), early.stderr
    assert "that sender stopped renewing them" in early.stderr
    assert sum(received(smtp).values()) == killed_at, "the early rerun sent nothing"

    time.sleep(15)  # the dead sender's claims expire
    rerun = subprocess.run(sender(env).args, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, (rerun.stdout, rerun.stderr)
    counts = received(smtp)
    assert set(counts) == set(emails)
    assert sum(counts.values()) - len(emails) <= 1, counts.most_common(5)
    assert sent_count(db) == len(emails)


def test_renewals_extend_only_the_claims_a_sender_still_holds(db):
    seed(db, ["a@example.com", "b@example.com", "c@example.com"])
    lease = timedelta(seconds=60)
    with db.session() as session:
        store.plan_deliveries(session, "daily:2026-06-12", "daily", None, NOW)
        mine = store.claim_deliveries(session, "daily:2026-06-12", "me", 2, NOW, lease)
        theirs = store.claim_deliveries(session, "daily:2026-06-12", "them", 5, NOW, lease)
    later = NOW + timedelta(seconds=50)
    with db.session() as session:
        assert store.renew_claims(session, "daily:2026-06-12", "me", later, lease) == 2
        assert store.renew_claims(session, "daily:2026-06-13", "me", later, lease) == 0
        # a takeover: the lease ran out and another sender claimed the delivery
        session.execute(update(DigestDelivery).where(DigestDelivery.pk == mine[1].pk).values(owner="them"))
        assert store.renew_claims(session, "daily:2026-06-12", "me", later, lease) == 1
        assert sorted(store.claims_of_others(session, "daily:2026-06-12", "me", later)) == [
            NOW + lease, later + lease]
        assert store.claims_of_others(session, "daily:2026-06-12", "me", NOW + timedelta(hours=1)) == []
        held = session.scalars(select(DigestDelivery.owner).where(DigestDelivery.status == D_CLAIMED)).all()
    assert (len(mine), len(theirs), sorted(held)) == (2, 1, ["me", "them", "them"])
