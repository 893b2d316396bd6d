"""Hostile papers for the security tests (issue 12), stored directly with the store so the
render side is tested on its own, whatever import-time validation lets through."""

from __future__ import annotations

from datetime import date, datetime

from paperfeed.records import Author, EntryRecord, PaperRecord
from paperfeed.store.papers import upsert_records

DAY = date(2026, 6, 12)
EVIL_ID = "2606.66601"
# the probe's id: an upvote click on it once posted to the ban route
TRAVERSAL_ID = "cspt/../../../admin/users/bob_1/ban?x="
OLD_ID = "hep-th/9901001"
JS = "javascript:window.__pwned=1"
MARKUP = '<img src=x onerror="window.__pwned=2"><script>window.__pwned=3</script>'


def hostile_records(day: date = DAY) -> list[PaperRecord]:
    evil = PaperRecord(
        id=EVIL_ID, title=f"Hostile {MARKUP} title", abstract=f"An abstract \x1b with $x^2$ and {MARKUP}.",
        authors=[Author(f"Mallory {MARKUP}", "Mallory", "M")], categories=["cs.CR"],
        comments=f"12 pages {MARKUP}", journal_ref=MARKUP, doi='10.1/x"><script>window.__pwned=4</script>',
        abs_url=JS, pdf_url="JaVaScRiPt:window.__pwned=5", code_urls=[JS, "java\tscript:window.__pwned=6"],
        project_page="data:text/html,<script>window.__pwned=7</script>",
        submitted_at=datetime(day.year, day.month, day.day, 9), announced_on=day, source="hf",
        entries=[EntryRecord(day=day, source="hf", upvotes=7)],
    )
    traversal = PaperRecord(
        id=TRAVERSAL_ID, title="A paper whose id climbs out of its path", abstract="Traversal attempt.",
        authors=[Author("Eve", "Eve", "")], categories=["cs.CR"], announced_on=day, source="jsonl",
        submitted_at=datetime(day.year, day.month, day.day, 8), entries=[EntryRecord(day=day, source="auto")],
    )
    old = PaperRecord(
        id=OLD_ID, title="Gauge theory on an old-style identifier", abstract="Strings with $SU(N)$ symmetry.",
        authors=[Author("Edward Witten", "Witten", "Edward")], categories=["hep-th"], announced_on=day,
        submitted_at=datetime(1999, 1, 1, 10), source="snapshot", abs_url=f"https://arxiv.org/abs/{OLD_ID}",
        code_urls=["https://github.com/example/gauge"], entries=[EntryRecord(day=day, source="auto")],
    )
    return [evil, traversal, old]


def add_hostile(db, day: date = DAY) -> None:
    with db.session() as session:
        upsert_records(session, hostile_records(day))
