"""Upvotes (htmx toggle, exact counts under 50 concurrent voters on a real server),
submissions (including fetching from arXiv through an injected transport) and trending."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

import pinned
from community_kit import (Clock, ServerThread, add_paper, client, days_ago, entry_counts, make_app,
                           signed_in, utc_today)
from paperfeed.models import DailyEntry, Paper, Vote
from paperfeed.store.trending import trending_order, trending_score

ATOM = Path(__file__).parent / "fixtures" / "arxiv_api_atom"


def test_upvote_toggles_with_htmx_and_returns_the_partial(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00010")
    c = signed_in(app, db, settings, "ann")
    r = c.htmx("/papers/2611.00010/upvote")
    assert r.status_code == 200
    assert 'class="upvote voted"' in r.text and '<span class="count">1</span>' in r.text
    assert "<html" not in r.text, "a partial, not a page"
    r = c.htmx("/papers/2611.00010/upvote")
    assert 'class="upvote"' in r.text and '<span class="count">0</span>' in r.text
    assert entry_counts(db, "2611.00010")[0][1] == 0


def test_anonymous_and_unverified_users_are_asked_first(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00011")
    r = client(app).htmx("/papers/2611.00011/upvote")
    assert r.status_code == 200 and "Sign in</a> to upvote" in r.text
    c = signed_in(app, db, settings, "unverified", verified=False)
    assert "Verify your email</a> to upvote" in c.htmx("/papers/2611.00011/upvote").text
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Vote)) == 0


def test_votes_add_to_the_imported_hf_count_and_survive_reimport(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00012", source="hf", upvotes=10)
    c = signed_in(app, db, settings, "ben")
    c.htmx("/papers/2611.00012/upvote")
    assert entry_counts(db, "2611.00012")[0][1] == 11
    add_paper(db, "2611.00012", source="hf", upvotes=12)  # HF's count moved on
    assert entry_counts(db, "2611.00012")[0][1] == 13
    add_paper(db, "2611.00012", day=days_ago(1), source="auto")  # a new entry for a voted paper
    assert [u for _, u, _ in entry_counts(db, "2611.00012")] == [1, 13]
    c.htmx("/papers/2611.00012/upvote")
    assert [u for _, u, _ in entry_counts(db, "2611.00012")] == [0, 12]


def test_fifty_concurrent_voters_on_a_real_server(db, settings):
    """50 users vote at the same moment through uvicorn; then all take the vote back."""
    app = make_app(settings, db)
    add_paper(db, "2611.00013", source="hf", upvotes=5)
    with ServerThread(app) as server:
        clients = [_signed_in_http(db, settings, server.url, f"voter{i:02d}") for i in range(50)]
        for expected in (55, 5):
            _all_at_once(clients, "/papers/2611.00013/upvote")
            with db.session() as s:
                assert s.scalar(select(func.count()).select_from(Vote)) == expected - 5
            assert entry_counts(db, "2611.00013")[0][1] == expected
        for http, _ in clients:
            http.close()


def _signed_in_http(db, settings, url: str, name: str) -> tuple[httpx.Client, str]:
    """A voter with a real session cookie (made directly: 50 argon2 sign-ins would only add minutes)."""
    from paperfeed.accounts import start_session
    from paperfeed.models import User

    with db.session() as s:
        user = User(username=name, username_key=name, email=f"{name}@example.org", password_hash=_HASH,
                    email_verified=True)
        s.add(user)
        s.flush()
        raw = start_session(s, settings, user)
    http = httpx.Client(base_url=url, cookies={"pf_session": raw})
    return http, _csrf(http)


_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"


def _csrf(http: httpx.Client) -> str:
    import re

    return re.search(r'name="csrf-token" content="([0-9a-f]+)"', http.get("/login").text).group(1)


def _all_at_once(clients, path):
    barrier = threading.Barrier(len(clients))
    errors = []

    def vote(http, token):
        barrier.wait()
        r = http.post(path, headers={"HX-Request": "true", "X-CSRF-Token": token})
        if r.status_code != 200 or "count" not in r.text or "vote-prompt" in r.text:
            errors.append((r.status_code, r.text[-300:]))

    threads = [threading.Thread(target=vote, args=pair) for pair in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors


def _arxiv_transport(calls: list):
    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        ids = request.url.params.get("id_list", "")
        name = "id_1605.08386_s0_m100_199195aa31ad.atom.xml" if ids == "1605.08386" else "id_0000.0000_s0_m100_8b51d9633a68.atom.xml"
        return httpx.Response(200, content=(ATOM / name).read_bytes(), headers={"content-type": "application/atom+xml"})

    return httpx.MockTransport(handle)


@pytest.fixture
def submit_settings(settings):
    return settings.model_copy(update={"arxiv_min_interval": 0.0, "submission_window_days": 100_000})


def test_submit_fetches_an_unknown_paper_from_arxiv(db, submit_settings):
    calls = []
    app = make_app(submit_settings, db, transport=_arxiv_transport(calls))
    c = signed_in(app, db, submit_settings, "cat")
    r = c.form("/submit", {"reference": "https://arxiv.org/pdf/1605.08386v1"})
    assert r.status_code == 303 and r.headers["location"].startswith("/papers/1605.08386")
    assert len(calls) == 1
    with db.session() as s:
        entry = s.scalar(select(DailyEntry).join(Paper).where(Paper.id == "1605.08386"))
        assert (entry.source, entry.day, entry.submitted_by is not None) == ("user", utc_today(), True)
        assert s.scalar(select(Paper.title).where(Paper.id == "1605.08386")) == "Heat-bath random walks with Markov bases"
    again = c.form("/submit", {"reference": "arXiv:1605.08386"})
    assert again.status_code == 400 and "already on the page" in again.text
    assert len(calls) == 1, "a known paper is not fetched again"
    assert "Heat-bath random walks" in c.get("/u/cat").text


def test_submit_rejects_bad_unknown_and_old_papers(db, settings):
    calls = []
    app = make_app(settings.model_copy(update={"arxiv_min_interval": 0.0}), db, transport=_arxiv_transport(calls))
    add_paper(db, "2611.00014", day=days_ago(30), published=days_ago(30))
    c = signed_in(app, db, settings, "dan")
    r = c.form("/submit", {"reference": "not a paper"})
    assert r.status_code == 400 and "not an arXiv id" in r.text
    r = c.form("/submit", {"reference": "2611.00014v2"})
    assert r.status_code == 400 and "up to 14 days after publication" in r.text
    r = c.form("/submit", {"reference": "2611.99999"})
    assert r.status_code == 400 and "arXiv has no paper 2611.99999" in r.text
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(DailyEntry).where(DailyEntry.source == "user")) == 0


def test_trending_order_matches_the_documented_formula(db, settings):
    now = pinned.NOW
    specs = [("2611.00020", 0, 3), ("2611.00021", 0, 0), ("2611.00022", 1, 4), ("2611.00023", 3, 30),
             ("2611.00024", 7, 60), ("2611.00025", 1, 1)]
    for pid, age, votes in specs:
        add_paper(db, pid, day=days_ago(age), source="hf", upvotes=votes)
    expected = sorted(specs, key=lambda s: (-trending_score(s[2], days_ago(s[1]), now), s[1], s[0]))
    with db.session() as s:
        got = s.scalars(select(Paper.id).select_from(DailyEntry).join(Paper).order_by(*trending_order(now))).all()
    assert got == [pid for pid, _, _ in expected]
    # the formula itself: at midnight a week-old paper needs (7+2)^2/(0+2)^2 = 20.25x the
    # (upvotes + 1) of today's: 4 * 20.25 = 81, so 80 upvotes tie with 3 and 81 win
    today = datetime.combine(utc_today(), datetime.min.time())
    assert trending_score(80, days_ago(7), today) == pytest.approx(trending_score(3, utc_today(), today))
    assert trending_score(79, days_ago(7), today) < trending_score(3, utc_today(), today)
    assert trending_score(81, days_ago(7), today) > trending_score(3, utc_today(), today)


def test_trending_page_shows_what_is_rising(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00030", title="Old but popular", day=days_ago(20), source="hf", upvotes=500)
    add_paper(db, "2611.00031", title="Rising today", day=utc_today(), source="hf", upvotes=5)
    add_paper(db, "2611.00032", title="Quiet today", day=utc_today())
    page = client(app).get("/papers/trending").text
    assert "Rising today" in page and "Old but popular" not in page
    assert page.index("Rising today") < page.index("Quiet today")


def test_a_weeks_trending_order_depends_on_the_data_not_on_when_it_is_asked(db, settings):
    clock = Clock()
    app = make_app(settings, db, clock)
    add_paper(db, "2611.00060", title="Two days old, 4 votes", day=days_ago(2), source="hf", upvotes=4)
    add_paper(db, "2611.00061", title="Newest day, 1 vote", day=utc_today(), source="hf", upvotes=1)
    year, week, _ = utc_today().isocalendar()
    url = f"/api/daily_papers?week={year}-W{week:02d}"
    c = client(app)
    first = c.get(url)
    clock.advance(30 * 86400)  # a month on, with no new data
    later = c.get(url)
    # measured as of the newest day: (1+1)/(0+2)^2 = 0.5 beats (4+1)/(2+2)^2 = 0.3125
    assert [i["paper"]["id"] for i in first.json()] == ["2611.00061", "2611.00060"]
    assert [i["paper"]["id"] for i in later.json()] == ["2611.00061", "2611.00060"]
    assert first.headers["etag"] == later.headers["etag"]
