"""Key phrases on the site: chips on paper pages and cards that link to a search, and the
``keywords`` field of the API beside HF's untouched ``ai_keywords``."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from paperfeed.index.keywordjob import extract_missing
from paperfeed.models import Paper
from paperfeed.store.papers import get_paper
from web_helpers import HF_DAY, MATH_PAPER, load_demo, make_app

HF_PAPER = "2606.13594"  # "See What I See, Know What I Think" (HF lists KV-cache communication)
CHIP = re.compile(r'<a class="chip chip-link" href="([^"]+)">([^<]+)</a>')


@pytest.fixture
def client(settings, db):
    load_demo(db, lines=60)
    extract_missing(db)
    with TestClient(make_app(settings, db)) as c:
        yield c


def chips(page: str) -> list[tuple[str, str]]:
    return [(html.unescape(href), html.unescape(text)) for href, text in CHIP.findall(page)]


def paper_chips(page: str) -> list[tuple[str, str]]:
    """The chips of the paper itself (similar papers' cards below have their own)."""
    start = page.index('<p class="keywords paper-keywords">')
    return chips(page[start:page.index("</p>", start)])


def stored_keywords(db, paper_id: str) -> list[str]:
    with db.session() as session:
        return get_paper(session, paper_id).keywords


def test_paper_page_shows_every_phrase_as_a_chip_searching_for_it(client, db):
    page = client.get(f"/papers/{HF_PAPER}")
    assert page.status_code == 200
    found = paper_chips(page.text)
    assert [text for _, text in found] == stored_keywords(db, HF_PAPER)
    assert "KV-cache communication" in [text for _, text in found]
    for href, text in found:
        parts = urlsplit(href)
        assert parts.path == "/search" and parse_qs(parts.query) == {"q": [text]}
    href = dict((t, h) for h, t in found)["KV-cache communication"]
    results = client.get(href)
    assert results.status_code == 200 and HF_PAPER in results.text


def test_chip_links_encode_the_phrase(client, db):
    with db.session() as session:
        session.execute(update(Paper).where(Paper.id == MATH_PAPER)
                        .values(keywords=["a&b=c", "x#y", "<i>tag</i>", "50% off"]))
    page = client.get(f"/papers/{MATH_PAPER}").text
    assert '<a class="chip chip-link" href="/search?q=a%26b%3Dc">a&amp;b=c</a>' in page
    assert 'href="/search?q=x%23y"' in page and 'href="/search?q=50%25%20off"' in page
    assert "<i>tag</i>" not in page and "&lt;i&gt;tag&lt;/i&gt;" in page
    assert [t for _, t in paper_chips(page)] == ["a&b=c", "x#y", "<i>tag</i>", "50% off"]


def test_cards_show_the_first_five_phrases(client, db):
    page = client.get(f"/papers/date/{HF_DAY.isoformat()}").text
    card = page[page.index(f'href="/papers/{HF_PAPER}"'):]
    card = card[:card.index("</article>")]
    assert [t for _, t in chips(card)] == stored_keywords(db, HF_PAPER)[:5]
    assert page.count('class="keywords card-keywords"') == 30


def test_a_paper_without_phrases_shows_no_chips(client, db):
    with db.session() as session:
        session.execute(update(Paper).where(Paper.id == MATH_PAPER).values(keywords=None))
    page = client.get(f"/papers/{MATH_PAPER}")
    assert page.status_code == 200 and "paper-keywords" not in page.text
    assert client.get(f"/api/papers/{MATH_PAPER}").json()["keywords"] == []


def test_api_items_carry_keywords_beside_hf_ai_keywords(client, db):
    items = client.get("/api/daily_papers", params={"date": HF_DAY.isoformat()}).json()
    assert len(items) == 30
    for item in items:
        ours = stored_keywords(db, item["paper"]["id"])
        assert item["keywords"] == item["paper"]["keywords"] == ours and 5 <= len(ours) <= 8
        assert item["ai_keywords"] and item["ai_keywords"] != ours  # HF's, as imported
    one = client.get(f"/api/papers/{HF_PAPER}").json()
    assert "KV-cache communication" in one["keywords"]
    hits = client.get("/api/papers/search", params={"q": "KV-cache communication", "mode": "keyword"}).json()
    assert hits[0]["keywords"] == hits[0]["paper"]["keywords"]


def test_new_phrases_change_the_paper_etag(client, db):
    with db.session() as session:  # as before its first extraction
        session.execute(update(Paper).where(Paper.id == HF_PAPER)
                        .values(keywords=None, keywords_stamp=None, keywords_text_hash=None))
    first = client.get(f"/api/papers/{HF_PAPER}")
    assert first.json()["keywords"] == []
    assert client.get(f"/api/papers/{HF_PAPER}", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    extract_missing(db)
    again = client.get(f"/api/papers/{HF_PAPER}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and "KV-cache communication" in again.json()["keywords"]
    assert again.headers["ETag"] != first.headers["ETag"]
