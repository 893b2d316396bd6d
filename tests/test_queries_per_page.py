"""Templates only render: a page's queries are a constant, never one per card (the viewer's
votes and a paper's comments are looked up by the view, once)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from community_kit import add_paper, make_app, signed_in, utc_today


@contextmanager
def counted(db):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def queries_for(c, db, path: str) -> int:
    c.get(path)  # warm: the session user, caches
    with counted(db) as statements:
        assert c.get(path).status_code == 200
    return len(statements)


def test_a_signed_in_day_page_costs_the_same_queries_for_3_or_12_cards(db, settings):
    app = make_app(settings, db)
    c = signed_in(app, db, settings, "ann")
    day, other = utc_today(), utc_today().replace(day=1)
    for i in range(3):
        add_paper(db, f"2611.{i:05d}", day=day)
    for i in range(12):
        add_paper(db, f"2611.{100 + i:05d}", day=other)
    c.post("/api/papers/2611.00000/upvote", headers={"X-CSRF-Token": c.csrf()})
    few = queries_for(c, db, f"/papers/date/{day}")
    many = queries_for(c, db, f"/papers/date/{other}")
    assert few == many


def test_the_paper_page_shows_the_viewers_vote_and_comments_from_the_view(db, settings):
    app = make_app(settings, db)
    c = signed_in(app, db, settings, "bob")
    add_paper(db, "2611.00201", day=utc_today())
    assert c.htmx("/papers/2611.00201/upvote").status_code == 200
    c.form("/papers/2611.00201/comments", {"body": "A first comment"})
    page = c.get("/papers/2611.00201").text
    assert 'aria-pressed="true"' in page and "A first comment" in page


@contextmanager
def checkouts(db):
    taken: list[int] = []

    def note(dbapi_conn, record, proxy):
        taken.append(1)

    event.listen(db.engine, "checkout", note)
    try:
        yield taken
    finally:
        event.remove(db.engine, "checkout", note)


def test_a_search_page_and_a_paper_page_use_the_requests_one_session(db, settings):
    # Services take the request's session: search and similar papers open none of their own.
    app = make_app(settings, db)
    c = signed_in(app, db, settings, "ann")
    add_paper(db, "2611.00001", title="Sparse attention for long documents", day=utc_today())
    add_paper(db, "2611.00002", title="Sparse attention again", day=utc_today())
    for path in ("/search?q=sparse+attention&mode=keyword", "/papers/2611.00001", "/api/papers/search?q=sparse"):
        c.get(path)  # warm
        with checkouts(db) as taken:
            assert c.get(path).status_code == 200
        assert len(taken) <= 2, (path, len(taken))  # the request's session, and the signed-in user's look-up
