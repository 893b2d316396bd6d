"""The site in real Chromium (Playwright) against a real server on a temporary SQLite
instance holding a few days of the bundled demo papers. Saves docs/screenshots/*.png."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from paperfeed.config import Settings
from paperfeed.db import Database

from conftest import REPO
from web_helpers import EVIL_ID, MATH_PAPER, load_demo, make_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
SHOTS = REPO / "docs" / "screenshots"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, sqlite_template):
    data = tmp_path_factory.mktemp("browser")
    shutil.copy(sqlite_template, data / "paperfeed.db")
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'paperfeed.db'}", secret_key="t",
                        base_url="http://127.0.0.1", embed_in_background=False)
    db = Database(settings)
    load_demo(db, lines=3000)  # 2025-03-18 .. 2025-04-03: three ISO weeks
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(settings, db), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        pytest.fail("uvicorn did not start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    db.dispose()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The CSP must not get in the way of htmx, KaTeX or app.js: a violation is a failure.
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert not errors, f"JavaScript errors or CSP violations: {errors}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_home_step_days_and_switch_to_week(server, page):
    page.goto(server + "/")
    heading = page.locator("h1.period-title")
    assert heading.inner_text() == "Friday, June 12, 2026"  # the recorded HF day is the latest
    assert page.locator("[data-card]").count() == 30
    shot(page, "home-desktop")

    page.click(".date-nav a[rel=prev]")  # skips the year without papers
    page.wait_for_url("**/papers/date/2025-04-03")
    assert heading.inner_text() == "Thursday, April 3, 2025"
    page.locator(".card .katex").first.wait_for()  # math in abstracts rendered after the swap
    page.click(".date-nav a[rel=prev]")
    page.wait_for_url("**/papers/date/2025-04-02")
    assert heading.inner_text() == "Wednesday, April 2, 2025"
    assert page.title().startswith("Papers of Wednesday, April 2, 2025")  # htmx swapped the title too
    page.click(".date-nav a[rel=next]")
    page.wait_for_url("**/papers/date/2025-04-03")
    assert heading.inner_text() == "Thursday, April 3, 2025"

    page.click(".tabs a:has-text('Week')")
    page.wait_for_url("**/papers/week/2025-W14")
    assert heading.inner_text().startswith("Week 14, 2025")
    total = int(page.locator(".filters .count").inner_text().split()[0])
    assert total > 600


def test_keyboard_moves_between_cards(server, page):
    page.goto(server + "/papers/date/2025-03-19")
    page.keyboard.press("j")
    first = page.locator("[data-card-link]").nth(0)
    assert first.evaluate("el => el === document.activeElement")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.locator("[data-card-link]").nth(1).evaluate("el => el === document.activeElement")
    page.keyboard.press("Enter")
    page.wait_for_url("**/papers/25*")
    assert page.locator("h1.paper-title").count() == 1


def test_skip_link_is_first_tab_stop(server, page):
    page.goto(server + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").is_visible()


def test_paper_page_renders_math(server, page):
    page.goto(f"{server}/papers/{MATH_PAPER}")
    assert page.locator("h1.paper-title").inner_text() == "CORDIC Is All You Need"
    page.locator(".abstract .katex").first.wait_for()
    assert page.locator(".abstract .katex").count() >= 3  # $tanh$, $sigmoid$, $softmax$, $\times$...
    assert "$tanh$" not in page.locator(".abstract").inner_text()
    og = page.locator('meta[property="og:title"]').get_attribute("content")
    assert og == "CORDIC Is All You Need"
    shot(page, "paper")


def test_hostile_markup_stays_text_but_math_renders(server, page):
    page.goto(f"{server}/papers/{EVIL_ID}")
    assert page.evaluate("window.__pwned === undefined")
    assert "<script>" in page.locator("h1.paper-title").inner_text()
    assert page.locator(".abstract img").count() == 0
    assert page.locator(".abstract .katex").count() >= 2  # x^2 + y^2 = z^2 and \alpha still render
    page.goto(f"{server}/papers/date/2025-03-18?category=cs.CR")
    assert page.evaluate("window.__pwned === undefined")


def test_search_and_open_result(server, page):
    page.goto(server + "/")
    page.fill("#header-q", "CORDIC hardware")
    page.press("#header-q", "Enter")
    page.wait_for_url("**/search?q=CORDIC+hardware")
    assert page.locator("[data-card]").count() >= 1
    assert page.locator(".card-title mark").first.inner_text().lower() in ("cordic", "hardware")
    shot(page, "search")
    page.click(".card-title a:has-text('CORDIC Is All You Need')")
    page.wait_for_url(f"**/papers/{MATH_PAPER}")
    assert page.locator("h1.paper-title").inner_text() == "CORDIC Is All You Need"


def test_dark_mode_follows_system(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    page = context.new_page()
    page.goto(server + "/")
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(11, 15, 25)"
    shot(page, "home-dark")
    context.close()


def test_mobile_has_no_horizontal_scroll(server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    for url in ["/", f"/papers/{MATH_PAPER}", "/search?q=vision", "/about", "/papers/week/2025-W13"]:
        page.goto(server + url)
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{url} scrolls sideways: {width}px"
    page.goto(server + "/")
    shot(page, "mobile")
    context.close()
