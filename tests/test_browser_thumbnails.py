"""Thumbnails in Chromium: a day page's cards show the first page of papers that have one
(loaded, lazily, at the size the page reserved for it), the others keep the plain card,
the paper page shows the large image, and axe finds nothing serious. Saves
docs/screenshots/thumbnails.png."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_browser import browser  # noqa: F401  (the shared Chromium fixture)
from community_kit import ServerThread, make_app
from pdf_kit import paper_pdf
from test_thumbnails import PdfServer
from web_helpers import load_demo

import pinned
from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.ingest.http import PoliteClient
from paperfeed.jobs.thumbnails import make_thumbnails
from paperfeed.store.feed import latest_day, page_entries

from conftest import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
MADE = 4


@pytest.fixture(scope="module")
def site(tmp_path_factory, sqlite_template):
    data = tmp_path_factory.mktemp("thumbs")
    shutil.copy(sqlite_template, data / "paperfeed.db")
    pdfs = PdfServer()
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'paperfeed.db'}", secret_key="t",
                        base_url="http://127.0.0.1", embed_in_background=False, digest_scheduler=False,
                        thumbnail_pdf_base_url=pdfs.base, http_max_retries=0)
    db = Database(settings)
    load_demo(db, lines=400)
    with db.session() as session:
        day = latest_day(session)
        top = [e.paper for e in page_entries(session, day, day, sort="trending", limit=MADE).entries]
        ids = [p.id for p in top]
    for i, paper_id in enumerate(ids):
        pdfs.bodies[f"/pdf/{paper_id}"] = paper_pdf(top[i].title[:60], pages=3, seed=i)
    with PoliteClient(settings, sleep=lambda s: None) as client:  # the others answer 404
        made = make_thumbnails(db, settings, client, owner="t", clock=pinned.naive_now, limit=1000)
    assert made.made == MADE
    with ServerThread(make_app(settings, db)) as server:
        yield server.url, day, ids
    pdfs.close()
    db.dispose()


@pytest.fixture
def page(browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_cards_show_the_first_page_at_the_size_they_reserved(site, page):
    base, day, ids = site
    page.goto(f"{base}/papers/date/{day}")
    first = page.locator("article.card").first
    thumb = first.locator("img.card-thumb")
    assert thumb.get_attribute("loading") == "lazy" and thumb.get_attribute("alt").startswith("First page of")
    box_before = thumb.bounding_box()  # reserved from width/height before the bytes arrive
    page.wait_for_function("() => [...document.querySelectorAll('img.card-thumb')].slice(0, 4)"
                           ".every(img => img.complete && img.naturalWidth > 0)")
    loaded = page.evaluate("() => [...document.querySelectorAll('img.card-thumb')].map("
                           "img => [img.naturalWidth, img.naturalHeight, img.getBoundingClientRect().width])")
    assert len(loaded) == MADE and all(w == 160 and h == 208 and 60 <= shown <= 80 for w, h, shown in loaded)
    assert thumb.bounding_box()["height"] == pytest.approx(box_before["height"], abs=1)  # no layout shift
    assert page.locator("article.card").count() > MADE  # cards without one keep the plain layout
    page.screenshot(path=str(REPO / "docs" / "screenshots" / "thumbnails.png"), clip={
        "x": 0, "y": 0, "width": 1280, "height": 900})

    page.goto(f"{base}/papers/{ids[0]}")
    large = page.locator("img.paper-thumb")
    large.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('img.paper-thumb').naturalWidth === 480")


def test_axe_finds_nothing_serious_on_a_day_page_with_thumbnails(site, browser):  # noqa: F811
    base, day, _ = site
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)  # a phone
    page = context.new_page()
    page.goto(f"{base}/papers/date/{day}")
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(AXE))  # bypass_csp: for this one script
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    serious = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
    context.close()
    assert serious == []
