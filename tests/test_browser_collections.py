"""A reader saves a paper to a collection from a card, in place (htmx), writes a private
note, and another browser never sees it. Real Chromium against a real uvicorn."""

from __future__ import annotations

from pathlib import Path

import pytest

from community_kit import PASSWORD, ServerThread, add_paper, add_user, make_app, utc_today
from paperfeed.db import Database

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
NOTE = "read section 3 twice"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")]


def _sign_in(page, base, name):
    page.goto(f"{base}/login")
    page.fill("form.account-form input[name=login]", name)
    page.fill("form.account-form input[name=password]", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_selector(f"[data-user-menu]:has-text('{name}')")


def test_save_a_paper_from_a_card_and_annotate_it(sqlite_settings):
    from playwright.sync_api import sync_playwright

    db = Database(sqlite_settings)
    add_paper(db, "2606.00001", title="Sparse attention for long documents", day=utc_today())
    add_paper(db, "2606.00002", title="Diffusion models for protein design", day=utc_today())
    for name in ("ada", "bob"):
        add_user(db, sqlite_settings, name)
    app = make_app(sqlite_settings, db)
    with ServerThread(app) as server, sync_playwright() as pw:
        base = server.url
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ada = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        _sign_in(ada, base, "ada")
        ada.goto(base + "/")
        card = ada.locator("article.card", has_text="Sparse attention")
        ada.evaluate("window.__still_here = true")
        card.locator("[data-save-button]").click()
        card.locator("form.quick input[name=title]").fill("Long context")
        card.locator("form.quick button").click()  # a new private collection, holding this paper
        card.locator("button.save-toggle[aria-pressed=true]", has_text="Long context").wait_for()
        card.locator("button.save-toggle", has_text="Long context").click()  # out again
        card.locator("button.save-toggle[aria-pressed=false]", has_text="Long context").wait_for()
        card.locator("button.save-toggle", has_text="Long context").click()  # and in
        card.locator("button.save-toggle[aria-pressed=true]", has_text="Long context").wait_for()
        assert ada.evaluate("window.__still_here") is True  # all in place, no reload
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        ada.screenshot(path=str(SCREENSHOTS / "save-menu.png"))

        ada.goto(f"{base}/c/ada/long-context")
        item = ada.locator("li.collection-item", has_text="Sparse attention")
        item.locator("textarea[name=note]").fill(NOTE)
        item.locator("form.note button").click()
        ada.locator("li.collection-item [role=status]", has_text="Saved.").wait_for()
        ada.locator("li.collection-item button", has_text="Mark as read").click()
        ada.locator("li.collection-item button", has_text="Mark as to read").wait_for()
        assert ada.locator("li.collection-item [data-state]").inner_text() == "read"
        ada.reload()
        assert ada.locator("textarea[name=note]").input_value() == NOTE
        ada.screenshot(path=str(SCREENSHOTS / "collection.png"), full_page=True)

        bob = browser.new_context().new_page()
        _sign_in(bob, base, "bob")
        response = bob.goto(f"{base}/c/ada/long-context")
        assert response.status == 404 and NOTE not in bob.content()
        browser.close()
