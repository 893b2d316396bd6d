"""The JSON API: Hugging Face's shapes, JSON errors, and ETag/304 caching."""

from __future__ import annotations

import re

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from paperfeed.models import DailyEntry
from paperfeed.store.papers import get_paper

from web_helpers import HF_DAY, HF_FILE, MATH_PAPER, OLD_ID, load_demo, make_app

PAPER_FIELDS = {"id", "title", "summary", "authors", "publishedAt", "upvotes", "numComments", "githubRepo",
                "projectPage", "ai_summary", "ai_keywords"}


@pytest.fixture
def client(settings, db):
    load_demo(db)
    with TestClient(make_app(settings, db)) as c:
        yield c


def test_daily_papers_matches_hf_shape_and_values(client):
    r = client.get(f"/api/daily_papers?date={HF_DAY.isoformat()}&limit=50")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    ours = r.json()
    theirs = orjson.loads(HF_FILE.read_bytes())
    assert len(ours) == len(theirs) == 30
    for item in ours:
        assert {"paper", "publishedAt", "title", "summary", "numComments"} <= set(item)
        assert PAPER_FIELDS <= set(item["paper"])
        assert all(set(a) == {"name"} for a in item["paper"]["authors"])
        assert item["paper"]["publishedAt"].endswith("Z")
    by_id = {i["paper"]["id"]: i for i in ours}
    for hf in theirs:
        mine = by_id[hf["paper"]["id"]]
        assert mine["paper"]["upvotes"] == hf["paper"]["upvotes"]
        assert mine["numComments"] == hf["numComments"]
        assert mine["paper"]["ai_keywords"] == hf["paper"]["ai_keywords"]
        assert [a["name"] for a in mine["paper"]["authors"]] == [a["name"] for a in hf["paper"]["authors"]]
        if hf["paper"].get("githubRepo"):
            assert mine["paper"]["githubRepo"] == hf["paper"]["githubRepo"].rstrip("/")
    upvotes = [i["paper"]["upvotes"] for i in ours]
    assert upvotes == sorted(upvotes, reverse=True)


def test_daily_papers_periods_sort_and_paging(client):
    week = client.get("/api/daily_papers?week=2025-W12&limit=100")
    assert len(week.json()) == 100 and week.headers["x-total-count"] == "701"
    month = client.get("/api/daily_papers?month=2025-03&limit=5&sort=publishedAt")
    days = [i["publishedAt"] for i in month.json()]
    assert days == sorted(days, reverse=True) and days[0].startswith("2025-03-20")
    p0 = client.get("/api/daily_papers?date=2025-03-18&limit=10&p=0").json()
    p1 = client.get("/api/daily_papers?date=2025-03-18&limit=10&p=1").json()
    assert not {i["paper"]["id"] for i in p0} & {i["paper"]["id"] for i in p1}
    latest = client.get("/api/daily_papers").json()
    assert {i["publishedAt"][:10] for i in latest} == {HF_DAY.isoformat()}


@pytest.mark.parametrize("url,status", [
    ("/api/daily_papers?date=2025-13-45", 400),
    ("/api/daily_papers?date=2025-03-18&week=2025-W12", 400),
    ("/api/daily_papers?sort=best", 400),
    ("/api/daily_papers?limit=0", 422),
    ("/api/daily_papers?p=abc", 422),
    ("/api/daily_papers?date=2025-03-18&p=9999", 404),
    ("/api/papers/2999.99999", 404),
    ("/api/papers/search?limit=0", 422),
    ("/api/papers/search?q=x&mode=psychic", 400),
    ("/api/nothing-here", 404),
])
def test_errors_are_json(client, url, status):
    r = client.get(url)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error"} and body["error"] and "Traceback" not in body["error"]


def test_paper_detail_and_slash_ids(client):
    paper = client.get(f"/api/papers/{MATH_PAPER}").json()
    assert paper["title"] == "CORDIC Is All You Need"
    assert len(paper["authors"]) == 9 and paper["categories"] == ["cs.AR", "cs.CV", "eess.IV"]
    assert paper["arxivUrl"] == f"https://arxiv.org/abs/{MATH_PAPER}" and paper["dailyDates"] == ["2025-03-18"]
    old = client.get(f"/api/papers/{OLD_ID}").json()
    assert old["id"] == OLD_ID and [v["version"] for v in old["versions"]] == [1, 2]
    assert old["publishedAt"] == "1999-01-01T10:00:00.000Z"


def test_search_returns_hf_style_items(client):
    r = client.get("/api/papers/search?q=CORDIC&limit=5")
    assert r.status_code == 200 and r.headers["x-search-mode"]
    items = r.json()
    assert MATH_PAPER in [i["paper"]["id"] for i in items]
    assert all(PAPER_FIELDS <= set(i["paper"]) and "title" in i for i in items)


def test_etag_gives_304_until_data_changes(client, db):
    url = f"/api/daily_papers?date={HF_DAY.isoformat()}"
    first = client.get(url)
    etag = first.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.content
    with db.session() as s:
        s.execute(update(DailyEntry).where(DailyEntry.day == HF_DAY).values(upvotes=DailyEntry.upvotes + 1))
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag

    paper_url = f"/api/papers/{MATH_PAPER}"
    tag = client.get(paper_url).headers["etag"]
    assert client.get(paper_url, headers={"If-None-Match": tag}).status_code == 304
    with db.session() as s:
        pk = get_paper(s, MATH_PAPER).pk
        s.execute(update(DailyEntry).where(DailyEntry.paper_pk == pk).values(num_comments=5))
    assert client.get(paper_url, headers={"If-None-Match": tag}).status_code == 200


def test_openapi_documents_the_api(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/daily_papers", "/api/papers/search", "/api/papers/{paper_id}"} <= set(spec["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200
    # Swagger UI comes from our own static files, never a CDN.
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    assert all(client.get(a).status_code == 200 for a in assets)
