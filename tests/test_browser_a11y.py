"""axe-core (vendored: tests/vendor/axe.min.js, MPL-2.0) on the pages a visitor sees most,
in light and dark mode: no serious or critical violations (issue 14)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from community_kit import PASSWORD, ServerThread, add_user, make_app
from paperfeed.config import Settings
from paperfeed.db import Database
from web_helpers import MATH_PAPER, load_demo

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
    with ServerThread(make_app(settings, db)) as server:
        yield server.url
    db.dispose()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def _serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))  # the context bypasses the CSP for this one script
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_axe_violations(browser, base, scheme):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("form.account-form input[name=login]", "reader")
    page.fill("form.account-form input[name=password]", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_selector("[data-user-menu]:has-text('reader')")
    found = {}
    for path in PAGES:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        found[path] = _serious_violations(page)
    context.close()
    assert not any(found.values()), "\n".join(f"{path}: {v}" for path, vs in found.items() for v in vs)
