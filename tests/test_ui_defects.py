"""Defects a first-time user hit (issue 14): pages that say the truth and look finished."""

from __future__ import annotations

import re
from pathlib import Path

import pinned
import pytest
from community_kit import PASSWORD, add_paper, client, free_port, make_app, signed_in
from digest_support import SMTPServer
from web_helpers import load_demo

from paperfeed.digest import subscribe as flow
from paperfeed.store import subscriptions as store

DAY = pinned.TODAY
STYLE = Path(__file__).parent.parent / "src" / "paperfeed" / "web" / "static" / "style.css"


def _no_mail_server(settings):
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port()})


def _sign_up(c, name: str):
    return c.form("/signup", {"username": name, "email": f"{name}@example.org", "password": PASSWORD})


def test_sign_up_does_not_claim_a_mail_was_sent_when_the_server_refused_it(settings, db):
    c = client(make_app(_no_mail_server(settings), db))
    first = _sign_up(c, "first")
    assert first.status_code == 200 and "We sent" not in first.text and "We are sending" in first.text
    second = _sign_up(c, "second")  # the first one's mail failed after its page was sent
    assert "could not reach its mail server" in second.text and "We are sending" not in second.text


def test_signed_in_unverified_users_see_a_banner(settings, db):
    app = make_app(settings, db)
    assert "unverified" in signed_in(app, db, settings, "newbie", verified=False).get("/").text
    assert "unverified-banner" not in signed_in(app, db, settings, "oldtimer").get("/").text


def test_a_failed_confirmation_mail_does_not_block_the_retry(settings, db):
    db.settings = _no_mail_server(settings)
    now = pinned.naive_now()
    with pytest.raises(OSError):
        flow.request_subscription(db, "retry@example.com", now=now)
    with SMTPServer() as smtp:
        db.settings = settings.model_copy(update=smtp.settings_overrides())
        outcome = flow.request_subscription(db, "retry@example.com", now=now.replace(minute=31))
        assert outcome.mail_sent and len(smtp.handler.to("retry@example.com")) == 1
    with db.session() as session:
        assert store.by_email(session, "retry@example.com").confirm_mails == 1


def test_failed_digest_subscriptions_show_an_error_box_and_do_not_use_up_the_address(settings, db):
    app = make_app(_no_mail_server(settings), db)
    db.settings = app.state.settings
    c = client(app)
    answers = [c.form("/digest/subscribe", {"email": "me@example.org"}) for _ in range(6)]
    assert [a.status_code for a in answers] == [503] * 6  # never 429: no mail reached the address
    assert '<p class="notice error" role="alert">' in answers[0].text
    css = STYLE.read_text()
    assert re.search(r"\.notice\.error \{[^}]*background: var\(--error-bg\)", css)


def test_a_failed_confirmation_on_the_digest_settings_page_is_an_error_too(settings, db):
    app = make_app(_no_mail_server(settings), db)
    db.settings = app.state.settings
    c = signed_in(app, db, settings, "unsure", verified=False)
    r = c.form("/settings/digest", {"frequency": "daily", "weekday": "0", "size": "10"})
    assert r.headers["location"] == "/settings/digest?notice=mail-failed"
    assert '<p class="notice error" role="alert">Saved, but the confirmation email' in c.get(r.headers["location"]).text


def test_profile_comments_render_math_link_their_paper_and_say_when(settings, db):
    add_paper(db, "2611.00041", title="Squares and more", day=DAY)
    c = signed_in(make_app(settings, db), db, settings, "ann")
    r = c.form("/papers/2611.00041/comments", {"body": "Nice: $x^2$"})
    pk = int(r.headers["location"].rsplit("#c", 1)[1])
    page = c.get("/u/ann").text
    assert f'href="/papers/2611.00041#c{pk}"' in page and "Squares and more" in page
    assert '<div class="comment-body math">' in page  # app.js renders $x^2$ there, as on paper pages
    assert re.search(r'<time class="muted" datetime="2\d{3}-\d\d-\d\dT[^"]*Z">', page)


def test_the_author_count_shows_only_when_names_are_left_out(settings, db):
    add_paper(db, "2611.00042", day=DAY)  # one author, shown by name
    page = client(make_app(settings, db)).get(f"/papers/date/{DAY.isoformat()}").text
    assert "Ada Lovelace" in page and "1 author" not in page


def test_an_api_page_past_the_end_is_named_in_the_api_numbering(settings, db):
    add_paper(db, "2611.00043", day=DAY)
    r = client(make_app(settings, db)).get(f"/api/daily_papers?date={DAY.isoformat()}&p=9999")
    assert r.status_code == 404
    assert r.json()["error"].startswith("p=9999 is past the last page (p=0) of")


def test_period_counts_have_thousands_separators(settings, db):
    load_demo(db, lines=3000)  # 2025-03-18 .. 2025-04-03: over a thousand papers in March
    page = client(make_app(settings, db)).get("/papers/month/2025-03").text
    assert re.search(r'<span class="count muted">\d,\d{3} papers</span>', page)
