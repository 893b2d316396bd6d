"""Security properties of the whole app, on SQLite and PostgreSQL.

Route lists come from ``app.routes``, so a route added later is covered (and must
behave) without touching this file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select, text

from community_kit import PASSWORD, Clock, add_paper, client, make_app, signed_in, utc_today
from paperfeed.models import Base, Comment, User
from paperfeed.web.csrf import CSRF_EXEMPT_PREFIXES

SQLI = "' OR 1=1; DROP TABLE paper; --"
XSS = ['<script>alert("x")</script>', '<img src=x onerror="alert(1)">', '<a href="javascript:alert(1)">j</a>']
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
PAPER = "2611.00050"


@dataclass
class Rt:
    path: str
    methods: set[str]
    query: list[str]
    body: list[str]


def _all_routes(app) -> list[Rt]:
    """Every route, whether FastAPI keeps it flat (APIRoute) or inside an included router."""
    out = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            out.append(_rt(route))
        elif hasattr(route, "effective_route_contexts"):
            out.extend(_rt(ctx) for ctx in route.effective_route_contexts())
        elif getattr(route, "methods", None):  # plain starlette routes: /docs, /openapi.json
            out.append(Rt(route.path, set(route.methods), [], []))
    return out


def _rt(route) -> Rt:
    dep = route.dependant
    return Rt(route.path, set(route.methods), [p.alias for p in dep.query_params], [p.alias for p in dep.body_params])


def _routes(app, methods: set[str]):
    return [r for r in _all_routes(app) if r.methods & methods]


def _sample(name: str, ctx: dict) -> str:
    return ctx.get(name, "1")


def _path(route, ctx: dict, override: str | None = None) -> str:
    def fill(m):
        return override if override is not None else _sample(m.group(1), ctx)

    return re.sub(r"{([a-z_]+)(?::path)?}", fill, route.path)


def _query(route, ctx: dict, override: str | None = None) -> dict:
    return {name: override if override is not None else _sample(name, ctx) for name in route.query}


def _form(route, override: str) -> dict:
    return {name: override for name in route.body if name != "data"}


def _snapshot(db) -> dict:
    """Every row of every table, hashed: any write shows up."""
    out = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return out


@pytest.fixture
def world(db, settings):
    """An instance with papers, users, a comment and an API token, and sample route params."""
    app = make_app(settings, db, clock=Clock())
    today = utc_today()
    add_paper(db, PAPER, title="A safe paper", day=today, source="hf", upvotes=3)
    admin = signed_in(app, db, settings, "root", admin=True)
    ann = signed_in(app, db, settings, "ann")
    r = ann.form(f"/papers/{PAPER}/comments", {"body": "hello"})
    comment_pk = r.headers["location"].rsplit("#c", 1)[1]
    ctx = {"paper_id": PAPER, "kind": "date", "slug": today.isoformat(), "username": "ann",
           "comment_pk": comment_pk, "token_pk": "1", "day": today.isoformat(), "date": today.isoformat(),
           "fmt": "rss", "token": "x", "q": "paper", "p": "1", "next": "/", "sort": "trending",
           "category": "cs.LG", "period": "week", "mode": "keyword", "since": "2020-01-01",
           "until": today.isoformat(), "notice": "password", "limit": "5", "page": "1",
           "email": "ann@example.org", "week": "2026-W01", "month": "2026-01", "offset": "0"}
    return {"app": app, "admin": admin, "ann": ann, "ctx": ctx, "db": db, "settings": settings}


# --- no GET changes state ------------------------------------------------------


def test_no_get_changes_state(world):
    app, db, ctx = world["app"], world["db"], world["ctx"]
    before = _snapshot(db)
    seen = 0
    for who in (client(app), world["ann"], world["admin"]):
        for route in _routes(app, {"GET"}):
            r = who.get(_path(route, ctx), params=_query(route, ctx), follow_redirects=False)
            assert r.status_code < 500, (route.path, r.status_code, r.text[:300])
            seen += 1
    assert seen > 30
    assert _snapshot(db) == before


# --- CSRF ----------------------------------------------------------------------


def _csrf_checked(route) -> bool:
    return not route.path.startswith(CSRF_EXEMPT_PREFIXES)


@pytest.mark.parametrize("token", [None, "", "0" * 64, "deadbeef"])
def test_every_unsafe_route_rejects_missing_or_wrong_csrf_tokens(world, token):
    app, ctx = world["app"], world["ctx"]
    before = _snapshot(world["db"])
    checked = 0
    for who in (client(app), world["ann"]):
        who.get("/")  # holds a CSRF cookie, like a real visitor
        for route in _routes(app, UNSAFE):
            if not _csrf_checked(route):
                continue
            for method in route.methods & UNSAFE:
                data = _form(route, "x")
                if token is not None:
                    data["csrf_token"] = token
                r = who.request(method, _path(route, ctx), data=data or None, follow_redirects=False)
                assert r.status_code == 403, (method, route.path, r.status_code)
                checked += 1
    assert checked > 20
    assert _snapshot(world["db"]) == before


def test_csrf_token_from_another_browser_is_rejected(world):
    app = world["app"]
    other = client(app)
    stolen = other.csrf()
    victim = world["ann"]
    r = victim.post(f"/papers/{PAPER}/comments", data={"body": "forged", "csrf_token": stolen},
                    follow_redirects=False)
    assert r.status_code == 403


def test_right_token_passes_and_bearer_requests_are_exempt(world):
    ann = world["ann"]
    assert ann.form(f"/papers/{PAPER}/comments", {"body": "with token"}).status_code == 303
    r = ann.form("/settings/tokens", {"name": "t", "scopes": ["read", "write"]})
    raw = re.search(r"pf_[A-Za-z0-9_\-]+", r.text).group(0)
    api = client(world["app"])
    r = api.post(f"/api/papers/{PAPER}/comments", json={"body": "from a script"},
                 headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 201
    # the same request with the session cookie instead of the token needs a CSRF token
    r = ann.post(f"/api/papers/{PAPER}/comments", json={"body": "cookie"})
    assert r.status_code == 403


# --- authentication and authorization --------------------------------------------

PUBLIC_POSTS = {"/signup", "/login", "/logout", "/verify", "/reset", "/reset/confirm"}


def test_mutations_need_authentication(world):
    """Anonymous POSTs with a valid CSRF token change nothing outside the public account forms."""
    app, ctx, db = world["app"], world["ctx"], world["db"]
    anon = client(app)
    token = anon.csrf()
    before = _snapshot(db)
    tried = 0
    for route in _routes(app, UNSAFE):
        if route.path in PUBLIC_POSTS or route.path.startswith("/digest/"):
            continue
        for method in route.methods & UNSAFE:
            data = {**_form(route, "1"), "csrf_token": token}
            r = anon.request(method, _path(route, ctx), data=data, headers={"X-CSRF-Token": token},
                             follow_redirects=False)
            assert r.status_code in (200, 303, 401, 403, 404, 422), (route.path, r.status_code)
            if r.status_code == 200:
                assert "Sign in" in r.text, route.path
            tried += 1
    assert tried >= 15
    assert _snapshot(db) == before


def test_revoked_or_unknown_tokens_are_refused(world):
    api = client(world["app"])
    for raw in ("pf_unknown", SQLI, "x" * 500):
        assert api.get("/api/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
        assert api.post(f"/api/papers/{PAPER}/upvote", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_users_cannot_edit_or_delete_others_comments(world):
    db = world["db"]
    admin = world["admin"]
    with db.session() as s:
        pk = s.scalar(select(Comment.pk))
    assert admin.form(f"/comments/{pk}/edit", {"body": "not yours"}).status_code == 403
    assert admin.form(f"/comments/{pk}/delete").status_code == 403
    with db.session() as s:
        assert s.get(Comment, pk).body == "hello" and not s.get(Comment, pk).deleted


# --- sessions ----------------------------------------------------------------------


def test_session_id_changes_at_login(world):
    app = world["app"]
    c = client(app)
    planted = "attacker-chosen-session-id-0123456789"
    token = c.csrf()
    r = c.post("/login", data={"login": "ann", "password": PASSWORD, "csrf_token": token}, follow_redirects=False,
               headers={"Cookie": f"pf_csrf={c.cookies.get('pf_csrf')}; pf_session={planted}"})
    assert r.status_code == 303
    new = r.cookies.get("pf_session")
    assert new and new != planted
    attacker = client(app)
    attacker.cookies.set("pf_session", planted)
    assert "Sign out" not in attacker.get("/").text
    # signing in again from a signed-in browser also rotates, and ends the old session
    c.form("/login", {"login": "ann", "password": PASSWORD})
    assert c.cookies.get("pf_session") != new
    replay = client(app)
    replay.cookies.set("pf_session", new)
    assert "Sign out" not in replay.get("/").text


# --- email enumeration ------------------------------------------------------------


def _normalised(text: str) -> str:
    text = re.sub(r'name="csrf-token" content="[0-9a-f]+"|value="[0-9a-f]{64}"|X-CSRF-Token": "[0-9a-f]+"', "", text)
    return text


def test_answers_do_not_reveal_whether_an_email_has_an_account(world):
    app = world["app"]
    known, unknown = "ann@example.org", "nobody@example.org"

    def signup(email):
        r = client(app).form("/signup", {"username": f"u{abs(hash(email)) % 10**6}", "email": email,
                                         "password": "another fine passphrase"})
        return r.status_code, _normalised(r.text).replace(email, "EMAIL")

    def login(email):
        r = client(app).form("/login", {"login": email, "password": "wrong password here"})
        return r.status_code, _normalised(r.text).replace(email, "EMAIL")

    def reset(email):
        r = client(app).form("/reset", {"email": email})
        return r.status_code, _normalised(r.text)

    for probe in (login, reset):
        assert probe(known) == probe(unknown), probe.__name__
    # The page warns when the previous account mail failed (no mail server here): that is
    # the site's state, not the address's, so let one sign-up settle it before comparing.
    signup("first@example.org")
    a, b = signup(known), signup(unknown)
    assert a[0] == b[0] == 200
    assert re.sub(r"u\d+", "U", a[1]) == re.sub(r"u\d+", "U", b[1])


# --- rate limiting -------------------------------------------------------------------


def test_login_rate_limit_per_account_and_its_window(world):
    app, settings = world["app"], world["settings"]
    clock = app.state.clock
    c = client(app)
    for _ in range(settings.login_limit_per_account):
        assert c.form("/login", {"login": "ann", "password": "wrong password!!"}).status_code == 400
    r = c.form("/login", {"login": "ann", "password": PASSWORD})
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= settings.rate_limit_window_seconds
    other = client(app)  # another account from the same IP still works
    assert other.form("/login", {"login": "root", "password": PASSWORD}).status_code == 303
    clock.advance(settings.rate_limit_window_seconds + 1)
    assert c.form("/login", {"login": "ann", "password": PASSWORD}).status_code == 303


def test_login_and_signup_rate_limits_per_ip(world):
    app, settings = world["app"], world["settings"]
    c = client(app)
    for i in range(settings.login_limit_per_ip):
        c.form("/login", {"login": f"someone{i}", "password": "whatever it is"})
    r = c.form("/login", {"login": "ann", "password": PASSWORD})
    assert r.status_code == 429 and "Retry-After" in r.headers
    for i in range(settings.signup_limit_per_ip):
        assert c.form("/signup", {"username": f"new{i}", "email": f"new{i}@example.org",
                                  "password": "a fine passphrase"}).status_code == 200
    r = c.form("/signup", {"username": "onemore", "email": "onemore@example.org", "password": "a fine passphrase"})
    assert r.status_code == 429
    with world["db"].session() as s:
        assert s.scalar(select(User).where(User.username_key == "onemore")) is None
    app.state.clock.advance(settings.rate_limit_window_seconds + 1)
    assert c.form("/login", {"login": "ann", "password": PASSWORD}).status_code == 303


# --- XSS ------------------------------------------------------------------------------


class _Elements(HTMLParser):
    """Collects what a browser would treat as markup: tags, their attributes, script text."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on") and "alert" in (value or ""):  # our own handlers are fine
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src") and (value or "").strip().lower().startswith(("javascript:", "data:")):
                self.problems.append(f"<{tag} {name}={value!r}>")
        self.in_script = tag == "script"

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script and "alert" in data:
            self.problems.append(f"<script>{data[:40]}")


def _inert(html: str) -> None:
    parser = _Elements()
    parser.feed(html)
    assert not parser.problems, parser.problems


@pytest.mark.parametrize("payload", XSS)
def test_payloads_in_comments_and_titles_render_inert(world, payload):
    app, db, ann = world["app"], world["db"], world["ann"]
    add_paper(db, "2611.00051", title=f"Title {payload}", day=utc_today())
    ann.form("/papers/2611.00051/comments", {"body": f"comment {payload} [j](javascript:alert(1))"})
    for path in ("/", "/papers/2611.00051", "/papers/trending", "/u/ann", f"/papers/date/{utc_today()}",
                 "/search?q=Title"):
        r = client(app).get(path)
        assert r.status_code == 200, path
        _inert(r.text)
    page = client(app).get("/papers/2611.00051").text
    assert "onerror" not in payload or "onerror" in page  # shown as text, not dropped silently


def test_usernames_cannot_carry_markup_and_stored_ones_render_escaped(world):
    app, db = world["app"], world["db"]
    for name in XSS:
        r = client(app).form("/signup", {"username": name, "email": "x@example.org", "password": "a fine passphrase"})
        assert r.status_code == 400
    # a name that bypassed validation (e.g. an older database) is still escaped everywhere
    with db.session() as s:
        s.execute(text("UPDATE app_user SET username = :n WHERE username_key = 'ann'"), {"n": XSS[0]})
    for path in (f"/papers/{PAPER}", "/u/ann"):
        _inert(client(app).get(path).text)
    _inert(world["admin"].get("/admin/audit").text)


# --- SQL injection ---------------------------------------------------------------------


def test_sql_injection_strings_in_every_parameter_are_harmless(world):
    app, db, ctx = world["app"], world["db"], world["ctx"]
    ann = world["ann"]
    for route in _routes(app, {"GET"}):
        for path in (_path(route, ctx, override=SQLI), _path(route, ctx)):
            r = ann.get(path, params=_query(route, ctx, override=SQLI), follow_redirects=False)
            assert r.status_code < 500, (route.path, r.status_code, r.text[:300])
    for route in _routes(app, UNSAFE):
        if route.path.startswith("/settings/delete") or route.path == "/logout":
            continue
        for method in route.methods & UNSAFE:
            r = ann.request(method, _path(route, ctx), data={**_form(route, SQLI), "csrf_token": ann.csrf()},
                            follow_redirects=False)
            assert r.status_code < 500, (method, route.path, r.status_code, r.text[:300])
    for field in ("login", "password"):
        client(app).form("/login", {"login": "ann", "password": PASSWORD, field: SQLI})
    with db.session() as s:
        assert s.scalar(text("SELECT count(*) FROM paper")) >= 1
        assert s.scalar(text("SELECT count(*) FROM app_user")) >= 2
    assert "Sign out" in ann.get("/").text
