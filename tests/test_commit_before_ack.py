"""Writes are acknowledged only once committed (issue #11, finding 4), on SQLite and PostgreSQL.

A commit that fails (a fault injected at COMMIT time) answers 5xx with no success body and
stores nothing; a commit that succeeds is visible to other connections before the first
byte of the response goes out, so a client following the sign-in redirect at once is
signed in.
"""

from __future__ import annotations

from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import func, select, text

from community_kit import CSRF_META, PASSWORD, ServerThread, add_paper, add_user, client, make_app, signed_in
from paperfeed.accounts import create_api_token
from paperfeed.models import Comment, UserSession, Vote
from paperfeed.store.users import get_user_by_name

FAULT_TABLES = ("vote", "comment", "user_session")


@contextmanager
def failing_commits(db, backend: str):
    """Every transaction that inserts into FAULT_TABLES fails at COMMIT, not before."""
    statements = _pg_fault() if backend == "postgres" else _sqlite_fault()
    with db.engine.begin() as conn:
        for sql in statements:
            conn.exec_driver_sql(sql)
    try:
        yield
    finally:
        if backend == "postgres":  # the PostgreSQL test database outlives this test
            with db.engine.begin() as conn:
                for table in FAULT_TABLES:
                    conn.exec_driver_sql(f"DROP TRIGGER pf_fail_commit ON {table}")
                conn.exec_driver_sql("DROP FUNCTION pf_fail_commit()")


def _pg_fault() -> list[str]:
    # A deferred constraint trigger runs at COMMIT: every statement before it succeeds.
    return ["CREATE FUNCTION pf_fail_commit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'injected failure at commit'; END $$"] + [
        f"CREATE CONSTRAINT TRIGGER pf_fail_commit AFTER INSERT ON {table} DEFERRABLE INITIALLY DEFERRED "
        "FOR EACH ROW EXECUTE FUNCTION pf_fail_commit()" for table in FAULT_TABLES]


def _sqlite_fault() -> list[str]:
    # SQLite has no deferred triggers, but it checks deferred foreign keys at COMMIT: each
    # insert adds a row that points nowhere, so the COMMIT fails.
    return ["CREATE TABLE pf_fault_parent (id INTEGER PRIMARY KEY)",
            "CREATE TABLE pf_fault (ref INTEGER REFERENCES pf_fault_parent(id) DEFERRABLE INITIALLY DEFERRED)"] + [
        f"CREATE TRIGGER pf_fail_{table} AFTER INSERT ON {table} BEGIN INSERT INTO pf_fault VALUES (-1); END"
        for table in FAULT_TABLES]


def count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def write_token(db, settings, username: str) -> dict:
    with db.session() as session:
        _, raw = create_api_token(session, get_user_by_name(session, username), "script", ["read", "write"])
    return {"Authorization": f"Bearer {raw}"}


def test_the_fault_fails_at_commit_and_not_before(db, backend, settings):
    add_user(db, settings, "probe")
    with failing_commits(db, backend), db.engine.connect() as conn:
        user_pk = conn.execute(text("SELECT pk FROM app_user")).scalar()
        conn.execute(text("INSERT INTO user_session (id_hash, user_pk, created_at, expires_at) "
                          "VALUES ('x', :u, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"u": user_pk})
        with pytest.raises(Exception, match="(?i)foreign key|injected failure"):
            conn.commit()
        conn.rollback()
    assert count(db, UserSession) == 0


def test_a_failed_commit_is_a_5xx_and_nothing_is_stored(db, backend, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00001")
    ann = signed_in(app, db, settings, "ann")
    auth = write_token(db, settings, "ann")
    add_user(db, settings, "ben")
    sessions_before = count(db, UserSession)
    api = client(app)
    with failing_commits(db, backend):
        upvote = api.post("/api/papers/2611.00001/upvote", headers=auth)
        comment = api.post("/api/papers/2611.00001/comments", json={"body": "lost?"}, headers=auth)
        form = ann.form("/papers/2611.00001/comments", {"body": "lost too?"})
        login = client(app).form("/login", {"login": "ben", "password": PASSWORD})
    for name, r in {"upvote": upvote, "api comment": comment, "comment form": form, "sign-in": login}.items():
        assert r.status_code >= 500, (name, r.status_code, r.text[:200])
        assert "location" not in r.headers and "pf_session" not in r.headers.get("set-cookie", ""), name
    assert '"voted"' not in upvote.text and '"id"' not in comment.text
    assert upvote.json() == {"error": upvote.json()["error"]}
    assert (count(db, Vote), count(db, Comment), count(db, UserSession)) == (0, 0, sessions_before)


class CommittedAtResponseStart:
    """ASGI wrapper: when a response starts, counts ``model`` rows from another connection."""

    def __init__(self, app, db, model):
        self.app, self.db, self.model = app, db, model
        self.seen: list[int] = []

    async def __call__(self, scope, receive, send):
        async def on_send(message):
            if message["type"] == "http.response.start" and scope.get("method") == "POST":
                self.seen.append(count(self.db, self.model))
            await send(message)

        await self.app(scope, receive, on_send)


def test_the_sign_in_is_committed_before_the_redirect_is_sent(db, settings):
    app = make_app(settings, db)
    add_user(db, settings, "cat")
    probe = CommittedAtResponseStart(app, db, UserSession)
    c = client(probe)
    r = c.form("/login", {"login": "cat", "password": PASSWORD})
    assert r.status_code == 303 and probe.seen == [1]
    assert c.get("/settings", follow_redirects=False).status_code == 200  # followed at once: signed in


def test_an_api_write_is_committed_before_its_answer_is_sent(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00002")
    add_user(db, settings, "dan")
    auth = write_token(db, settings, "dan")
    votes = CommittedAtResponseStart(app, db, Vote)
    assert client(votes).post("/api/papers/2611.00002/upvote", headers=auth).json()["voted"] is True
    comments = CommittedAtResponseStart(app, db, Comment)
    answer = client(comments).post("/api/papers/2611.00002/comments", json={"body": "hi"}, headers=auth)
    assert answer.status_code == 201
    assert (votes.seen, comments.seen) == ([1], [1])


def test_on_a_real_server_the_page_after_sign_in_is_signed_in_every_time(db, settings):
    """The issue's check: follow the sign-in redirect at once, many times."""
    settings = settings.model_copy(update={"login_limit_per_ip": 1000})  # 30 sign-ins from one address
    app = make_app(settings, db)
    add_user(db, settings, "eve")
    misses = 0
    with ServerThread(app) as server:
        for _ in range(30):
            with httpx.Client(base_url=server.url) as browser:
                token = CSRF_META.search(browser.get("/login").text).group(1)
                r = browser.post("/login", data={"login": "eve", "password": PASSWORD, "next": "/settings",
                                                 "csrf_token": token}, follow_redirects=True)
                misses += r.url.path != "/settings"
    assert misses == 0
