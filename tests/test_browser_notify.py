"""In Chromium against a real uvicorn: add a webhook, press "Send test" and see the call a
real local receiver answered; a reply raises the header's notification badge, and reading
the list clears it."""

from __future__ import annotations

from pathlib import Path

import pytest
from community_kit import PASSWORD, ServerThread, add_paper, add_user, make_app
from notify_kit import Receiver

from paperfeed.db import Database

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")]


def _sign_in(page, base, name):
    page.goto(f"{base}/login")
    page.fill("form.account-form input[name=login]", name)
    page.fill("form.account-form input[name=password]", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_selector(f"[data-user-menu]:has-text('{name}')")


def test_send_test_button_and_the_reply_badge(sqlite_settings):
    from playwright.sync_api import sync_playwright

    settings = sqlite_settings.model_copy(update={"webhook_allow_private": True, "run_jobs_in_web": False})
    db = Database(settings)
    add_user(db, settings, "alice")
    add_user(db, settings, "bob")
    add_paper(db, "2606.00020", title="A paper to talk about")
    app = make_app(settings, db)
    with Receiver() as rx, ServerThread(app) as server, sync_playwright() as pw:
        base = server.url
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        alice = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        bob = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        _sign_in(alice, base, "alice")
        _sign_in(bob, base, "bob")

        alice.goto(f"{base}/settings/notifications")
        alice.fill("input[name=name]", "lab receiver")
        alice.select_option("select[name=kind]", "json")
        alice.fill("input[name=url]", rx.url("/incoming"))
        alice.click("text=Add webhook")
        alice.wait_for_selector("text=Webhook added.")
        alice.click("[data-send-test]")
        alice.wait_for_selector("text=Test message queued")
        for _ in range(100):  # the test message goes out after the response: look again until it is logged
            alice.reload()
            if alice.locator("tr[data-call-ok=yes]", has_text="delivered (200)").count():
                break
            alice.wait_for_timeout(100)
        assert alice.locator("tr[data-call-ok=yes]", has_text="delivered (200)").count() == 1
        assert [r.json()["event"] for r in rx.requests] == ["test"]

        alice.goto(f"{base}/papers/2606.00020")
        alice.fill("#comment-body", "What do you think?")
        alice.click("form.comment-form button[type=submit]")
        alice.wait_for_selector(".comment-body:has-text('What do you think?')")
        assert alice.locator("[data-badge]").count() == 0

        bob.goto(f"{base}/papers/2606.00020")
        bob.locator(".reply-box summary").first.click()
        bob.locator(".reply-box textarea").first.fill("It holds up.")
        bob.locator(".reply-box button[type=submit]").first.click()
        bob.wait_for_selector(".comment-body:has-text('It holds up.')")

        alice.goto(f"{base}/")
        badge = alice.locator("[data-badge]")
        badge.wait_for()
        assert badge.inner_text().startswith("1")
        alice.click("[data-notifications]")
        alice.wait_for_selector("text=replied to your comment on")
        alice.click("text=Mark all as read")
        alice.wait_for_selector("text=All marked as read.")
        assert alice.locator("[data-badge]").count() == 0

        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = phone.new_page()
        _sign_in(page, base, "alice")
        for path in ("/", "/settings/notifications", "/notifications"):
            page.goto(base + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} scrolls sideways on a phone: {width}px"
        browser.close()
