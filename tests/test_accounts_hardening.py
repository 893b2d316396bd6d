"""Issue 12 (accounts and abuse) and issue 11 row 5: sign-in limits keyed on the account
and checked atomically across instances, address validation, API tokens and links that
die with a reset or an email change, reset mail sent after the response, comment limits,
and submissions that fetch from arXiv without holding a database connection."""

from __future__ import annotations

import asyncio
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.pool import QueuePool

from community_kit import (CSRF_META, PASSWORD, Client, Mailbox, ServerThread, add_paper, add_user, client,
                           days_ago, free_port, link_in, make_app, signed_in, smtp_server)
from paperfeed import db as db_module
from paperfeed.accounts import passwords
from paperfeed.db import Database
from paperfeed.models import ApiToken, User

WRONG = "not the password at all"
TOKEN_RE = re.compile(r"pf_[A-Za-z0-9_\-]+")


@pytest.fixture
def mail_settings(settings):
    with smtp_server() as (mailbox, port):
        yield settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port}), mailbox


def _user(db, username: str) -> User:
    with db.session() as s:
        return s.scalar(select(User).where(User.username_key == username.lower()))


def _from(app, ip: str) -> Client:
    """A browser at another client address."""
    return Client(app, base_url="http://testserver", raise_server_exceptions=False, client=(ip, 40000))


def _login(c: Client, login: str, password: str) -> int:
    return c.form("/login", {"login": login, "password": password}).status_code


# --- sign-in limits: keyed on the account, per client address (issue 12 row 14) -------------


def test_username_and_email_share_one_sign_in_budget(db, settings):
    add_user(db, settings, "lena")
    c = client(make_app(settings, db))
    for login in ["lena", "lena@example.org", "LENA", " Lena@Example.org ", "lena"]:
        assert _login(c, login, WRONG) == 400
    assert _login(c, "lena@example.org", PASSWORD) == 429, "5 failures in all, under either name"
    assert _login(c, "lena", PASSWORD) == 429


def test_a_stranger_elsewhere_cannot_lock_the_owner_out(db, settings):
    add_user(db, settings, "mona")
    app = make_app(settings, db)
    stranger = _from(app, "203.0.113.7")
    for _ in range(settings.login_limit_per_account):
        assert _login(stranger, "mona", WRONG) == 400
    assert _login(stranger, "mona", PASSWORD) == 429
    assert _login(_from(app, "198.51.100.3"), "mona", PASSWORD) == 303, "the owner, from home, still signs in"


def test_guessing_from_many_addresses_meets_an_account_wide_ceiling(db, settings):
    settings = settings.model_copy(update={"login_limit_per_account_all_ips": 8})
    add_user(db, settings, "nina")
    app = make_app(settings, db)
    for i in range(8):
        assert _login(_from(app, f"203.0.113.{i}"), "nina", WRONG) == 400
    assert _login(_from(app, "203.0.113.99"), "nina", PASSWORD) == 429


def test_unknown_logins_are_limited_like_accounts(db, settings):
    c = client(make_app(settings, db))
    for _ in range(settings.login_limit_per_account):
        assert _login(c, "ghost", WRONG) == 400
    r = c.form("/login", {"login": "ghost", "password": WRONG})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


def test_a_successful_sign_in_is_not_counted_as_a_failure(db, settings):
    add_user(db, settings, "olga")
    c = client(make_app(settings, db))
    for _ in range(settings.login_limit_per_account - 1):
        assert _login(c, "olga", WRONG) == 400
    for _ in range(3):
        assert _login(client(c.app), "olga", PASSWORD) == 303
    assert _login(c, "olga", WRONG) == 400, "the 5th failure is still allowed"
    assert _login(c, "olga", PASSWORD) == 429


# --- the limit is one atomic step, across instances (issue 11 row 5) ------------------------


def test_simultaneous_wrong_passwords_on_two_instances_reach_the_check_at_most_five_times(db, settings,
                                                                                          monkeypatch):
    add_user(db, settings, "pia")
    checks = []
    real = passwords.password_matches

    def counted(password_hash, password):
        checks.append(1)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "password_matches", counted)
    other = Database(settings)  # a second node: its own engine and pool over the same database
    apps = [make_app(settings, db), make_app(settings, other)]
    browsers = [client(apps[i % 2]) for i in range(20)]
    tokens = [CSRF_META.search(b.get("/login").text).group(1) for b in browsers]
    barrier = threading.Barrier(len(browsers))
    statuses = []

    def attempt(browser, token):
        barrier.wait()
        r = browser.post("/login", data={"login": "pia", "password": WRONG, "csrf_token": token},
                         follow_redirects=False)
        statuses.append(r.status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(browsers, tokens)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        other.dispose()
    assert sorted(set(statuses)) == [400, 429] and len(statuses) == 20, statuses
    assert statuses.count(400) == len(checks) <= settings.login_limit_per_account


# --- addresses (issue 12 row 7) ---------------------------------------------------------------

BAD_ADDRESSES = ["postmaster,eve1@example.org", "a(comment)eve4@example.org", "Eve <eve2@example.org>",
                 "eve3@example.org, postmaster@example.org", '"a b"@example.org', "eve5@example.org\r\nBcc: x@y.org",
                 "eve6@localhost", "eve7@[127.0.0.1]", "éve@example.org", "eve8@@example.org", "x" * 300 + "@a.org"]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_sign_up_refuses_lists_comments_and_display_names(db, mail_settings, address):
    settings, mailbox = mail_settings
    c = client(make_app(settings, db))
    r = c.form("/signup", {"username": "eve", "email": address, "password": PASSWORD})
    assert r.status_code == 400 and "email address" in r.text
    assert _user(db, "eve") is None and not mailbox.messages


def test_addresses_are_stored_normalised(db, mail_settings):
    settings, mailbox = mail_settings
    c = client(make_app(settings, db))
    r = c.form("/signup", {"username": "ute", "email": "  Ute@Bücher.Example ", "password": PASSWORD})
    assert r.status_code == 200
    assert _user(db, "ute").email == "ute@xn--bcher-kva.example"
    mailbox.wait_for("ute@xn--bcher-kva.example")


def test_email_change_and_digest_subscription_refuse_bad_addresses(db, settings):
    from paperfeed.digest.subscribe import SubscriptionError, normalize_email

    app = make_app(settings, db)
    c = signed_in(app, db, settings, "vera")
    for address in BAD_ADDRESSES[:4]:
        r = c.form("/settings/email", {"password": PASSWORD, "email": address})
        assert r.status_code == 400 and "email address" in r.text
        with pytest.raises(SubscriptionError):
            normalize_email(address)
    assert normalize_email(" Vera@Example.ORG ") == "vera@example.org"


# --- API tokens and sessions die with a reset or an email change (issue 12 row 4) -------------


def _new_token(c: Client, scopes=("read", "write")):
    r = c.form("/settings/tokens", {"name": "script", "scopes": list(scopes)})
    match = TOKEN_RE.search(r.text)
    return r, match.group(0) if match else None


def test_unverified_accounts_cannot_create_api_tokens(db, settings):
    c = signed_in(make_app(settings, db), db, settings, "walt", verified=False)
    assert "Confirm your email address to create API tokens" in c.get("/settings").text
    r, raw = _new_token(c)
    assert r.status_code == 400 and raw is None and "Confirm your email address" in r.text
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_a_password_reset_revokes_every_token_and_session(db, mail_settings):
    settings, mailbox = mail_settings
    app = make_app(settings, db)
    squatter = signed_in(app, db, settings, "xena")
    _, raw = _new_token(squatter)
    api = client(app)
    bearer = {"Authorization": f"Bearer {raw}"}
    assert api.get("/api/me", headers=bearer).status_code == 200
    owner = client(app)
    owner.form("/reset", {"email": "xena@example.org"})
    token = link_in(mailbox.wait_for("xena@example.org"), "/reset/confirm?token=").split("token=", 1)[1]
    assert owner.form("/reset/confirm", {"token": token, "password": "the owner's new passphrase"}).status_code == 303
    assert api.get("/api/me", headers=bearer).status_code == 401
    assert squatter.get("/settings", follow_redirects=False).status_code == 303


def test_an_email_change_revokes_tokens_and_other_sessions_but_keeps_this_one(db, mail_settings):
    settings, mailbox = mail_settings
    app = make_app(settings, db)
    here = signed_in(app, db, settings, "yara")
    there = client(app)
    assert _login(there, "yara", PASSWORD) == 303
    _, raw = _new_token(here)
    assert here.form("/settings/email", {"password": PASSWORD, "email": "yara2@example.org"}).status_code == 303
    api = client(app)
    assert api.get("/api/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200, "not before it changes"
    token = link_in(mailbox.wait_for("yara2@example.org"), "/verify?token=").split("token=", 1)[1]
    assert "is confirmed" in here.form("/verify", {"token": token}).text
    assert _user(db, "yara").email == "yara2@example.org"
    assert api.get("/api/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert there.get("/settings", follow_redirects=False).status_code == 303
    assert here.get("/settings", follow_redirects=False).status_code == 200


# --- one used link spends its siblings (issue 12 row 15) ----------------------------------------


def test_using_one_reset_link_spends_every_other(db, mail_settings):
    settings, mailbox = mail_settings
    add_user(db, settings, "zack")
    c = client(make_app(settings, db))
    for _ in range(3):
        c.form("/reset", {"email": "zack@example.org"})
    links = [link_in(mailbox.wait_for("zack@example.org", n), "/reset/confirm?token=").split("token=", 1)[1]
             for n in (1, 2, 3)]
    assert c.form("/reset/confirm", {"token": links[1], "password": "a brand new passphrase"}).status_code == 303
    for token in (links[0], links[2]):
        r = c.form("/reset/confirm", {"token": token, "password": "the attacker's passphrase"})
        assert r.status_code == 400 and "already been used" in r.text
    assert _login(c, "zack", "a brand new passphrase") == 303


def test_an_email_change_spends_links_sent_to_other_addresses(db, mail_settings):
    settings, mailbox = mail_settings
    app = make_app(settings, db)
    c = signed_in(app, db, settings, "abel")
    c.form("/reset", {"email": "abel@example.org"})
    reset = link_in(mailbox.wait_for("abel@example.org"), "/reset/confirm?token=").split("token=", 1)[1]
    for address in ("abel2@example.org", "abel3@example.org"):
        c.form("/settings/email", {"password": PASSWORD, "email": address})
    first = link_in(mailbox.wait_for("abel2@example.org"), "/verify?token=").split("token=", 1)[1]
    second = link_in(mailbox.wait_for("abel3@example.org"), "/verify?token=").split("token=", 1)[1]
    assert "is confirmed" in c.form("/verify", {"token": second}).text
    r = c.form("/verify", {"token": first})
    assert r.status_code == 400 and _user(db, "abel").email == "abel3@example.org"
    r = c.form("/reset/confirm", {"token": reset, "password": "a brand new passphrase"})
    assert r.status_code == 400, "a reset link that went to the old address"


# --- reset mail goes after the response (issue 12 row 13) ---------------------------------------


class GatedMailbox(Mailbox):
    """Holds every message at DATA until the test opens the gate."""

    def __init__(self, gate: threading.Event):
        super().__init__()
        self.gate = gate

    async def handle_DATA(self, server, session, envelope):
        await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 15)
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def gated_smtp_server(gate: threading.Event):
    mailbox = GatedMailbox(gate)
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        gate.set()
        controller.stop()


def test_reset_answers_alike_before_any_mail_goes(db, settings):
    gate = threading.Event()
    with gated_smtp_server(gate) as (mailbox, port):
        settings = settings.model_copy(update={"smtp_port": port})
        add_user(db, settings, "bea")
        app = make_app(settings, db)
        with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
            token = CSRF_META.search(http.get("/login").text).group(1)
            answers = []
            for address in ("bea@example.org", "nobody@example.org"):
                r = http.post("/reset", data={"email": address, "csrf_token": token})
                answers.append((r.status_code, r.text.replace(token, "")))
                assert not mailbox.messages, "the answer came after the mail server took the message"
            assert answers[0] == answers[1] and answers[0][0] == 200
            gate.set()
            message = mailbox.wait_for("bea@example.org")
            link = link_in(message, "/reset/confirm?token=").split("token=", 1)[1]
            r = http.post("/reset/confirm", data={"token": link, "password": "a brand new passphrase",
                                                  "csrf_token": token}, follow_redirects=False)
            assert r.status_code == 303, "the link's row was committed before the mail went"
    assert [m["To"] for m in mailbox.messages] == ["bea@example.org"]


# --- comment limit (issue 12 row 16) -------------------------------------------------------------


def test_comments_are_limited_per_user_on_the_form_and_the_api(db, settings):
    settings = settings.model_copy(update={"comment_limit": 3, "comment_limit_window_seconds": 600})
    app = make_app(settings, db)
    add_paper(db, "2611.00060")
    c = signed_in(app, db, settings, "cleo")
    _, raw = _new_token(c)
    api = client(app)
    bearer = {"Authorization": f"Bearer {raw}"}
    assert c.form("/papers/2611.00060/comments", {"body": ""}).status_code == 400, "refused input is not counted"
    assert c.form("/papers/2611.00060/comments", {"body": "one"}).status_code == 303
    assert api.post("/api/papers/2611.00060/comments", json={"body": "two"}, headers=bearer).status_code == 201
    assert c.form("/papers/2611.00060/comments", {"body": "three"}).status_code == 303
    r = c.form("/papers/2611.00060/comments", {"body": "four"})
    assert r.status_code == 429 and "at most 3 comments in 10 minutes" in r.text
    assert int(r.headers["Retry-After"]) == 600
    r = api.post("/api/papers/2611.00060/comments", json={"body": "four"}, headers=bearer)
    assert r.status_code == 429 and "commenting too fast" in r.json()["error"] and "Retry-After" in r.headers
    assert signed_in(app, db, settings, "dora").form("/papers/2611.00060/comments",
                                                      {"body": "another person"}).status_code == 303
    app.state.clock.advance(601)
    assert c.form("/papers/2611.00060/comments", {"body": "later"}).status_code == 303
    with db.session() as s:
        from paperfeed.models import Comment

        assert sorted(s.scalars(select(Comment.body))) == ["another person", "later", "one", "three", "two"]


def test_a_reply_to_an_impossible_parent_is_a_400(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00061")
    c = signed_in(app, db, settings, "edda")
    r = c.form("/papers/2611.00061/comments", {"body": "hi", "parent": str(10**20)})
    assert r.status_code in (400, 422)
    r = c.form("/papers/2611.00061/comments", {"body": "hi", "parent": str(2**40)})
    assert r.status_code == 400


# --- submissions fetch from arXiv without holding a connection (issue 12 row 3) -----------------

ATOM = Path(__file__).parent / "fixtures" / "arxiv_api_atom"
KNOWN_TO_ARXIV = "1605.08386"


class SlowArxiv:
    """A fake arXiv that holds every request until the test lets it answer."""

    def __init__(self):
        self.arrived, self.go = threading.Event(), threading.Event()
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.arrived.set()
        self.go.wait(20)
        ids = request.url.params.get("id_list", "")
        name = ("id_1605.08386_s0_m100_199195aa31ad.atom.xml" if ids == KNOWN_TO_ARXIV
                else "id_0000.0000_s0_m100_8b51d9633a68.atom.xml")
        return httpx.Response(200, content=(ATOM / name).read_bytes(),
                              headers={"content-type": "application/atom+xml"})


@pytest.fixture
def submit_settings(settings):
    return settings.model_copy(update={"arxiv_min_interval": 0.0, "submission_window_days": 100_000})


def _small_pool(settings, size: int) -> Database:
    """The same database behind a pool of ``size`` connections that waits 3 s at most."""
    url = settings.resolved_database_url
    options = {"poolclass": QueuePool, "pool_size": size, "max_overflow": 0, "pool_timeout": 3,
               "json_serializer": db_module.json_dumps, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)
        event.listen(engine, "connect", db_module._sqlite_pragmas)
    else:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), **options)
    return Database(settings, engine=engine)


@contextmanager
def _in_thread(call):
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(response=call()))
    thread.start()
    try:
        yield result
    finally:
        thread.join(60)


def test_a_slow_arxiv_fetch_holds_no_database_connection(db, submit_settings):
    small = _small_pool(submit_settings, 1)
    arxiv = SlowArxiv()
    app = make_app(submit_settings, small, transport=arxiv.transport)
    c = signed_in(app, small, submit_settings, "finn")
    try:
        with _in_thread(lambda: c.form("/submit", {"reference": KNOWN_TO_ARXIV})) as result:
            try:
                assert arxiv.arrived.wait(20)
                assert small.engine.pool.checkedout() == 0, "the waiting submit holds a connection"
                assert client(app).get("/about").status_code == 200
                signed_in(app, small, submit_settings, "gus")
            finally:
                arxiv.go.set()
        assert result["response"].status_code == 303
        assert result["response"].headers["location"].startswith(f"/papers/{KNOWN_TO_ARXIV}")
    finally:
        small.dispose()


def test_one_arxiv_fetch_in_flight_per_user_and_a_few_per_process(db, submit_settings, monkeypatch):
    from paperfeed.web import submissions

    monkeypatch.setattr(submissions, "ARXIV_FETCHES_PER_PROCESS", 1, raising=False)
    arxiv = SlowArxiv()
    app = make_app(submit_settings, db, transport=arxiv.transport)
    add_paper(db, "2611.00070", day=days_ago(2))
    c = signed_in(app, db, submit_settings, "hugo")
    _, raw = _new_token(c)
    api, bearer = client(app), {"Authorization": f"Bearer {raw}"}
    other = signed_in(app, db, submit_settings, "ines")
    with _in_thread(lambda: c.form("/submit", {"reference": KNOWN_TO_ARXIV})) as result:
        try:
            assert arxiv.arrived.wait(20)
            r = c.form("/submit", {"reference": "2611.99998"})
            assert r.status_code == 429 and "already have a paper being fetched" in r.text
            assert int(r.headers["Retry-After"]) > 0
            r = api.post("/api/submit", json={"reference": "2611.99997"}, headers=bearer)
            assert r.status_code == 429 and "already have a paper" in r.json()["error"]
            assert c.form("/submit", {"reference": "2611.00070"}).status_code == 303, "known papers need no fetch"
            r = other.form("/submit", {"reference": "2611.99996"})
            assert r.status_code == 503 and "Retry-After" in r.headers
        finally:
            arxiv.go.set()
    assert result["response"].status_code == 303
    r = c.form("/submit", {"reference": "2611.99995"})
    assert r.status_code == 400 and "arXiv has no paper" in r.text, "the user's slot was given back"
    r = other.form("/submit", {"reference": "2611.99994"})
    assert r.status_code == 400 and "arXiv has no paper" in r.text, "so was the process's"


# --- odd input on account routes is a 4xx (issue 12 row 8, the account part) ----------------------


def test_non_ascii_link_tokens_and_huge_token_ids_are_refused_not_crashes(db, settings):
    app = make_app(settings, db)
    c = signed_in(app, db, settings, "jana")
    for path in ("/verify", "/reset/confirm"):
        r = c.form(path, {"token": "1.2.abc.ünïcödé", "password": "a brand new passphrase"})
        assert r.status_code == 400 and "not valid" in r.text
    for huge in (2**40, 10**20):
        assert c.form(f"/settings/tokens/{huge}/revoke").status_code == 400
