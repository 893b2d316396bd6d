"""The arXiv announcement RSS feed (recorded 2026-09-24: new, new, cross, replace)."""

from datetime import date

from sqlalchemy import select

from conftest import FIXTURES
from paperfeed.ingest.importer import import_file
from paperfeed.records import MalformedRecord
from paperfeed.ingest.rss import parse_rss_page
from paperfeed.models import DailyEntry, Paper
from paperfeed.store.papers import get_paper

FEED = FIXTURES / "rss" / "laya-reader_arxiv_rss_cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24.xml"
DAY = date(2026, 9, 24)


def parsed():
    page = parse_rss_page(FEED.read_bytes())
    return page, {item.id: item for _, item in page.items}


def test_feed_day_and_announce_types():
    page, recs = parsed()
    assert page.day == DAY
    assert page.announce_types == {"new": 2, "cross": 1, "replace": 1}
    assert list(recs) == ["2609.26811", "2609.26820", "2205.06398", "2009.13987"]


def test_new_item_fields():
    _, recs = parsed()
    rec = recs["2609.26811"]
    assert rec.version == 1
    assert rec.title == "The Drift Contract: Spectral Updates for Depth-Robust Local Learning"
    assert rec.abstract.startswith("Local learning trains each layer") and "Abstract:" not in rec.abstract
    assert "Announce Type" not in rec.abstract
    assert [a.name for a in recs["2609.26820"].authors] == ["Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan"]
    assert recs["2609.26820"].categories == ["cs.LG", "cs.AI"]
    assert rec.license == "http://creativecommons.org/licenses/by-nc-sa/4.0/"
    assert rec.announced_on == DAY
    assert [(e.day, e.source) for e in rec.entries] == [(DAY, "auto")]


def test_cross_lists_get_an_entry_and_replacements_do_not():
    _, recs = parsed()
    cross, replaced = recs["2205.06398"], recs["2009.13987"]
    assert [(e.day, e.source) for e in cross.entries] == [(DAY, "auto")]
    assert cross.announced_on is None  # first announced in 2022, not today
    assert cross.doi == "10.1093/bioinformatics/btac431"
    assert replaced.entries == [] and replaced.version == 3 and replaced.announced_on is None


def test_broken_item_is_skipped(tmp_path):
    text = FEED.read_text().replace("<title>Outlier Detection", "<title><Outlier Detection", 1)
    page = parse_rss_page(text.encode())
    assert page.day == DAY
    assert [type(item) is MalformedRecord for _, item in page.items] == [False, False, True, False]


def test_import_creates_the_days_entries(db):
    report = import_file(db, FEED)
    assert (report.read, report.inserted, report.batch.entries_inserted) == (4, 4, 3)
    with db.session() as s:
        assert str(get_paper(s, "2609.26811").announced_on) == "2026-09-24"
        listed = s.scalars(select(Paper.id).join(DailyEntry).where(DailyEntry.day == DAY).order_by(Paper.id)).all()
    assert listed == ["2205.06398", "2609.26811", "2609.26820"]
    assert import_file(db, FEED).unchanged == 4
