"""Two people on two browsers sign up (verifying by a real mail), submit, upvote and
comment, and each sees the other's activity. Real Chromium against a real uvicorn."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from community_kit import ServerThread, link_in, make_app, smtp_server
from paperfeed.db import Database

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
ATOM = Path(__file__).parent / "fixtures" / "arxiv_api_atom" / "id_1605.08386_s0_m100_199195aa31ad.atom.xml"
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "community.png"
PASSWORD = "correct horse battery staple"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")]


def _arxiv():
    return httpx.MockTransport(lambda request: httpx.Response(200, content=ATOM.read_bytes()))


def _join(page, base, mailbox, name):
    page.goto(f"{base}/signup")
    page.fill("form.account-form input[name=username]", name)
    page.fill("form.account-form input[name=email]", f"{name}@example.org")
    page.fill("form.account-form input[name=password]", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_selector("text=Check your email")
    link = link_in(mailbox.wait_for(f"{name}@example.org"), "/verify?token=")
    page.goto(base + link.split("testserver", 1)[1])
    page.click("text=Confirm my email address")
    page.wait_for_selector("text=is confirmed")
    page.goto(f"{base}/login")
    page.fill("form.account-form input[name=login]", name)
    page.fill("form.account-form input[name=password]", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_selector(f"[data-user-menu]:has-text('{name}')")


def test_two_people_sign_up_submit_upvote_and_comment(sqlite_settings):
    from playwright.sync_api import sync_playwright

    with smtp_server() as (mailbox, port):
        settings = sqlite_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port,
                                                      "arxiv_min_interval": 0.0, "submission_window_days": 100_000})
        db = Database(settings)
        app = make_app(settings, db, transport=_arxiv())
        with ServerThread(app) as server, sync_playwright() as pw:
            base = server.url
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            alice = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            bob = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            _join(alice, base, mailbox, "alice")
            _join(bob, base, mailbox, "bob")

            # alice submits a paper by its versioned abs URL; it is fetched from "arXiv"
            alice.goto(f"{base}/submit")
            alice.fill("form.account-form input[name=reference]", "https://arxiv.org/abs/1605.08386v1")
            alice.click("form.account-form button[type=submit]")
            alice.wait_for_url("**/papers/1605.08386**")

            # bob finds it on today's page and upvotes it in place (htmx, no reload)
            bob.goto(base + "/")
            card = bob.locator("article.card", has_text="Heat-bath random walks")
            bob.evaluate("window.__still_here = true")
            card.locator("button.upvote").click()
            card.locator("button.upvote.voted .count", has_text="1").wait_for()
            assert bob.evaluate("window.__still_here") is True

            # bob comments with Markdown and math
            bob.goto(f"{base}/papers/1605.08386")
            bob.fill("#comment-body", "Nice *result*: mixing in $O(n^2)$ steps.")
            bob.click("form.comment-form button[type=submit]")
            bob.wait_for_selector(".comment-body em:has-text('result')")

            # alice sees bob's upvote and comment, upvotes too and replies
            alice.goto(f"{base}/papers/1605.08386")
            assert alice.locator(".comment-body", has_text="mixing in").count() == 1
            alice.locator(".comment-head a", has_text="bob").wait_for()
            button = alice.locator("button.upvote").first
            assert button.locator(".count").inner_text() == "1"
            button.click()
            alice.locator("button.upvote.voted .count", has_text="2").first.wait_for()
            alice.locator("details.reply-box summary").first.click()
            alice.locator("details.reply-box textarea").first.fill("Thanks, **bob**!")
            alice.locator("details.reply-box button[type=submit]").first.click()
            alice.wait_for_selector(".replies .comment-body strong:has-text('bob')")

            # bob sees alice's vote and reply; his profile lists what he upvoted
            bob.goto(f"{base}/papers/1605.08386")
            assert bob.locator("button.upvote .count").first.inner_text() == "2"
            bob.locator(".replies .comment-head a", has_text="alice").wait_for()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            bob.screenshot(path=str(SCREENSHOT), full_page=True)
            bob.goto(f"{base}/u/alice")
            assert "Heat-bath random walks" in bob.locator(".profile-submitted").inner_text()
            browser.close()
        db.dispose()
