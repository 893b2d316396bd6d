"""Webhook delivery against a real local HTTP receiver, on SQLite and PostgreSQL: signed
JSON, Slack and Discord bodies, exactly once per target (also with two workers), retries
with backoff, auto-disable, SSRF refusals at save and at send time, the call log."""

from __future__ import annotations

import threading
from datetime import timedelta, timezone

import pinned
import pytest
from community_kit import add_user
from notify_kit import Receiver
from sqlalchemy import select

from paperfeed.models.notify import Webhook, WebhookCall, WebhookDelivery
from paperfeed.notify import payloads
from paperfeed.notify.deliver import deliver_due
from paperfeed.notify.signing import HEADER, sign, verify
from paperfeed.notify.targets import TargetError, check_target
from paperfeed.store import webhooks as store

NOW = pinned.naive_now()


class StepClock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def local(settings):
    """These tests reach a receiver on 127.0.0.1: the admin setting that allows it."""
    return settings.model_copy(update={"webhook_allow_private": True, "webhook_timeout_seconds": 1.0,
                                       "webhook_retry_base_seconds": 10.0})


def make_hook(db, user_pk, url, kind="json", events=("saved_search", "reply", "trending")):
    with db.session() as session:
        return store.create_webhook(session, user_pk, "mine", kind, url, list(events)).pk


def emit(db, key, user_pk=None, kind="trending", data=None):
    with db.session() as session:
        event = store.emit_event(session, kind, key, data or {"title": "Trending papers", "papers": [
            {"id": "2606.00001", "title": "A <b>bold</b> & new paper", "path": "/papers/2606.00001",
             "authors": ["Ada Lovelace"]}]}, NOW, user_pk=user_pk)
        return event.pk if event else None


def calls(db, hook_pk):
    with db.session() as session:
        return [(c.status_code, c.ok, c.error) for c in session.scalars(
            select(WebhookCall).where(WebhookCall.webhook_pk == hook_pk).order_by(WebhookCall.pk))]


def test_signed_json_goes_once_and_verifies(db, local):
    user = add_user(db, local, "ada")
    with Receiver() as rx:
        hook = make_hook(db, user, rx.url())
        emit(db, "trending:2026-06-10")
        assert emit(db, "trending:2026-06-10") is None  # the same event twice is one event
        report = deliver_due(db, local, clock=StepClock())
        assert report.sent == 1
        assert deliver_due(db, local, clock=StepClock()).sent == 0  # nothing left: exactly once
        (got,) = rx.requests
    with db.session() as session:
        secret = session.get(Webhook, hook).secret
    timestamp = int(NOW.replace(tzinfo=timezone.utc).timestamp())
    assert got.headers[HEADER.lower()] == sign(secret, timestamp, got.body)
    assert verify(secret, got.headers[HEADER.lower()], got.body, now=timestamp + 10)
    assert not verify(secret, got.headers[HEADER.lower()], got.body + b" ", now=timestamp)
    assert not verify(secret, got.headers[HEADER.lower()], got.body, now=timestamp + 3600)  # a replay, later
    body = got.json()
    assert body["event"] == "trending" and body["id"] == got.headers["idempotency-key"]
    assert body["data"]["papers"][0]["id"] == "2606.00001"
    assert calls(db, hook) == [(200, True, None)]


def test_slack_and_discord_bodies(db, local):
    user = add_user(db, local, "ada")
    with Receiver() as rx:
        make_hook(db, user, rx.url("/slack"), kind="slack")
        make_hook(db, user, rx.url("/discord"), kind="discord")
        emit(db, "trending:x")
        assert deliver_due(db, local, clock=StepClock()).sent == 2
        bodies = {r.path: r.json() for r in rx.requests}
        assert HEADER.lower() not in {h for r in rx.requests for h in r.headers}
    slack = bodies["/slack"]
    assert slack["blocks"][0]["type"] == "header"
    assert "<http://testserver/papers/2606.00001|A &lt;b&gt;bold&lt;/b&gt; &amp; new paper>" in \
        slack["blocks"][1]["text"]["text"]
    discord = bodies["/discord"]
    assert discord["embeds"][0]["url"] == "http://testserver/papers/2606.00001"
    assert discord["embeds"][0]["title"] == "A <b>bold</b> & new paper"
    assert discord["allowed_mentions"] == {"parse": []}


def test_retries_5xx_and_timeouts_with_backoff(db, local):
    user = add_user(db, local, "ada")
    clock = StepClock()
    with Receiver(script=[503, "stall", 200], stall_seconds=2.5) as rx:
        hook = make_hook(db, user, rx.url())
        emit(db, "e1")
        assert deliver_due(db, local, clock=clock).retrying == 1  # 503
        assert deliver_due(db, local, clock=clock).sent == 0  # not due for 10 s
        clock.now += timedelta(seconds=10)
        assert deliver_due(db, local, clock=clock).retrying == 1  # timed out
        clock.now += timedelta(seconds=19)
        assert deliver_due(db, local, clock=clock).sent == 0  # the second wait is 20 s
        clock.now += timedelta(seconds=1)
        assert deliver_due(db, local, clock=clock).sent == 1
        keys = {r.headers["idempotency-key"] for r in rx.requests}
    assert len(rx.requests) == 3 and len(keys) == 1  # one delivery, one key, three calls
    log = calls(db, hook)
    assert [c[0] for c in log] == [503, None, 200]
    assert log[1][2] == "timed out"
    with db.session() as session:
        assert session.get(Webhook, hook).consecutive_failures == 0  # a success ends the streak


def test_auto_disable_after_consecutive_failures(db, local):
    strict = local.model_copy(update={"webhook_max_failures": 2})
    user = add_user(db, strict, "ada")
    with Receiver(script=[404, 410]) as rx:
        hook = make_hook(db, user, rx.url())
        emit(db, "a")
        emit(db, "b")
        report = deliver_due(db, strict, clock=StepClock())
        assert report.failed == 2  # a 4xx is not retried
        emit(db, "c")  # a disabled webhook is no longer a target
        assert deliver_due(db, strict, clock=StepClock()).sent == 0
        assert len(rx.requests) == 2
    with db.session() as session:
        row = session.get(Webhook, hook)
        assert not row.enabled and "2 failed calls in a row" in row.disabled_reason
        store.enable_webhook(session, row)
    with db.session() as session:
        assert session.get(Webhook, hook).consecutive_failures == 0


def test_two_workers_send_each_delivery_once(db, local):
    user = add_user(db, local, "ada")
    with Receiver() as rx:
        make_hook(db, user, rx.url())
        for i in range(30):
            emit(db, f"event-{i}")
        barrier = threading.Barrier(2)

        def worker(name):
            barrier.wait()
            while deliver_due(db, local, clock=StepClock(), owner=name, limit=4).sent:
                pass

        threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        keys = [r.headers["idempotency-key"] for r in rx.requests]
    assert len(keys) == 30 and len(set(keys)) == 30
    with db.session() as session:
        assert {d.status for d in session.scalars(select(WebhookDelivery))} == {"sent"}


def test_private_targets_refused_at_save_and_at_send(db, settings):
    for url in ("ftp://example.org/x", "javascript:alert(1)", "http://user:pw@example.org/", "http:///nohost",
                "http://127.0.0.1/x", "http://localhost:9/x", "http://10.1.2.3/", "http://169.254.169.254/latest",
                "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://192.168.1.1/"):
        with pytest.raises(TargetError):
            check_target(url)
    assert check_target("https://8.8.8.8/hook").address == "8.8.8.8"
    assert check_target("http://127.0.0.1:9/x", allow_private=True).port == 9
    user = add_user(db, settings, "ada")
    with Receiver() as rx:
        # saved while allowed (or the name pointed elsewhere then): refused again when sending
        hook = make_hook(db, user, rx.url())
        emit(db, "e")
        report = deliver_due(db, settings, clock=StepClock())
        assert report.failed == 1 and rx.requests == []
    ((code, ok, error),) = calls(db, hook)
    assert code is None and not ok and error.startswith("refused:")


def test_event_targets(db, local):
    ada, bob = add_user(db, local, "ada"), add_user(db, local, "bob")
    with Receiver() as rx:
        ada_hook = make_hook(db, ada, rx.url("/ada"), events=["reply"])
        make_hook(db, bob, rx.url("/bob"), events=["reply", "trending"])
        make_hook(db, None, rx.url("/instance"), events=["trending"])
        emit(db, "reply-1", user_pk=ada, kind="reply", data={"kind": "reply", "author": "bob", "paper_title": "T",
                                                              "path": "/papers/1", "comment_pk": 3, "excerpt": "hi"})
        emit(db, "trending-1")
        deliver_due(db, local, clock=StepClock())
        paths = sorted(r.path for r in rx.requests)
    assert paths == ["/ada", "/bob", "/instance"]  # a user's reply goes to that user only
    assert payloads.headline("reply", {"kind": "reply", "author": "bob", "paper_title": "T"}) == \
        "bob replied to your comment on “T”"
    assert ada_hook


def readme_recipe():
    """The verification snippet exactly as the README shows it."""
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    (code,) = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "def verify_paperfeed" in block]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    return namespace["verify_paperfeed"]


def test_the_readme_recipe_verifies_a_delivered_request(db, local):
    verify_paperfeed = readme_recipe()
    user = add_user(db, local, "ada")
    with Receiver() as rx:
        hook = make_hook(db, user, rx.url())
        emit(db, "e")
        deliver_due(db, local, clock=StepClock())
        (got,) = rx.requests
    with db.session() as session:
        secret = session.get(Webhook, hook).secret
    header = got.headers["x-paperfeed-signature"]
    sent_at = NOW.replace(tzinfo=timezone.utc).timestamp()
    assert verify_paperfeed(secret, header, got.body, now=sent_at + 60)
    assert not verify_paperfeed(secret, header, got.body.replace(b"Trending", b"Trendinh"), now=sent_at)
    assert not verify_paperfeed("another secret", header, got.body, now=sent_at)
    assert not verify_paperfeed(secret, header, got.body, now=sent_at + 301)  # too old: a replay
    assert not verify_paperfeed(secret, "garbage", got.body, now=sent_at)


def test_banned_users_hooks_hear_nothing(db, local):
    from paperfeed.models import User

    ada = add_user(db, local, "ada")
    with Receiver() as rx:
        make_hook(db, ada, rx.url("/ada"))
        make_hook(db, None, rx.url("/instance"))
        with db.session() as session:
            session.get(User, ada).banned = True
        emit(db, "trending-after-ban")
        deliver_due(db, local, clock=StepClock())
        assert [r.path for r in rx.requests] == ["/instance"]


def test_a_mail_that_fails_is_recorded_and_retried_then_given_up(db, local):
    from community_kit import free_port

    from paperfeed.models.notify import NotifyEvent
    from paperfeed.notify.mails import send_due_mails

    nowhere = local.model_copy(update={"smtp_port": free_port(), "digest_max_attempts": 2})
    ada = add_user(db, nowhere, "ada")
    with db.session() as session:
        store.emit_event(session, "reply", "reply-mail", {"kind": "reply", "author": "bob", "paper_title": "T",
                                                          "path": "/papers/1", "comment_pk": 1, "excerpt": "hi"},
                         NOW, user_pk=ada, mail=True)
    assert send_due_mails(db, nowhere, StepClock()) == (0, 1)
    with db.session() as session:
        event = session.scalar(select(NotifyEvent))
        assert event.mail_state == "pending" and event.mail_error
    assert send_due_mails(db, nowhere, StepClock()) == (0, 1)
    assert send_due_mails(db, nowhere, StepClock()) == (0, 0)  # given up after 2 attempts
    with db.session() as session:
        assert session.scalar(select(NotifyEvent)).mail_state == "failed"


def test_jobs_run_notify_deliver_from_the_command_line(db, local):
    from click.testing import CliRunner

    from paperfeed.cli import cli

    ada = add_user(db, local, "ada")
    env = {"PAPERFEED_DATABASE_URL": local.resolved_database_url, "PAPERFEED_DATA_DIR": str(local.data_dir),
           "PAPERFEED_WEBHOOK_ALLOW_PRIVATE": "true", "PAPERFEED_EMBED_IN_BACKGROUND": "false"}
    with Receiver() as rx:
        make_hook(db, ada, rx.url())
        emit(db, "from-the-cli")
        ran = CliRunner().invoke(cli, ["jobs", "run", "notify-deliver"], env=env, catch_exceptions=False)
        assert ran.exit_code == 0, ran.output
        assert "notify-deliver: ok (webhooks: 1 sent, 0 to retry, 0 failed; mails: 0 sent, 0 failed)" in ran.output
        assert len(rx.requests) == 1
    status = CliRunner().invoke(cli, ["jobs", "status"], env=env, catch_exceptions=False).output
    assert "notify-deliver  [every 1 min]  ok" in status and "notify-trending  [daily at 08:00 UTC]" in status
