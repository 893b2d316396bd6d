"""Real Chromium against a real uvicorn: switching between Daily Papers and All new, and
following an author in place (htmx, no reload)."""

from __future__ import annotations

from pathlib import Path

import pytest
from community_kit import PASSWORD, ServerThread, add_user, make_app
from sqlalchemy import select

from paperfeed.db import Database
from paperfeed.models import AuthorFollow
from test_curated import DAY, load, paper

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")]


def test_switching_views_and_following_an_author(sqlite_settings):
    from playwright.sync_api import sync_playwright

    db = Database(sqlite_settings)
    load(db, [paper("2606.00001", ["José A. García", "Ada Lovelace"]), paper("2606.00002", ["Alan Turing"]),
              paper("2606.00003", ["Grace Hopper"]), paper("2606.00004", ["Emmy Noether"], source="hf", upvotes=7)])
    add_user(db, sqlite_settings, "reader")
    app = make_app(sqlite_settings, db)
    with ServerThread(app) as server, sync_playwright() as pw:
        base = server.url
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        page.goto(f"{base}/papers/date/{DAY}")
        assert page.locator("nav.views a[aria-current=page]").inner_text() == "Daily Papers (1)"
        assert page.locator("article.card").count() == 1
        page.click("nav.views a[data-view=all]")
        page.wait_for_url("**view=all")
        page.locator("nav.views a[data-view=all][aria-current=page]").wait_for()
        assert page.locator("article.card").count() == 4
        page.click("text=Newest")  # sorting keeps the view
        page.wait_for_url("**sort=newest**")
        assert "view=all" in page.url and page.locator("article.card").count() == 4
        page.click("nav.views a[data-view=daily]")
        page.locator("nav.views a[data-view=daily][aria-current=page]").wait_for()
        assert page.locator("article.card").count() == 1

        page.goto(f"{base}/login")
        page.fill("form.account-form input[name=login]", "reader")
        page.fill("form.account-form input[name=password]", PASSWORD)
        page.click("form.account-form button[type=submit]")
        page.wait_for_selector("[data-user-menu]:has-text('reader')")
        page.goto(f"{base}/papers/date/{DAY}?view=all")
        page.click("article.card a.author-link:has-text('José A. García')")
        page.wait_for_selector("h1:has-text('José A. García')")
        page.evaluate("window.__still_here = true")
        page.click("#follow-author button")
        page.locator("#follow-author button[aria-pressed=true]").wait_for()
        assert page.evaluate("window.__still_here") is True
        with db.session() as s:
            assert list(s.scalars(select(AuthorFollow.author_key))) == ["garcia j"]
        page.click("#follow-author button")
        page.locator("#follow-author button[aria-pressed=false]").wait_for()
        with db.session() as s:
            assert list(s.scalars(select(AuthorFollow.author_key))) == []
        browser.close()
    db.dispose()
