"""Hugging Face daily_papers JSON (a real response for 2026-06-12, 30 papers)."""

import json
from datetime import date

import orjson

from conftest import FIXTURES
from paperfeed.ingest.hf import parse_hf_items
from paperfeed.ingest.importer import import_file
from paperfeed.records import MalformedRecord
from paperfeed.store.papers import get_paper

DAILY = FIXTURES / "hf_daily_papers" / "sotawhat_hf_daily_papers_2026-06-12.json"
DAY = date(2026, 6, 12)


def parsed():
    return {rec.id: rec for _, rec in parse_hf_items(json.loads(DAILY.read_bytes()))}


def test_every_paper_lands_on_the_requested_day_with_hf_counts():
    recs = parsed()
    assert len(recs) == 30
    assert {rec.entries[0].day for rec in recs.values()} == {DAY}
    rec = recs["2606.13392"]
    assert [(e.source, e.upvotes, e.num_comments) for e in rec.entries] == [("hf", 103, 4)]
    assert rec.submitted_at.date() == date(2026, 6, 11)  # HF's arXiv publication date


def test_links_and_extras():
    recs = parsed()
    rec = recs["2606.08063"]
    assert rec.code_urls[0] == "https://github.com/jqtangust/Robust-U1"
    assert rec.project_page == "https://huggingface.co/spaces/Jiaqi-hkust/Robust-U1"
    first = recs["2606.00467"]
    assert first.code_urls == [] and first.project_page is None
    assert first.extra["ai_keywords"][:2] == ["zero-shot annotation", "LLM-as-a-judge"]
    assert first.extra["ai_summary"].startswith("Large language models exhibit limited ability")
    assert first.extra["organization"] == {"name": "caltech", "fullname": "California institute of technology"}
    assert [a.name for a in first.authors] == ["Etienne Casanova", "Rafal Kocielnik", "R. Michael Alvarez"]
    assert (first.abs_url, first.source) == ("https://arxiv.org/abs/2606.00467", "hf")


def test_item_without_paper_or_day_is_reported():
    items = json.loads(DAILY.read_bytes())[:2]
    del items[1]["paper"]["submittedOnDailyAt"], items[1]["publishedAt"]
    out = list(parse_hf_items([{"title": "no paper"}] + items))
    assert [where for where, item in out if isinstance(item, MalformedRecord)] == ["item 1", "item 3"]


def test_import_creates_hf_entries_and_hf_code_link_goes_first(db, tmp_path):
    earlier = tmp_path / "earlier.jsonl"
    earlier.write_bytes(orjson.dumps({"id": "2606.08063", "title": "Robust-U1",
                                      "abstract": "Code: https://github.com/someone/else-repo."}))
    import_file(db, earlier)
    report = import_file(db, DAILY)
    assert (report.read, report.inserted, report.updated, report.batch.entries_inserted) == (30, 29, 1, 30)
    with db.session() as s:
        paper = get_paper(s, "2606.08063")
        assert paper.code_urls == ["https://github.com/jqtangust/Robust-U1", "https://github.com/someone/else-repo"]
        assert [(e.source, e.upvotes, e.num_comments) for e in paper.entries] == [("hf", 74, 3)]
        assert "organization" not in paper.extra and paper.extra["ai_keywords"]
        assert paper.sources == ["jsonl", "hf"]


def test_reimport_with_new_votes_updates_the_entry(db, tmp_path):
    import_file(db, DAILY)
    items = json.loads(DAILY.read_bytes())
    items[0]["paper"]["upvotes"], items[0]["numComments"] = 42, 7
    later = tmp_path / "later.json"
    later.write_text(json.dumps(items))
    report = import_file(db, later)
    assert report.batch.entries_updated == 1 and report.batch.entries_inserted == 0
    with db.session() as s:
        entry = get_paper(s, "2606.00467").entries[0]
        assert (entry.day, entry.upvotes, entry.num_comments) == (DAY, 42, 7)
