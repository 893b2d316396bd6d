"""Real demo data for the web tests: the first lines of the bundled arXiv listing (a few
real days of papers), Hugging Face's recorded daily_papers (upvotes, code links, project
pages), an old-style id with a slash, and one hostile record."""

from __future__ import annotations

import gzip
from datetime import date, datetime
from itertools import islice

import orjson

from paperfeed.db import Database
from paperfeed.index.sync import sync_index
from paperfeed.ingest.hf import parse_hf_items
from paperfeed.records import Author, EntryRecord, PaperRecord
from paperfeed.ingest.snapshot import parse_snapshot_object
from paperfeed.store.papers import upsert_records

from conftest import DEMO, FIXTURES

LISTING = DEMO / "arxiv-listing-2025-03_2026-07.jsonl.gz"
HF_FILE = FIXTURES / "hf_daily_papers" / "sotawhat_hf_daily_papers_2026-06-12.json"
HF_DAY = date(2026, 6, 12)
MATH_PAPER = "2503.11685"  # "CORDIC Is All You Need": $tanh$, $\times$ in its abstract
OLD_ID = "hep-th/9901001"
EVIL_ID = "2503.99999"
EVIL_TITLE = '<script>window.__pwned = 1</script> Attention <b>is</b> all'
EVIL_ABSTRACT = ('We show $x^2 + y^2 = z^2$ holds. <img src=x onerror="window.__pwned=2"> '
                 '$<script>window.__pwned=3</script>$ and \\(\\alpha\\).')


def listing_records(lines: int) -> list[PaperRecord]:
    with gzip.open(LISTING, "rb") as fh:
        return [parse_snapshot_object(orjson.loads(line)) for line in islice(fh, lines)]


def hf_records() -> list[PaperRecord]:
    items = orjson.loads(HF_FILE.read_bytes())
    return [rec for _, rec in parse_hf_items(items) if isinstance(rec, PaperRecord)]


def special_records() -> list[PaperRecord]:
    old = PaperRecord(
        id=OLD_ID, title="Gauge theory on an old-style identifier", abstract="Strings with $SU(N)$ symmetry.",
        authors=[Author("Edward Witten", "Witten", "Edward")], categories=["hep-th"], version=2,
        versions=[{"version": 1, "created": "1999-01-01T10:00:00"}, {"version": 2, "created": "1999-03-01T10:00:00"}],
        submitted_at=datetime(1999, 1, 1, 10), updated_at=datetime(1999, 3, 1, 10), source="snapshot",
        abs_url=f"https://arxiv.org/abs/{OLD_ID}", pdf_url=f"https://arxiv.org/pdf/{OLD_ID}",
    )
    evil = PaperRecord(
        id=EVIL_ID, title=EVIL_TITLE, abstract=EVIL_ABSTRACT,
        authors=[Author("Mallory <i>Evil</i>", "Evil", "Mallory")], categories=["cs.CR"], source="jsonl",
        announced_on=date(2025, 3, 18), entries=[EntryRecord(day=date(2025, 3, 18), source="auto")],
    )
    return [old, evil]


def load_demo(db: Database, lines: int = 700) -> None:
    with db.session() as session:
        upsert_records(session, listing_records(lines))
        upsert_records(session, hf_records())
        upsert_records(session, special_records())
    sync_index(db, db.settings)  # what the server's sync loop does within a second


def make_app(settings, db):
    """The app without the background embedding worker: these tests are about the web layer,
    and the worker's model load would dominate them (search has its own tests)."""
    from paperfeed.web.app import create_app

    return create_app(settings.model_copy(update={"embed_in_background": False, "digest_scheduler": False}), db=db)
