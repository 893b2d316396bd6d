"""The HTML pages against a real database holding real demo papers (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from paperfeed.models import DailyEntry, HarvestState, Paper
from paperfeed.store.changes import bump
from paperfeed.store.papers import get_paper, paper_pks, set_state

from web_helpers import EVIL_ID, HF_DAY, MATH_PAPER, OLD_ID, load_demo, make_app


@pytest.fixture
def client(settings, db):
    load_demo(db)
    with TestClient(make_app(settings, db)) as c:
        yield c


def card_ids(html: str) -> list[str]:
    return re.findall(r'<h3 class="card-title"><a href="/papers/([^"]+)"', html)


def test_home_shows_latest_day_with_cards(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "Friday, June 12, 2026" in r.text  # the HF recording is the latest day
    ids = card_ids(r.text)
    assert len(ids) == 30 and len(set(ids)) == 30
    assert re.search(r"\d+ authors", r.text)
    assert 'class="badge-code"' in r.text  # HF papers with a githubRepo
    assert 'hx-post="/papers/' in r.text and "/upvote" in r.text


def test_trending_orders_by_upvotes_and_newest_by_date(client, db):
    with db.session() as s:
        pk = paper_pks(s, ["2503.11677"])["2503.11677"]
        s.execute(update(DailyEntry).where(DailyEntry.paper_pk == pk).values(upvotes=99))
    # the whole listing (the upvoted paper alone makes the curated view)
    r = client.get("/papers/date/2025-03-18?view=all")
    assert card_ids(r.text)[0] == "2503.11677"
    newest = card_ids(client.get("/papers/date/2025-03-18?view=all&sort=newest").text)
    assert newest[0] != "2503.11677" or newest != card_ids(r.text)
    assert client.get("/papers/date/2025-03-18?sort=bogus").status_code == 400


def test_arrows_skip_to_periods_that_have_papers(client):
    html = client.get("/papers/date/2025-03-20").text
    assert 'rel="prev" href="/papers/date/2025-03-19"' in html
    assert f'rel="next" href="/papers/date/{HF_DAY.isoformat()}"' in html  # skips the empty year between
    first = client.get("/papers/date/2025-03-18").text
    assert 'rel="prev"' not in first.split('class="date-nav"')[1].split("</div>")[0]


def test_week_and_month_views(client):
    week = client.get("/papers/week/2025-W12")
    assert week.status_code == 200 and "Week 12, 2025" in week.text
    assert re.search(r"(\d+) papers", week.text).group(1) == "701"  # 700 listing lines + 1 special
    month = client.get("/papers/month/2025-03")
    assert month.status_code == 200 and "March 2025" in month.text
    tabs = client.get("/papers/date/2025-03-19").text
    assert 'href="/papers/week/2025-W12"' in tabs and 'href="/papers/month/2025-03"' in tabs


def test_filters_by_category_and_code(client):
    html = client.get("/papers/date/2025-03-18?category=cs.CR").text
    assert EVIL_ID in card_ids(html)
    code = client.get(f"/papers/date/{HF_DAY.isoformat()}?code=true").text
    assert 0 < len(card_ids(code)) < 30
    assert code.count('class="badge-code"') == len(card_ids(code))
    none = client.get("/papers/date/2025-03-18?category=zz.NONE")
    assert none.status_code == 200 and "No papers match these filters" in none.text


def test_pagination_and_out_of_range_pages(client):
    p1, p2 = client.get("/papers/date/2025-03-18"), client.get("/papers/date/2025-03-18?p=2")
    assert p2.status_code == 200 and not set(card_ids(p1.text)) & set(card_ids(p2.text))
    assert "Page 2 of 11" in p2.text
    assert client.get("/papers/date/2025-03-18?p=500").status_code == 404
    assert client.get("/papers/date/2025-03-18?p=999999999").status_code == 400
    assert client.get("/papers/date/2025-03-18?p=abc").status_code == 400


@pytest.mark.parametrize("url,status", [
    ("/papers/date/2025-13-45", 400), ("/papers/week/2025-W60", 400), ("/papers/month/2025-00", 400),
    ("/papers/2999.00000", 404), ("/papers/no/such/thing", 404), ("/nowhere", 404),
])
def test_bad_urls_get_friendly_pages(client, url, status):
    r = client.get(url)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert 'class="error-page"' in r.text and "Traceback" not in r.text


def test_paper_page(client):
    r = client.get(f"/papers/{MATH_PAPER}")
    assert r.status_code == 200
    assert "<title>CORDIC Is All You Need · paperfeed</title>" in r.text
    assert '<meta property="og:title" content="CORDIC Is All You Need">' in r.text
    assert 'property="og:description" content="Artificial intelligence' in r.text
    assert "Santosh Kumar Vishvakarma" in r.text  # the last of all nine authors
    assert "$tanh$" in r.text and 'class="math"' in r.text
    assert f"https://arxiv.org/abs/{MATH_PAPER}" in r.text and f"https://arxiv.org/pdf/{MATH_PAPER}" in r.text
    assert "@misc{kokane2025cordic" in r.text and f"eprint        = {{{MATH_PAPER}}}" in r.text
    assert "No comments yet" in r.text and 'id="comments"' in r.text


def test_paper_page_has_highwire_citation_tags(client):
    html = client.get(f"/papers/{MATH_PAPER}").text
    head = html[:html.index("</head>")]
    tags = re.findall(r'<meta name="(citation_[a-z_]+)" content="([^"]*)">', head)
    metas = {}
    for name, content in tags:
        metas.setdefault(name, []).append(content)
    assert metas["citation_title"] == ["CORDIC Is All You Need"]
    assert len(metas["citation_author"]) == 9 and metas["citation_author"][-1] == "Santosh Kumar Vishvakarma"
    assert metas["citation_date"] == metas["citation_publication_date"] == ["2025/03/18"]
    assert metas["citation_arxiv_id"] == [MATH_PAPER]
    assert metas["citation_pdf_url"] == [f"https://arxiv.org/pdf/{MATH_PAPER}"]
    assert metas["citation_abstract_html_url"] == [f"http://testserver/papers/{MATH_PAPER}"]


def test_paper_with_slash_id_versions_and_code(client, db):
    r = client.get(f"/papers/{OLD_ID}")
    assert r.status_code == 200 and "Gauge theory" in r.text
    assert "v1 · 1999-01-01" in r.text and "v2 · 1999-03-01" in r.text
    assert client.get(f"/papers/{OLD_ID}v2", follow_redirects=False).headers["location"] == f"/papers/{OLD_ID}"
    with db.session() as s:
        hf = next(p for p in s.query(Paper).where(Paper.project_page.is_not(None)))
    page = client.get(f"/papers/{hf.id}").text
    assert hf.project_page in page and (hf.code_url or "") in page


def test_html_in_titles_and_abstracts_is_escaped(client):
    for url in ["/papers/date/2025-03-18?category=cs.CR", f"/papers/{EVIL_ID}", "/search?q=attention"]:
        html = client.get(url).text
        assert "<script>window.__pwned" not in html
        assert "<img src=x" not in html
        assert "<b>is</b>" not in html
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in client.get(f"/papers/{EVIL_ID}").text


def test_search_page_highlights_and_shows_mode(client):
    r = client.get("/search?q=cordic")
    assert r.status_code == 200
    assert MATH_PAPER in card_ids(r.text)
    assert "<mark>CORDIC</mark>" in r.text
    assert 'class="search-mode">' in r.text
    assert 'type="application/rss+xml"' in r.text and "/feeds/search.rss?q=cordic" in r.text
    assert client.get("/search?q=cordic&mode=psychic").status_code == 400
    assert client.get("/search?q=x&since=2025-05-01&until=2025-01-01").status_code == 400
    assert client.get("/search").status_code == 200


def test_about_page_counts(client, db):
    with db.session() as s:
        set_state(s, "oai:cs", {"token": None})
    r = client.get("/about")
    assert r.status_code == 200
    with db.session() as s:
        total = s.query(Paper).count()
        fetched = s.get(HarvestState, "oai:cs").updated_at
    assert f"{total:,}" in r.text
    assert "2025-03-18" in r.text and HF_DAY.isoformat() in r.text
    assert re.search(r"<td>hf</td><td class=\"num\">30</td>", r.text)
    assert fetched.strftime("%Y-%m-%d %H:%M") in r.text


def test_cache_sees_new_upvotes_at_once(client, db):
    url = f"/papers/date/{HF_DAY.isoformat()}"
    before = card_ids(client.get(url).text)
    last = before[-1]
    with db.session() as s:
        paper = get_paper(s, last)
        s.execute(update(DailyEntry).where(DailyEntry.paper_pk == paper.pk).values(upvotes=10_000))
        bump(s)  # as every write path does: caches follow the change sequence
    assert card_ids(client.get(url).text)[0] == last


def test_feed_links_in_head(client):
    html = client.get("/papers/date/2025-03-19").text
    assert '<link rel="alternate" type="application/rss+xml" title="Papers of' in html
    assert 'href="/feeds/date/2025-03-19.atom"' in html
    assert date(2025, 3, 19).strftime("%A") in html


def test_shared_card_cache_never_leaks_a_signed_in_view(settings, db):
    """Anonymous viewers share rendered cards; a signed-in viewer sees their own vote."""
    from community_kit import add_paper, client, make_app as community_app, signed_in, utc_today

    add_paper(db, "2611.00001", title="A paper to vote on")
    app = community_app(settings.model_copy(update={"embed_in_background": False}), db)
    url = f"/papers/date/{utc_today().isoformat()}"
    anon = client(app)
    assert 'aria-pressed="false"' in anon.get(url).text
    voter = signed_in(app, db, settings, "Voter")
    assert voter.htmx("/papers/2611.00001/upvote").status_code == 200
    mine = voter.get(url).text
    assert 'aria-pressed="true"' in mine and '<span class="count">1</span>' in mine
    theirs = anon.get(url).text
    assert 'aria-pressed="false"' in theirs and '<span class="count">1</span>' in theirs
    assert 'aria-pressed="true"' in voter.get(url).text  # after an anonymous render was cached


def test_day_pages_link_to_trending(client):
    html = client.get(f"/papers/date/{HF_DAY.isoformat()}").text
    assert 'href="/papers/trending"' in html
