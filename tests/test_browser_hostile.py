"""Hostile data in real Chromium (issue 12): `javascript:` and `data:` links, markup in every
text field, an id with `../` segments. The rows are stored directly, so this holds on the
render side alone. While a signed-in administrator browses and clicks, no script may run,
no dialog open, no CSP violation happen, and no request leave for an unexpected path."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from community_kit import PASSWORD, ServerThread, add_paper, add_user, make_app
from hostile_kit import DAY, EVIL_ID, MARKUP, TRAVERSAL_ID, add_hostile
from paperfeed.db import Database
from paperfeed.index.sync import sync_index
from paperfeed.models import User
from paperfeed.store import comments as comment_store
from paperfeed.store.papers import get_paper

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
ALLOWED_PREFIXES = ("/papers/", "/authors/", "/static/", "/search", "/login", "/docs", "/openapi.json", "/favicon.ico", "/api/")
MATH_ID = "2606.00003"

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")]
playwright_api = pytest.importorskip("playwright.sync_api")

# Runs before any page script (Playwright injects it outside the page's CSP).
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""


@pytest.fixture
def site(sqlite_settings):
    settings = sqlite_settings
    db = Database(settings)
    add_hostile(db)
    add_paper(db, MATH_ID, title="Sums of squares", day=DAY)  # abstract has $x^2$
    for name, admin in (("bob_1", False), ("root", True), ("mallory", False)):
        add_user(db, settings, name, admin=admin)
    with db.session() as session:
        author = session.scalar(select(User).where(User.username == "mallory"))
        comment_store.add_comment(session, author, get_paper(session, EVIL_ID),
                                  f"{MARKUP} and [a link](javascript:window.__pwned=8) <a href=\"javascript:x\">y</a>")
    sync_index(db, settings)
    with ServerThread(make_app(settings, db)) as server:
        yield server.url, db
    db.dispose()


def test_hostile_data_runs_no_script_and_sends_nowhere_else(site):
    base, db = site
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        dialogs, requests, errors, console = [], [], [], []
        context.add_init_script(WATCH)
        context.on("request", lambda r: requests.append(r.url))  # background tabs' requests too
        context.on("page", lambda p: watch(p))
        context.on("console", lambda m: console.append(m.text) if m.type == "error" else None)

        def watch(p):
            p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            p.on("pageerror", lambda exc: errors.append(str(exc)))

        page = context.new_page()

        def clean():
            assert page.evaluate("window.__pwned") is None, page.url
            assert page.evaluate("window.__csp") == [], page.url

        page.goto(f"{base}/login")
        page.fill("form.account-form input[name=login]", "root")
        page.fill("form.account-form input[name=password]", PASSWORD)
        page.click("form.account-form button[type=submit]")
        page.wait_for_selector("[data-user-menu]")

        # the day page: math renders, keys move between cards, the traversal paper's upvote
        # posts to that paper (it once posted to /admin/users/bob_1/ban)
        page.goto(f"{base}/papers/date/{DAY}?view=all")  # every paper of the day, not just the curated ones
        page.wait_for_selector(".card-abstract .katex")
        clean()
        page.keyboard.press("j")
        assert page.evaluate("document.activeElement.hasAttribute('data-card-link')")
        card = page.locator("article.card", has_text="climbs out of its path")
        card.locator("button.upvote").click()
        card.locator("button.upvote.voted").wait_for()
        evil_card = page.locator("article.card", has_text="Hostile")
        assert evil_card.locator("a.badge-code").count() == 0
        for link in evil_card.locator("a").all():
            link.click(modifiers=["Control"])  # background tab: this page stays to be checked
        clean()

        # the hostile paper's page: every link and button it offers, and the comment
        page.goto(f"{base}/papers/{EVIL_ID}")
        page.wait_for_selector("#comments-h")
        clean()
        assert page.locator(".paper-actions a").count() == 0  # arXiv, PDF, Code, project: all javascript/data
        for link in page.locator(".paper-actions a, .comment-body a, .facts a").all():
            link.click(modifiers=["Control"])
        page.locator(".paper-head button.upvote").click()
        page.locator(".paper-head button.upvote.voted").wait_for()
        clean()

        # the traversal paper's own page opens, encoded
        page.goto(f"{base}/papers/{TRAVERSAL_ID.replace('/', '%2F').replace('?', '%3F').replace('=', '%3D')}")
        page.wait_for_selector("text=climbs out of its path")
        clean()

        # search shows the hostile paper as text, and its upvote works
        page.goto(f"{base}/search?q=hostile&mode=keyword")
        result = page.locator("article.card", has_text="Hostile")
        result.wait_for()
        result.locator("button.upvote").click()
        result.locator("button.upvote:not(.voted)").wait_for()  # voted on the paper page: this un-votes
        clean()

        # the API docs still work under the CSP (their set-up is a static file now)
        page.goto(f"{base}/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        clean()
        browser.close()

    with db.session() as session:
        assert not session.scalar(select(User).where(User.username == "bob_1")).banned
    assert dialogs == [] and errors == [], (dialogs, errors)
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
    origin = urlsplit(base).netloc
    for url in requests:
        parts = urlsplit(url)
        assert parts.scheme == "http" and parts.netloc == origin, url
        assert parts.path == "/" or parts.path.startswith(ALLOWED_PREFIXES), url
        assert not parts.path.startswith("/admin"), url
