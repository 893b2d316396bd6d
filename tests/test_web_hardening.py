"""Issue 12, web side: what a probe of the running site broke, each kept fixed here
(SQLite and PostgreSQL). Hostile rows are stored directly (hostile_kit), so these tests hold
whatever the importers let through."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from community_kit import ServerThread, add_paper, add_user, client, make_app, signed_in
from hostile_kit import DAY, EVIL_ID, OLD_ID, TRAVERSAL_ID, add_hostile
from paperfeed.models import User
from paperfeed.store.papers import get_paper
from paperfeed.links import paper_path

ENCODED_TRAVERSAL = "cspt%2F..%2F..%2F..%2Fadmin%2Fusers%2Fbob_1%2Fban%3Fx%3D"
URL_ATTRS = {"href", "src", "action", "hx-post", "hx-get", "formaction"}


class Links(HTMLParser):
    """Every URL-valued attribute, and any inline script or event handler, in a page."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.inline_scripts = 0
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        for name, value in attrs:
            if name in URL_ATTRS and value is not None:
                self.urls.append((name, value))
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
        if tag == "script" and not names.get("src"):
            self.inline_scripts += 1


def page_links(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


def assert_only_web_links(html: str) -> None:
    for name, url in page_links(html).urls:
        ok = url.startswith(("/", "#", "?")) and not url.startswith("//") or url.startswith(("http://", "https://"))
        assert ok, f"{name}={url!r}"
        assert "javascript" not in url.lower() and "data:" not in url.lower(), f"{name}={url!r}"


@pytest.fixture
def app(settings, db):
    add_hostile(db)
    add_paper(db, "2606.00002", title="A harmless neighbour", day=DAY)
    return make_app(settings, db)


# --- row 1: links from data are http(s) only, on every page that shows them ----------


def test_hostile_links_never_reach_an_href(app):
    c = client(app)
    for path in [f"/papers/date/{DAY}", paper_path(EVIL_ID), f"/papers/week/{DAY:%G-W%V}", "/papers/trending"]:
        r = c.get(path)
        assert r.status_code == 200, path
        assert_only_web_links(r.text)
        assert "<script>window.__pwned" not in r.text and "<img src=x" not in r.text
    paper = c.get(paper_path(EVIL_ID)).text
    assert 'class="badge-code"' not in c.get(f"/papers/date/{DAY}").text.split(EVIL_ID)[1].split("</article>")[0]
    assert "Project page" not in paper and ">PDF<" not in paper and "arXiv page" not in paper


def test_api_hands_out_no_javascript_links(app):
    body = client(app).get(f"/api/papers/{EVIL_ID}").json()
    assert body["githubRepo"] is None and body["projectPage"] is None
    assert body["codeUrls"] == [] and body["arxivUrl"] is None and body["pdfUrl"] is None


def test_digest_html_keeps_only_web_links():
    from paperfeed.config import Settings
    from paperfeed.digest.choose import Candidate
    from paperfeed.digest.pool import period_for
    from paperfeed.digest.render import Recipient, render_digest

    settings = Settings(secret_key="k", base_url="https://papers.example.org", mail_from="d@papers.example.org")
    evil = Candidate(pk=1, id=TRAVERSAL_ID, title="T", authors=["Eve"], abstract="A.", upvotes=1,
                     categories=["cs.CR"], abs_url="javascript:alert(1)", code_url="javascript:alert(2)")
    mail = render_digest(settings, period_for("daily", DAY), Recipient(1, "r@example.org"), [evil])
    html = mail.message().get_body(("html",)).get_content()
    text = mail.message().get_body(("plain",)).get_content()
    assert "javascript:" not in html and "javascript:" not in text
    assert f"https://papers.example.org/papers/{ENCODED_TRAVERSAL}" in html
    for _, url in page_links(html).urls:
        assert url.startswith("https://papers.example.org/"), url


def test_security_headers_on_every_kind_of_answer(app):
    c = client(app)
    answers = [c.get("/"), c.get("/api/daily_papers"), c.get("/nowhere"), c.get("/static/app.js"),
               c.post("/login", data={"login": "x"}), c.get("/docs"), c.get("/feeds/latest.rss")]
    for r in answers:
        csp = r.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, r.url
        assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_pages_and_docs_carry_no_inline_script(app, db, settings):
    c = signed_in(app, db, settings, "alice", admin=True)
    for path in ["/", f"/papers/date/{DAY}", paper_path(EVIL_ID), "/search", "/about", "/docs", "/settings",
                 "/login", "/papers/trending", "/admin/audit", "/settings/digest"]:
        r = c.get(path)
        assert r.status_code == 200, path
        found = page_links(r.text)
        assert found.inline_scripts == 0 and not found.handlers, (path, found.handlers)
    docs = c.get("/docs").text
    assert 'src="/static/swagger-init.js"' in docs and 'data-openapi="/openapi.json"' in docs


# --- row 2: ids are percent-encoded wherever they form a URL ------------------------


def test_traversal_id_is_encoded_and_old_ids_keep_their_urls(app):
    html = client(app).get(f"/papers/date/{DAY}?view=all").text  # every paper of the day
    assert f'hx-post="/papers/{ENCODED_TRAVERSAL}/upvote"' in html
    assert f'href="/papers/{ENCODED_TRAVERSAL}"' in html
    assert "/papers/cspt/" not in html
    assert f'href="/papers/{OLD_ID}"' in html and f'hx-post="/papers/{OLD_ID}/upvote"' in html
    assert client(app).get(f"/papers/{OLD_ID}").status_code == 200


def test_the_encoded_upvote_reaches_the_paper_not_the_ban_route(app, db, settings):
    add_user(db, settings, "bob_1")
    admin = signed_in(app, db, settings, "root", admin=True)
    page = admin.get(f"/papers/{ENCODED_TRAVERSAL}")
    assert page.status_code == 200 and "climbs out of its path" in page.text
    r = admin.htmx(f"/papers/{ENCODED_TRAVERSAL}/upvote")
    assert r.status_code == 200 and "voted" in r.text
    with db.session() as session:
        assert not session.scalar(select(User).where(User.username == "bob_1")).banned


def test_feeds_and_redirects_encode_ids(app, db, settings):
    c = client(app)
    feed = c.get(f"/feeds/date/{DAY}.atom?view=all").text  # every new paper, curated or not
    assert f"http://testserver/papers/{ENCODED_TRAVERSAL}" in feed
    assert f"http://testserver/papers/{OLD_ID}" in feed
    r = c.post(f"/papers/{ENCODED_TRAVERSAL}/upvote", headers={"X-CSRF-Token": c.csrf()}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=/papers/{ENCODED_TRAVERSAL.replace('%', '%25')}"


def test_paper_path_never_yields_dot_segments():
    for pid in ["..", ".", "", "a/..", "../../x", "a//b", "/x", "x/", "a/./b"]:
        segments = paper_path(pid).split("/")
        assert not {".", "..", ""} & set(segments[1:]), (pid, paper_path(pid))
    assert paper_path("2401.00001") == "/papers/2401.00001"
    assert paper_path("math.GT/0309136") == "/papers/math.GT/0309136"
    assert paper_path("a b?c#d") == "/papers/a%20b%3Fc%23d"


# --- row 5: forwarded headers only from trusted proxies ----------------------------


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(settings, db):
    from paperfeed.web.proxies import TrustedProxyMiddleware

    seen = {}

    async def echo(scope, receive, send):
        seen.update(client=scope["client"][0], scheme=scope["scheme"])

    async def call(trusted, peer, xff, proto="https"):
        scope = {"type": "http", "client": (peer, 1234), "scheme": "http",
                 "headers": [(b"x-forwarded-for", xff.encode()), (b"x-forwarded-proto", proto.encode())]}
        await TrustedProxyMiddleware(echo, trusted)(scope, None, None)
        return seen["client"], seen["scheme"]

    import asyncio

    assert asyncio.run(call([], "127.0.0.1", "6.6.6.6")) == ("127.0.0.1", "http")  # the old uvicorn default
    assert asyncio.run(call(["10.0.0.0/8"], "127.0.0.1", "6.6.6.6")) == ("127.0.0.1", "http")
    assert asyncio.run(call(["10.0.0.0/8"], "10.1.2.3", "6.6.6.6")) == ("6.6.6.6", "https")
    # a spoofed first hop does not win: the nearest untrusted hop is the client
    assert asyncio.run(call(["10.0.0.0/8"], "10.1.2.3", "1.1.1.1, 203.0.113.9, 10.0.0.2")) == ("203.0.113.9", "https")


class ServedLikeServe(ServerThread):
    """uvicorn on a free port, given the proxy options `paperfeed serve` gives it."""

    def __init__(self, app, settings):
        import threading

        import uvicorn

        from paperfeed.cli.core import proxy_options

        super().__init__(app)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
                                **proxy_options(settings))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)


def test_per_ip_limits_count_the_real_peer_not_the_header(settings, db):
    """X-Forwarded-For from 127.0.0.1 used to be believed (uvicorn's default), so each spoofed
    address had a fresh limit."""
    import httpx

    app = make_app(settings.model_copy(update={"digest_ip_limit": 2}), db)
    with ServedLikeServe(app, settings) as server, httpx.Client(base_url=server.url) as c:
        token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', c.get("/login").text).group(1)
        codes = [c.post("/digest/subscribe", data={"email": f"p{i}@example.org", "csrf_token": token},
                        headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(3)]
    assert 429 not in codes[:2] and codes[2] == 429  # (no mail server here: the first two may be 503)


def test_settings_read_trusted_proxies_from_the_environment(monkeypatch):
    from paperfeed.config import load_settings

    monkeypatch.setenv("PAPERFEED_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16,")
    assert load_settings().trusted_proxies == ["10.0.0.1", "192.168.0.0/16"]
    monkeypatch.setenv("PAPERFEED_TRUSTED_PROXIES", "")
    assert load_settings().trusted_proxies == []
    monkeypatch.setenv("PAPERFEED_TRUSTED_PROXIES", "not-an-ip")
    with pytest.raises(ValueError):
        load_settings()


def test_serve_tells_uvicorn_whom_to_trust(monkeypatch, tmp_path):
    import uvicorn
    from click.testing import CliRunner

    from paperfeed.cli import cli

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PAPERFEED_TRUSTED_PROXIES", raising=False)
    # `serve --workers` marks the environment its workers inherit; keep that out of this process
    from paperfeed.metrics import MULTIPROC_ENV
    from paperfeed.web.supervision import SUPERVISOR_ENV

    for name in (MULTIPROC_ENV, SUPERVISOR_ENV):  # absent now, and again after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    assert CliRunner().invoke(cli, ["serve"]).exit_code == 0
    monkeypatch.setenv("PAPERFEED_TRUSTED_PROXIES", "10.0.0.5")
    assert CliRunner().invoke(cli, ["serve", "--workers", "2"]).exit_code == 0
    assert calls[0]["proxy_headers"] is False
    assert calls[1]["proxy_headers"] is True and calls[1]["forwarded_allow_ips"] == ["10.0.0.5"]


# --- row 6: request bodies are capped before anything buffers them -----------------


def test_a_declared_body_over_the_cap_is_refused_unread(settings, db):
    c = client(make_app(settings.model_copy(update={"max_body_bytes": 1000}), db))
    r = c.post("/login", content=b"x" * 1001, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and "larger than this server accepts" in r.text
    api = c.post("/api/papers/x/comments", content=b"{" + b" " * 2000 + b"}",
                 headers={"Content-Type": "application/json", "Authorization": "Bearer pf_x"})
    assert api.status_code == 413 and "error" in api.json()


def test_a_chunked_body_is_counted_as_it_arrives(settings, db):
    c = client(make_app(settings.model_copy(update={"max_body_bytes": 1000}), db))
    sent = []

    def chunks():
        for _ in range(50):
            sent.append(1)
            yield b"csrf_token=" + b"y" * 200

    r = c.post("/login", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    small = c.post("/login", content=iter([b"login=a"]), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert small.status_code == 403  # under the cap: on to the CSRF check


def test_multipart_forms_are_parsed_not_split_by_hand(app):
    c = client(app)
    token = c.csrf()
    boundary = "XyZ"
    # an unquoted field name is valid multipart (python-multipart reads it); the old splitter missed it
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=csrf_token\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=login\r\n\r\nnobody\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=password\r\n\r\nwrong\r\n--{boundary}--\r\n")
    ok = c.post("/login", content=body.encode(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert ok.status_code != 403, ok.text
    # a file whose *filename* mentions the field is not the field
    spoof = (f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="name=\\"csrf_token\\""\r\n'
             f"Content-Type: text/plain\r\n\r\n{token}\r\n--{boundary}--\r\n")
    r = c.post("/login", content=spoof.encode(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 403


# --- row 8: odd input is a 4xx, never a 500 ----------------------------------------


ANONYMOUS_ODDITIES = [
    ("get", "/papers/month/9999-12"), ("get", "/papers/week/9999-W52"), ("get", "/papers/date/9999-12-31"),
    ("get", "/papers/date/0001-01-01"), ("get", "/api/daily_papers?month=9999-12"),
    ("get", "/api/daily_papers?date=9999-12-31"), ("get", "/feeds/date/9999-12-31.rss"),
    ("get", "/search?q=author:_"), ("get", '/search?q="_ _"'), ("get", "/api/papers/search?q=author:_"),
    ("get", '/api/papers/search?q="_ _"&mode=keyword'), ("get", "/search?q=author:" + "a" * 60),
    ("get", "/feeds/search.rss?q=a%01b"), ("get", "/feeds/search.atom?q=a%1bb"),
    ("get", "/comments/99999999999999999999/edit"), ("get", "/comments/-1/edit"),
    ("get", "/digest/unsubscribe/99999999999999999999.abc"), ("get", "/digest/unsubscribe/%C3%A9%C3%A9.%C3%A9"),
    ("post", "/digest/unsubscribe/1.%C3%A9"), ("post", "/digest/unsubscribe/%D9%A1.abc"),
    ("post", "/digest/confirm/1.n.99999999999.%C3%A9"), ("post", "/digest/confirm/99999999999999999999.n.1.x"),
]


@pytest.mark.parametrize("method,path", ANONYMOUS_ODDITIES)
def test_odd_anonymous_requests_get_a_4xx(app, method, path):
    c = client(app)
    r = c.get(path) if method == "get" else c.post(path, headers={"X-CSRF-Token": c.csrf()})
    assert 400 <= r.status_code < 500 or (r.status_code == 200 and method == "get"), (path, r.status_code)


def test_non_ascii_tokens_are_refused_not_crashed_on(app):
    c = client(app)
    c.csrf()
    assert c.post("/login", data={"csrf_token": "é" * 64, "login": "x"}).status_code == 403
    assert c.post("/login", headers={"X-CSRF-Token": "é".encode("latin-1")}).status_code == 403
    token = c.csrf()
    for path in ["/verify", "/reset/confirm"]:
        r = c.post(path, data={"csrf_token": token, "token": "1.2.é.ç", "password": "x" * 20})
        assert r.status_code == 400, (path, r.status_code)


def test_huge_row_ids_in_paths_and_forms_are_a_4xx(app, db, settings):
    c = signed_in(app, db, settings, "carol")
    huge = "9" * 20
    assert c.form(f"/settings/tokens/{huge}/revoke").status_code in (400, 404)
    assert c.form(f"/comments/{huge}/edit", {"body": "x"}).status_code in (400, 404)
    assert c.form(f"/comments/{2**31}/delete").status_code in (400, 404)
    r = c.form("/papers/2606.00002/comments", {"body": "hello", "parent": huge})
    assert r.status_code == 400


# --- row 9: a control character in an abstract does not break feeds ---------------


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feeds_drop_xml_illegal_characters(app, fmt):
    c = client(app)
    for path in [f"/feeds/date/{DAY}.{fmt}", f"/feeds/latest.{fmt}", f"/feeds/trending.{fmt}"]:
        r = c.get(path)
        assert r.status_code == 200, path
        root = ElementTree.fromstring(r.content)
        assert "An abstract  with" in ElementTree.tostring(root, encoding="unicode")


# --- row 12: an empty Bearer header is no CSRF exemption ---------------------------


def test_an_empty_bearer_with_a_session_cookie_neither_skips_csrf_nor_authenticates(app, db, settings):
    c = signed_in(app, db, settings, "dave")
    for header in ["Bearer ", "Bearer", "bearer    ", "Bearer\t"]:
        r = c.post("/papers/2606.00002/upvote", headers={"Authorization": header, "HX-Request": "true"})
        assert r.status_code in (401, 403), (header, r.status_code)
    with db.session() as session:
        from paperfeed.store.feed import paper_activity

        assert paper_activity(session, get_paper(session, "2606.00002")).upvotes == 0
    r = c.post("/api/papers/2606.00002/upvote", headers={"Authorization": "Bearer "})
    assert r.status_code in (401, 403)
