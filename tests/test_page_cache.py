"""Anonymous reads come from memory until the change sequence moves: a vote shows at once,
each visitor keeps their own CSRF token, and signed-in visitors always get their own page."""

from __future__ import annotations

import re

from community_kit import CSRF_META, add_paper, client, make_app, signed_in, utc_today
from test_queries_per_page import counted


def test_a_repeated_anonymous_read_costs_one_query(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00301", day=utc_today())
    c = client(app)
    path = f"/papers/date/{utc_today()}"
    first = c.get(path)
    with counted(db) as statements:
        again = c.get(path)
    assert again.status_code == 200 and len(statements) == 1  # the change sequence, nothing else
    assert again.text == first.text


def test_a_vote_shows_at_once_to_anonymous_readers(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00302", day=utc_today())
    anon, voter = client(app), signed_in(app, db, settings, "vic")
    count = re.compile(r'<span class="count">(\d+)</span>')
    assert count.search(anon.get("/papers/2611.00302").text).group(1) == "0"
    assert voter.htmx("/papers/2611.00302/upvote").status_code == 200
    assert count.search(anon.get("/papers/2611.00302").text).group(1) == "1"
    api = anon.get("/api/papers/2611.00302").json()
    assert api["upvotes"] == 1


def test_each_visitor_gets_their_own_csrf_token_from_a_cached_page(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00303", day=utc_today())
    path = f"/papers/date/{utc_today()}"
    one, two = client(app), client(app)
    token_one = CSRF_META.search(one.get(path).text).group(1)
    token_two = CSRF_META.search(two.get(path).text).group(1)  # served from the cache
    assert token_one != token_two
    assert two.post("/logout", data={"csrf_token": token_two}, follow_redirects=False).status_code == 303


def test_signed_in_readers_see_their_own_votes(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00304", day=utc_today())
    anon, voter = client(app), signed_in(app, db, settings, "wyn")
    anon.get("/papers/2611.00304")  # fill the cache
    voter.htmx("/papers/2611.00304/upvote")
    assert 'aria-pressed="true"' in voter.get("/papers/2611.00304").text
    assert 'aria-pressed="true"' not in anon.get("/papers/2611.00304").text
