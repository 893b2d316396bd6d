"""Key-phrase chips in Chromium: visible on paper pages and cards, a click searches for
the phrase, and axe-core finds no serious violation with them, in light and dark mode."""

from __future__ import annotations

import shutil
from urllib.parse import parse_qs, urlsplit

import pytest
from test_browser import browser  # noqa: F401  (the shared Chromium fixture)
from test_browser_a11y import _serious_violations
from community_kit import ServerThread, make_app
from web_helpers import load_demo

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index.keywordjob import extract_missing

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("playwright.sync_api")
DAY = "2025-03-18"
PAPER = "2503.11794"  # "Semantic-Clipping: Efficient Vision-Language Modeling ..."


@pytest.fixture(scope="module")
def base(tmp_path_factory, sqlite_template):
    data = tmp_path_factory.mktemp("keywords")
    shutil.copy(sqlite_template, data / "paperfeed.db")
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'paperfeed.db'}", secret_key="t",
                        base_url="http://127.0.0.1", embed_in_background=False, digest_scheduler=False)
    db = Database(settings)
    load_demo(db, lines=300)
    extract_missing(db)
    with ServerThread(make_app(settings, db)) as server:
        yield server.url
    db.dispose()


def test_a_chip_on_the_paper_page_searches_for_its_phrase(browser, base):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/papers/{PAPER}")
    chips = page.locator(".paper-keywords a.chip-link")
    assert 5 <= chips.count() <= 8 and chips.first.is_visible()
    phrase = chips.nth(1).inner_text()
    chips.nth(1).click()
    page.wait_for_url("**/search?**")
    assert parse_qs(urlsplit(page.url).query)["q"] == [phrase]
    assert page.locator("#q").input_value() == phrase
    assert page.locator(f'.card-title a[href="/papers/{PAPER}"]').count() == 1
    page.context.close()


def test_cards_show_chips_that_fit_a_phone(browser, base):
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{base}/papers/date/{DAY}")
    card = page.locator("article.card").first
    assert 1 <= card.locator(".card-keywords a.chip-link").count() <= 5
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"chips widen the page to {width}px"
    page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_axe_violations_with_chips(browser, base, scheme):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    found = {}
    for path in (f"/papers/{PAPER}", f"/papers/date/{DAY}"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        found[path] = _serious_violations(page)
    context.close()
    assert not any(found.values()), "\n".join(f"{path}: {v}" for path, vs in found.items() for v in vs)
