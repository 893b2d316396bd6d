""""Not interested" and Undo in real Chromium against a real uvicorn: the card goes away in
place (htmx, CSRF header), stays away after a reload, and comes back by Undo or from the list
on For you."""

from __future__ import annotations

from pathlib import Path

import pytest

from community_kit import PASSWORD, ServerThread, add_user, make_app
from foryou_support import DAYS, PAPERS, load_papers
from paperfeed.db import Database

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")]
DAY = DAYS[-1]
TITLE = next(" ".join(p["title"].split()) for p in PAPERS if p["announce_date"] == DAY)


def _card(page):
    return page.locator("article.card", has=page.locator(f".card-title a:text-is('{TITLE}')"))


def test_not_interested_hides_the_card_and_undo_brings_it_back(sqlite_settings):
    from playwright.sync_api import expect, sync_playwright

    db = Database(sqlite_settings)
    load_papers(db, embed=False)
    add_user(db, sqlite_settings, "ada")
    app = make_app(sqlite_settings, db)
    with ServerThread(app) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/login")
        page.fill("form.account-form input[name=login]", "ada")
        page.fill("form.account-form input[name=password]", PASSWORD)
        page.click("form.account-form button[type=submit]")
        page.wait_for_selector("[data-user-menu]:has-text('ada')")

        page.goto(f"{server.url}/papers/date/{DAY}")
        expect(_card(page)).to_have_count(1)
        url = page.url
        _card(page).locator("button:has-text('Not interested')").click()
        hidden = page.locator("article.card-hidden")
        expect(hidden).to_contain_text("Hidden")
        assert page.url == url  # in place, no navigation
        hidden.locator("button:has-text('Undo')").click()
        expect(_card(page)).to_have_count(1)
        expect(page.locator("article.card-hidden")).to_have_count(0)

        _card(page).locator("button:has-text('Not interested')").click()
        expect(page.locator("article.card-hidden")).to_have_count(1)
        page.reload()
        expect(_card(page)).to_have_count(0)  # gone for good, for ada

        page.goto(f"{server.url}/for-you")
        page.click("summary:has-text('not interested')")
        page.locator(".hidden-list li", has_text=TITLE).locator("button:has-text('Show again')").click()
        page.wait_for_url("**/for-you")
        expect(page.locator(".hidden-list")).to_have_count(0)
        page.goto(f"{server.url}/papers/date/{DAY}")
        expect(_card(page)).to_have_count(1)
        browser.close()
        assert not errors, errors
    db.dispose()
