"""The site in Chromium, checked as a first-time user meets it (issue 14): axe-core
(vendored: tests/vendor/axe.min.js, MPL-2.0) finds no serious or critical violation on the
pages a visitor sees most, in light and dark mode; and the layout and keys hold up."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from test_browser import browser  # noqa: F401  (the shared Chromium fixture)
from community_kit import PASSWORD, ServerThread, add_user, make_app
from web_helpers import MATH_PAPER, load_demo

from paperfeed.config import Settings
from paperfeed.db import Database

pytestmark = [pytest.mark.browser, pytest.mark.slow]
playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
DAY = "2025-03-20"
PAGES = ["/", f"/papers/date/{DAY}", f"/papers/{MATH_PAPER}", "/search?q=attention&mode=keyword", "/settings"]


@pytest.fixture(scope="module")
def base(tmp_path_factory, sqlite_template):
    data = tmp_path_factory.mktemp("a11y")
    shutil.copy(sqlite_template, data / "paperfeed.db")
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'paperfeed.db'}", secret_key="t",
                        base_url="http://127.0.0.1", embed_in_background=False, digest_scheduler=False)
    db = Database(settings)
    load_demo(db, lines=1500)
    add_user(db, settings, "reader")
    add_user(db, settings, "newbie", verified=False)
    with ServerThread(make_app(settings, db)) as server:
        yield server.url
    db.dispose()


def _serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))  # the context bypasses the CSP for this one script
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def _sign_in(page, base, name: str = "reader") -> None:
    page.goto(f"{base}/login")
    page.fill("form.account-form input[name=login]", name)
    page.fill("form.account-form input[name=password]", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_selector(f"[data-user-menu]:has-text('{name}')")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_axe_violations(browser, base, scheme):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    _sign_in(page, base)
    found = {}
    for path in PAGES:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        found[path] = _serious_violations(page)
    context.close()
    assert not any(found.values()), "\n".join(f"{path}: {v}" for path, vs in found.items() for v in vs)


def test_the_unverified_banner_passes_axe_too(browser, base):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    _sign_in(page, base, "newbie")
    page.goto(f"{base}/papers/date/{DAY}")
    assert page.locator(".unverified-banner").is_visible()
    found = _serious_violations(page)
    context.close()
    assert not found, found


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_header_is_one_row_at_1280_px(page, base, signed_in):
    if signed_in:
        _sign_in(page, base)
    page.goto(f"{base}/papers/date/{DAY}")
    tops = page.eval_on_selector_all(".header-row > *", "els => els.map(e => e.getBoundingClientRect().top)")
    heights = page.eval_on_selector_all(".header-row > *", "els => els.map(e => e.getBoundingClientRect().bottom)")
    assert max(tops) < min(heights), (tops, heights)  # every item shares one line


def test_settings_checkboxes_sit_before_their_labels_and_buttons_fit_their_text(page, base):
    _sign_in(page, base)
    page.goto(f"{base}/settings")
    box = _box(page, "input[name=upvotes_private]")
    label = _box(page, "label:has(> input[name=upvotes_private])")
    assert abs(box["y"] + box["height"] / 2 - (label["y"] + label["height"] / 2)) < 6  # on the text's line
    assert box["x"] - label["x"] < 10  # at the start of it, not centred above
    form = _box(page, "form[action='/settings/privacy']")
    assert _box(page, "form[action='/settings/privacy'] button")["width"] < form["width"] / 2


def test_arrows_change_the_day_after_j_focused_a_card(page, base):
    page.goto(f"{base}/papers/date/{DAY}")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.matches('[data-card-link]')")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(re.compile(r"/papers/date/2025-03-19"))


def test_about_headings_do_not_touch_what_comes_before(page, base):
    page.goto(f"{base}/about")
    gaps = page.eval_on_selector_all(".about h2", """els => els.map(h =>
        h.getBoundingClientRect().top - h.previousElementSibling.getBoundingClientRect().bottom)""")
    assert gaps and min(gaps) >= 16, gaps
