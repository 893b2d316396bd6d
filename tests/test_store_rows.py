"""Encoded paper rows: the fast encoder agrees with the general one on real records."""

import gzip
from datetime import date, datetime, timedelta, timezone
from itertools import islice
from pathlib import Path

import pytest
from sqlalchemy import select

from paperfeed.ingest.formats import PARSERS
from paperfeed.records import Author, EntryRecord, MalformedRecord, PaperRecord
from paperfeed.models import Paper
from paperfeed.store.merge import CONTENT_FIELDS, record_to_row
from paperfeed.store.rows import decode_row, encode_record, encode_row, prepare_records, row_hash

DEMO = Path(__file__).parents[1] / "demo"
FIXTURES = Path(__file__).parent / "fixtures"


def real_records():
    for name, fmt in [("arxiv-snapshot-sample.jsonl.gz", "snapshot"),
                      ("arxiv-listing-2025-03_2026-07.jsonl.gz", "snapshot")]:
        with gzip.open(DEMO / name, "rb") as stream:
            yield from (item for _, item in islice(PARSERS[fmt](stream), 3000)
                        if not isinstance(item, MalformedRecord))
    for path, fmt in [(FIXTURES / "hf_daily_papers" / "sotawhat_hf_daily_papers_2026-06-12.json", "hf"),
                      (FIXTURES / "rss" / "laya-reader_arxiv_rss_cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24.xml", "rss")]:
        with open(path, "rb") as stream:
            yield from (item for _, item in PARSERS[fmt](stream) if not isinstance(item, MalformedRecord))


def test_fast_encoder_matches_the_general_one_on_real_records():
    count = 0
    for rec in real_records():
        row = record_to_row(rec)
        assert encode_record(rec) == encode_row(row), rec.id
        assert decode_row(encode_row(row)) == row, rec.id
        count += 1
    assert count > 4600  # 1,631 snapshot + 3,000 listing + the HF and RSS fixtures


def test_encoding_is_canonical_for_key_order_and_time_zones():
    a = record_to_row(PaperRecord(id="x", title="t", extra={"b": 1, "a": 2}))
    b = {**a, "extra": {"a": 2, "b": 1}}
    assert row_hash(encode_row(a)) == row_hash(encode_row(b))
    aware = {**a, "submitted_at": datetime(2024, 1, 1, 13, tzinfo=timezone(timedelta(hours=1)))}
    assert encode_row(aware)[CONTENT_FIELDS.index("submitted_at")] == "2024-01-01 12:00:00.000000"


def test_repeats_in_a_batch_fold_into_one_row_in_first_seen_order():
    v1 = PaperRecord(id="p", title="old", version=1, source="snapshot", entries=[EntryRecord(date(2025, 1, 2), "auto")])
    other = PaperRecord(id="q", title="other", source="snapshot")
    v2 = PaperRecord(id="p", title="new", version=2, source="hf", code_urls=["https://github.com/a/b"],
                     entries=[EntryRecord(date(2025, 1, 2), "hf", upvotes=5)])
    batch = prepare_records([v1, other, v2])
    assert batch.ids == ["p", "q"]
    assert decode_row(batch.rows[0])["title"] == "new"
    assert batch.hf_ids == {"p"}
    assert batch.entries == [("p", "2025-01-02", "hf", 5, None)]


@pytest.mark.parametrize("field", ["authors", "extra", "submitted_at", "announced_on"])
def test_encoded_rows_read_back_through_the_orm(db, field):
    from paperfeed.store.papers import upsert_records

    rec = PaperRecord(id="2401.1", title="T", authors=[Author("Ada Lovelace", "Lovelace", "Ada")],
                      submitted_at=datetime(2024, 1, 2, 3, 4, 5, 6), announced_on=date(2024, 1, 3),
                      extra={"ai_keywords": ["k"]}, source="snapshot")
    with db.session() as s:
        upsert_records(s, [rec])
    with db.session() as s:
        paper = s.scalar(select(Paper))
        assert getattr(paper, field) == record_to_row(rec)[field]
