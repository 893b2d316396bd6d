"""RSS 2.0 and Atom feeds: well-formed, required elements present, absolute links, real dates."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from datetime import datetime

import pytest
from fastapi.testclient import TestClient


from web_helpers import EVIL_ID, HF_DAY, MATH_PAPER, load_demo, make_app

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "http://testserver"  # settings.base_url in the test fixtures


@pytest.fixture
def client(settings, db):
    load_demo(db)
    with TestClient(make_app(settings, db)) as c:
        yield c


def check_rss(xml: bytes) -> list[ET.Element]:
    root = ET.fromstring(xml)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    for tag in ("title", "link", "description"):
        assert (channel.findtext(tag) or "").strip(), f"channel lacks {tag}"
    assert channel.findtext("link").startswith(BASE)
    items = channel.findall("item")
    for item in items:
        assert item.findtext("title") and item.findtext("description")
        assert item.findtext("link").startswith(BASE + "/papers/")
        assert item.findtext("guid").startswith(BASE)
        parsedate_to_datetime(item.findtext("pubDate"))  # RFC 822, raises if malformed
    return items


def check_atom(xml: bytes) -> list[ET.Element]:
    root = ET.fromstring(xml)
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert (root.findtext(ATOM + tag) or "").strip(), f"feed lacks {tag}"
    datetime.fromisoformat(root.findtext(ATOM + "updated"))
    links = {l.get("rel"): l.get("href") for l in root.findall(ATOM + "link")}
    assert links["self"].startswith(BASE) and links["alternate"].startswith(BASE)
    entries = root.findall(ATOM + "entry")
    for entry in entries:
        for tag in ("id", "title", "updated"):
            assert (entry.findtext(ATOM + tag) or "").strip(), f"entry lacks {tag}"
        datetime.fromisoformat(entry.findtext(ATOM + "updated"))
        assert entry.find(ATOM + "link").get("href").startswith(BASE + "/papers/")
        assert entry.find(ATOM + "author") is not None
    return entries


@pytest.mark.parametrize("path", ["/feeds/latest", "/feeds/date/2025-03-19", "/feeds/trending",
                                  "/feeds/search?q=vision"])
def test_feeds_validate_in_both_formats(client, path):
    base, _, query = path.partition("?")
    rss = client.get(f"{base}.rss" + (f"?{query}" if query else ""))
    assert rss.status_code == 200 and rss.headers["content-type"].startswith("application/rss+xml")
    atom = client.get(f"{base}.atom" + (f"?{query}" if query else ""))
    assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
    items, entries = check_rss(rss.content), check_atom(atom.content)
    assert len(items) == len(entries) > 0


def test_day_feed_holds_that_days_papers_most_upvoted_first(client):
    entries = check_atom(client.get(f"/feeds/date/{HF_DAY.isoformat()}.atom").content)
    assert len(entries) == 30
    first = entries[0].findtext(ATOM + "title")
    assert first.startswith("EvoArena")  # 118 upvotes in the HF recording
    items = check_rss(client.get("/feeds/date/2025-03-18.rss").content)
    assert len(items) == 50
    assert MATH_PAPER in " ".join(i.findtext("link") for i in check_rss(
        client.get("/feeds/search.rss?q=CORDIC").content))


def test_markup_in_titles_is_escaped_text_in_feeds(client):
    xml = client.get("/feeds/date/2025-03-18.rss").content
    items = check_rss(xml)  # parses: the <script> title did not break the XML
    evil = [i for i in items if i.findtext("link").endswith(EVIL_ID)]
    assert evil and evil[0].findtext("title").startswith("<script>")


def test_feed_errors_and_304(client):
    assert client.get("/feeds/latest.json").status_code == 404
    assert client.get("/feeds/date/2025-13-45.rss").status_code == 400
    assert client.get("/feeds/search.rss").status_code == 400
    first = client.get("/feeds/trending.rss")
    assert client.get("/feeds/trending.rss", headers={"If-None-Match": first.headers["etag"]}).status_code == 304


def test_rss_text_carries_hex_character_references_for_markup(client, think_paper):
    # The W3C validator warns on "&lt;" and "&amp;" in RSS text; the text parsed is the same.
    search = client.get("/feeds/search.rss", params={"q": "<think> & plan"}).content
    day = client.get(f"/feeds/date/{THINK_DAY}.rss").content
    for xml in (search, day):
        assert b"&lt;" not in xml and b"&amp;" not in xml and b"&#x3C;" in xml
    assert ET.fromstring(search).find("channel").findtext("title") == "Search: <think> & plan"
    [item] = ET.fromstring(day).find("channel").findall("item")
    assert "&lt;think&gt;a plan&lt;/think&gt; &amp; then" in item.findtext("description")


DC = "{http://purl.org/dc/elements/1.1/}"
THINK_DAY = "2024-01-05"  # no demo paper is listed that day


@pytest.fixture
def think_paper(db):
    from datetime import date
    from paperfeed.records import Author, EntryRecord, PaperRecord
    from paperfeed.store.papers import upsert_records

    record = PaperRecord(
        id="2401.00042", title="Reasoning in tags", source="jsonl",
        abstract="The model writes <think>a plan</think> & then answers.",
        authors=[Author("Ada Lovelace", "Lovelace", "Ada"), Author("C.-P. Yuan", "Yuan", "C.-P.")],
        categories=["cs.CL"], submitted_at=datetime(2024, 1, 3, 9, 30), updated_at=datetime(2024, 1, 4, 18, 5),
        announced_on=date(2024, 1, 5), entries=[EntryRecord(day=date(2024, 1, 5), source="auto")],
    )
    with db.session() as session:
        upsert_records(session, [record])
    return record


def test_rss_sends_the_abstract_as_escaped_html_with_authors_and_the_page_link(client, think_paper):
    root = ET.fromstring(client.get(f"/feeds/date/{THINK_DAY}.rss").content)
    channel = root.find("channel")
    assert channel.findtext("link") == f"{BASE}/papers/date/{THINK_DAY}"
    self_link = channel.find(f"{ATOM}link")
    assert self_link.get("rel") == "self" and self_link.get("href") == f"{BASE}/feeds/date/{THINK_DAY}.rss"
    [item] = channel.findall("item")
    # The description is HTML: the tag-like text arrives escaped, so a reader shows it.
    description = item.findtext("description")
    assert "&lt;think&gt;a plan&lt;/think&gt; &amp; then" in description and "<think>" not in description
    assert [c.text for c in item.findall(f"{DC}creator")] == ["Ada Lovelace", "C.-P. Yuan"]


def test_atom_entries_carry_authors_html_content_and_their_own_updated_time(client, think_paper):
    root = ET.fromstring(client.get(f"/feeds/date/{THINK_DAY}.atom").content)
    [entry] = root.findall(f"{ATOM}entry")
    assert [a.findtext(f"{ATOM}name") for a in entry.findall(f"{ATOM}author")] == ["Ada Lovelace", "C.-P. Yuan"]
    content = entry.find(f"{ATOM}content")
    assert content.get("type") == "html" and "&lt;think&gt;" in content.text
    assert datetime.fromisoformat(entry.findtext(f"{ATOM}updated")) == datetime.fromisoformat("2024-01-04T18:05:00+00:00")
    assert datetime.fromisoformat(entry.findtext(f"{ATOM}published")) == datetime.fromisoformat("2024-01-03T09:30:00+00:00")
    assert root.findtext(f"{ATOM}updated") == entry.findtext(f"{ATOM}updated")


@pytest.mark.parametrize("path", ["/feeds/latest.atom", "/feeds/date/2025-03-18.atom", "/feeds/trending.atom"])
def test_atom_entries_do_not_share_one_midnight(client, path):
    entries = check_atom(client.get(path).content)
    updated = [e.findtext(ATOM + "updated") for e in entries]
    assert len(set(updated)) == len(updated)


def test_shared_times_are_set_apart_without_colliding():
    from paperfeed.web.feeds import distinct_times

    midnight = datetime.fromisoformat("2026-06-12T00:00:00+00:00")
    second = datetime.fromisoformat("2026-06-12T00:00:01+00:00")
    times = distinct_times([midnight, second, midnight, None], ["b", "c", "a", "d"])
    assert times[2] == midnight and times[0] == second and times[1] > second and times[3] is None
    assert len(set(times[:3])) == 3


@pytest.mark.parametrize("path,page", [
    ("/feeds/latest", "/papers/date/2026-06-12"), ("/feeds/date/2025-03-19", "/papers/date/2025-03-19"),
    ("/feeds/trending", "/"), ("/feeds/search?q=vision", "/search?q=vision")])
def test_every_feed_links_its_page_names_authors_and_sends_html(client, path, page):
    base, _, query = path.partition("?")
    suffix = f"?{query}" if query else ""
    channel = ET.fromstring(client.get(f"{base}.rss{suffix}").content).find("channel")
    assert channel.findtext("link") == BASE + page
    assert channel.find(f"{ATOM}link").get("href") == f"{BASE}{base}.rss{suffix}"
    for item in channel.findall("item"):
        assert item.findall(f"{DC}creator") and item.findtext("description").startswith("<p>")
    feed = ET.fromstring(client.get(f"{base}.atom{suffix}").content)
    for entry in feed.findall(f"{ATOM}entry"):
        assert entry.find(f"{ATOM}author").findtext(f"{ATOM}name")
        assert entry.find(f"{ATOM}content").get("type") == "html"


@pytest.mark.parametrize("path", ["/feeds/latest", "/feeds/date/2025-03-19", "/feeds/trending",
                                  "/feeds/search?q=vision"])
@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feedparser_reads_every_feed_cleanly(client, path, fmt):
    feedparser = pytest.importorskip("feedparser")
    base, _, query = path.partition("?")
    parsed = feedparser.parse(client.get(f"{base}.{fmt}" + (f"?{query}" if query else "")).content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.entries and all(e.get("author") and e.get("link") and e.get("summary") for e in parsed.entries)
    assert parsed.feed.get("link", "").startswith(BASE)


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_tag_like_text_survives_feedparser(client, think_paper, fmt):
    feedparser = pytest.importorskip("feedparser")
    from html import unescape

    parsed = feedparser.parse(client.get(f"/feeds/date/2024-01-05.{fmt}").content)
    summaries = [unescape(e.summary) for e in parsed.entries]
    assert any("<think>a plan</think> & then" in s for s in summaries), summaries[:2]
