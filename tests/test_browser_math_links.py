"""KaTeX turns `\\href`/`\\url` to http(s) into links (520 demo abstracts use them) and
leaves any other scheme as plain text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from community_kit import ServerThread, make_app
from paperfeed.db import Database
from paperfeed.records import Author, EntryRecord, PaperRecord
from paperfeed.store.papers import upsert_records

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")]
playwright_api = pytest.importorskip("playwright.sync_api")
DAY = date(2026, 6, 12)


def test_href_to_http_is_a_link_and_any_other_scheme_is_not(sqlite_settings):
    db = Database(sqlite_settings)
    abstract = (r"Code at $\href{https://github.com/example/tool}{\texttt{tool}}$ and "
                r"$\href{javascript:window.__pwned=1}{trap}$ and $\url{https://example.org/data}$.")
    upsert_records_one(db, abstract)
    with ServerThread(make_app(sqlite_settings, db)) as server, playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(f"{server.url}/papers/2606.00077")
        page.wait_for_selector(".katex")
        hrefs = page.eval_on_selector_all(".abstract a, .math a", "els => els.map(e => e.getAttribute('href'))")
        pwned = page.evaluate("window.__pwned")
        browser.close()
    db.dispose()
    assert "https://github.com/example/tool" in hrefs and "https://example.org/data" in hrefs
    assert not any(h and h.startswith("javascript") for h in hrefs) and pwned is None


def upsert_records_one(db, abstract: str) -> None:
    record = PaperRecord(id="2606.00077", title="Links in math", abstract=abstract,
                         authors=[Author("Ada Lovelace", "Lovelace", "Ada")], categories=["cs.LG"],
                         source="jsonl", entries=[EntryRecord(day=DAY, source="auto")])
    with db.session() as session:
        upsert_records(session, [record])
