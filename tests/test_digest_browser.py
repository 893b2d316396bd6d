"""End to end in real Chromium: a new reader subscribes from the header form, confirms
through the link in the email an aiosmtpd server received, gets the digest, and
unsubscribes with one click. Saves docs/screenshots/digest.png (the digest as mailed)."""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from conftest import REPO
import pinned
from digest_support import SMTPServer, free_port, paper, seed_papers
from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.digest.send import send_period
from paperfeed.store import subscriptions as store
from paperfeed.web.app import create_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
SHOT = REPO / "docs" / "screenshots" / "digest.png"
TODAY = pinned.TODAY


@pytest.fixture
def site(tmp_path, sqlite_template):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")
    shutil.copy(sqlite_template, tmp_path / "paperfeed.db")
    port = free_port()
    with SMTPServer() as smtp:
        settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'paperfeed.db'}",
                            secret_key="t", base_url=f"http://127.0.0.1:{port}", embed_in_background=False,
                            **smtp.settings_overrides())
        db = Database(settings)
        seed_papers(db, [
            paper("2611.01234", "Scaling speech recognition to a thousand languages", upvotes=42,
                  authors=("Ada Lovelace", "Alan Turing"), categories=("cs.CL", "eess.AS"),
                  abstract="We train one model that recognises speech in a thousand languages " * 4,
                  code="https://github.com/example/asr"),
            paper("2611.01235", "Diffusion models that plan", upvotes=17, categories=("cs.LG",),
                  authors=("Grace Hopper",), abstract="Planning as iterative denoising of trajectories."),
            paper("2611.01236", "A benchmark for reasoning over tables", upvotes=5, categories=("cs.AI",)),
        ], TODAY)
        server = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", db, smtp
        server.should_exit = True
        thread.join(10)
        db.dispose()


def test_subscribe_confirm_receive_unsubscribe_in_a_browser(site):
    url, db, smtp = site
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/")
        page.fill("#digest-email", "reader@example.org")
        page.click(".digest-subscribe button[type=submit]")
        page.wait_for_selector("text=Check your inbox")

        [confirmation] = smtp.handler.to("reader@example.org")
        confirm_url = re.search(r"(http://\S+/digest/confirm/\S+)", confirmation.message.get_content()).group(1)
        page.goto(confirm_url)
        page.click("#digest-confirm")
        page.wait_for_selector("text=You're subscribed")

        assert send_period(db, "daily", TODAY).sent == 1
        digest = smtp.handler.to("reader@example.org")[-1]
        page.set_content(digest.html)
        page.screenshot(path=str(SHOT.parent.mkdir(parents=True, exist_ok=True) or SHOT), full_page=True)
        assert page.locator("text=Scaling speech recognition to a thousand languages").count() == 1

        unsubscribe = re.search(r'href="(http://[^"]+/digest/unsubscribe/[^"]+)"', digest.html).group(1)
        page.goto(unsubscribe)
        page.click("#digest-unsubscribe")
        page.wait_for_selector("#digest-unsubscribed")
        browser.close()
    with db.session() as session:
        assert store.by_email(session, "reader@example.org").status == "unsubscribed"
    assert send_period(db, "daily", TODAY).planned == 0
    assert len(smtp.handler.to("reader@example.org")) == 2
