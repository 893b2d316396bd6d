"""Webhooks, saved searches and reply notifications through the web app and the API, on
SQLite and PostgreSQL, with a real local HTTP receiver and a real SMTP server."""

from __future__ import annotations

import re
import time

import pinned
import pytest
from community_kit import add_paper, client, make_app, signed_in, smtp_server
from notify_kit import Receiver
from sqlalchemy import select

from paperfeed.models.notify import NotifyEvent, Webhook
from paperfeed.notify.alerts import emit_trending, run_saved_searches
from paperfeed.notify.deliver import deliver_due
from paperfeed.notify.mails import send_due_mails

NOW = pinned.naive_now()


def clock():
    return NOW


@pytest.fixture
def local(settings):
    return settings.model_copy(update={"webhook_allow_private": True, "webhook_timeout_seconds": 2.0})


def token_client(app, db, settings, username):
    c = signed_in(app, db, settings, username)
    page = c.form("/settings/tokens", {"name": "t", "scopes": ["read", "write"]})
    token = re.search(r"data-new-token>([^<]+)<", page.text).group(1)
    api = client(app)
    api.headers["Authorization"] = f"Bearer {token}"
    return c, api


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_webhook_settings_send_test_and_call_log(db, local):
    app = make_app(local, db)
    c = signed_in(app, db, local, "ada")
    with Receiver() as rx:
        r = c.form("/settings/webhooks", {"name": "lab", "kind": "json", "url": rx.url("/T0/B1/secret-xyz"),
                                                 "events": ["reply"]})
        assert r.status_code == 303
        with db.session() as session:
            hook = session.scalar(select(Webhook))
        r = c.form(f"/settings/webhooks/{hook.pk}/test")
        assert r.status_code == 303
        assert len(rx.requests) == 1  # the background task ran after the response
        assert rx.requests[0].json()["event"] == "test"
    page = c.get("/settings/notifications").text
    assert "delivered (200)" in page and "Send test" in page
    assert "secret-xyz" not in page  # the log names the host, never the path (Slack's holds the secret)


@pytest.mark.parametrize("url", ["http://127.0.0.1/x", "ftp://example.org/", "javascript:alert(1)", "x" * 3000])
def test_webhook_urls_refused_without_the_admin_setting(db, settings, url):
    app = make_app(settings, db)
    c = signed_in(app, db, settings, "ada")
    r = c.form("/settings/webhooks", {"name": "x", "kind": "json", "url": url, "events": ["reply"]})
    assert r.status_code == 400
    with db.session() as session:
        assert session.scalar(select(Webhook)) is None  # bad input changes nothing


def test_odd_webhook_input_is_a_4xx(db, local):
    app = make_app(local, db)
    c = signed_in(app, db, local, "ada")
    target = "http://127.0.0.1/"
    assert c.form("/settings/webhooks", {"kind": "telegram", "url": target, "events": ["reply"]}).status_code == 400
    assert c.form("/settings/webhooks", {"kind": "json", "url": target, "events": ["nope"]}).status_code == 400
    assert c.form("/settings/webhooks/99999999999/test").status_code == 400
    assert c.form("/settings/webhooks/5/test").status_code == 404
    assert c.form("/admin/webhooks", {"kind": "json", "url": target, "events": ["trending"]}).status_code == 403
    assert client(app).post("/settings/webhooks", data={}).status_code == 403  # no CSRF token
    # the error pages showed the header badge without leaving a transaction open (one did,
    # and PostgreSQL's next TRUNCATE waited on it)
    assert db.engine.pool.checkedout() == 0


def test_admin_instance_webhook_gets_trending_picks(db, local):
    app = make_app(local, db)
    admin = signed_in(app, db, local, "root", admin=True)
    add_paper(db, "2606.00001", title="Top paper", day=pinned.TODAY, upvotes=5)
    with Receiver() as rx:
        assert admin.form("/admin/webhooks", {"name": "lab slack", "kind": "slack", "url": rx.url("/s"),
                                              "events": ["trending"]}).status_code == 303
        assert emit_trending(db, NOW)
        assert not emit_trending(db, NOW)  # once per day
        assert deliver_due(db, local, clock=clock).sent == 1
        (got,) = rx.requests
    assert "Top paper" in got.json()["blocks"][1]["text"]["text"]
    assert "lab slack" in admin.get("/admin/webhooks").text


def test_reply_notifications_badge_list_mail_and_webhook(db, local):
    with smtp_server() as (mailbox, port):
        cfg = local.model_copy(update={"smtp_port": port})
        app = make_app(cfg, db)
        ada = signed_in(app, db, cfg, "ada")
        bob = signed_in(app, db, cfg, "bob")
        add_paper(db, "2606.00002", title="Replies welcome")
        ada.form("/settings/notifications/mail", {"email_replies": "on"})
        with Receiver() as rx:
            ada.form("/settings/webhooks", {"kind": "discord", "url": rx.url(), "events": ["reply"]})
            r = ada.form("/papers/2606.00002/comments", {"body": "First!"})
            parent = int(r.headers["location"].split("#c")[1])
            assert 'data-badge' not in ada.get("/").text
            bob.form("/papers/2606.00002/comments", {"body": "A *reply*", "parent": str(parent)})
            bob.form("/papers/2606.00002/comments", {"body": "Not a reply"})  # ada neither submitted nor is replied to
            home = ada.get("/search").text
            assert re.search(r'data-badge>1<', home)
            listing = ada.get("/notifications").text
            assert "bob" in listing and "replied to your comment on" in listing and "Replies welcome" in listing
            assert deliver_due(db, cfg, clock=clock).sent == 1
            assert "bob replied to your comment" in rx.requests[0].json()["content"]
        assert send_due_mails(db, cfg, clock) == (1, 0)
        assert send_due_mails(db, cfg, clock) == (0, 0)  # once
        mail = mailbox.wait_for("ada@example.org")
        assert "bob replied to your comment" in mail["Subject"]
        ada.form("/notifications/read")
        assert 'data-badge' not in ada.get("/search").text


def test_comment_on_a_submitted_paper_notifies_the_submitter(db, settings):
    app = make_app(settings, db)
    ada = signed_in(app, db, settings, "ada")
    bob = signed_in(app, db, settings, "bob")
    add_paper(db, "2606.00003", title="Submitted by ada", source="auto")
    from paperfeed.models import DailyEntry, User

    with db.session() as session:
        ada_pk = session.scalar(select(User.pk).where(User.username == "ada"))
        session.execute(DailyEntry.__table__.update().values(submitted_by=ada_pk, source="user"))
    bob.form("/papers/2606.00003/comments", {"body": "Nice one"})
    ada.form("/papers/2606.00003/comments", {"body": "Thanks (no notice to myself)"})
    assert "commented on your submission" in ada.get("/notifications").text
    assert "Nothing yet" in bob.get("/notifications").text


def test_saved_search_from_the_page_alerts_by_mail_webhook_and_feed(db, local):
    with smtp_server() as (mailbox, port):
        cfg = local.model_copy(update={"smtp_port": port})
        app = make_app(cfg, db)
        ada = signed_in(app, db, cfg, "ada")
        add_paper(db, "2606.00010", title="Sparse attention, the old one")
        with Receiver() as rx:
            ada.form("/settings/webhooks", {"kind": "json", "url": rx.url(), "events": ["saved_search"]})
            r = ada.form("/search/save", {"q": "sparse attention", "mode": "keyword", "category": "cs.LG",
                                          "since": "", "until": "", "alert_email": "on", "alert_webhook": "on"})
            assert r.status_code == 303
            page = ada.get("/settings/notifications").text
            assert "sparse attention" in page
            feed_path = re.search(r'href="(/feeds/saved/[0-9a-f]{32}\.rss)"', page).group(1)
            assert run_saved_searches(db, cfg, NOW, sync=False).alerted == 0  # nothing new yet
            add_paper(db, "2606.00011", title="Sparse attention, new")
            add_paper(db, "2606.00012", title="Dense retrieval, new")
            report = run_saved_searches(db, cfg, NOW, sync=False)
            assert (report.alerted, report.papers) == (1, 1)
            assert run_saved_searches(db, cfg, NOW, sync=False).alerted == 0  # told once
            assert deliver_due(db, cfg, clock=clock).sent == 1
            data = rx.requests[0].json()["data"]
            assert [p["id"] for p in data["papers"]] == ["2606.00011"]
        assert send_due_mails(db, cfg, clock) == (1, 0)
        assert "2606.00011" in mailbox.wait_for("ada@example.org").get_body(("plain",)).get_content()
        feed = client(app).get(feed_path)  # a feed reader: no sign-in
        assert feed.status_code == 200 and "Sparse attention, new" in feed.text
        assert client(app).get("/feeds/saved/" + "0" * 32 + ".rss").status_code == 404


def test_saved_search_bad_input(db, settings):
    app = make_app(settings, db)
    ada = signed_in(app, db, settings, "ada")
    assert ada.form("/search/save", {"q": ""}).status_code == 400
    assert ada.form("/search/save", {"q": "x", "mode": "psychic"}).status_code == 400
    assert ada.form("/search/save", {"q": "x", "since": "2026-13-45"}).status_code == 400
    assert ada.form("/search/save", {"q": "x", "category": "<script>"}).status_code == 400
    assert ada.form("/search/save", {"q": "nul\x00byte"}).status_code == 400
    assert ada.form("/settings/webhooks", {"name": "a\x00b", "kind": "json", "url": "https://8.8.8.8/",
                                          "events": ["reply"]}).status_code == 400
    assert ada.form("/settings/searches/7/delete").status_code == 404
    with db.session() as session:
        assert session.scalar(select(NotifyEvent)) is None


def test_saved_searches_and_notifications_in_the_api(db, settings):
    app = make_app(settings, db)
    _, api = token_client(app, db, settings, "ada")
    r = api.post("/api/saved-searches", json={"query": "protein folding", "category": "q-bio", "alertEmail": True})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["feedUrl"].startswith("http://testserver/feeds/saved/")
    assert api.get("/api/saved-searches").json() == [created]
    assert api.post("/api/saved-searches", json={"query": ""}).status_code == 422
    assert api.post("/api/saved-searches", json={"query": "x", "mode": "nope"}).json()["error"]
    assert api.delete(f"/api/saved-searches/{created['id']}").status_code == 204
    assert api.delete(f"/api/saved-searches/{created['id']}").status_code == 404
    assert api.get("/api/notifications").json() == []
    assert client(app).get("/api/saved-searches").status_code == 401
    schema = client(app).get("/openapi.json").json()
    assert "SavedSearchOut" in schema["components"]["schemas"]


def test_no_get_writes_and_pages_need_sign_in(db, settings):
    app = make_app(settings, db)
    anon = client(app)
    for path in ("/settings/notifications", "/notifications"):
        assert anon.get(path, follow_redirects=False).status_code == 303
    assert anon.get("/admin/webhooks").status_code in (401, 403)
