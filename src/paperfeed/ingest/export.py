"""Streaming export of stored papers as paperfeed JSONL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import orjson
from sqlalchemy.orm import Session

from paperfeed.ingest.native import paper_to_native
from paperfeed.store.papers import papers_with_entries


def iter_export_lines(session: Session, since: date | None = None) -> Iterator[bytes]:
    """One JSON line per paper, oldest first, in constant memory."""
    for paper in papers_with_entries(session, since):
        entries = sorted(paper.entries, key=lambda e: e.day)
        # Sorted keys: PostgreSQL JSONB reorders object keys, and exports must compare equal.
        yield orjson.dumps(paper_to_native(paper, entries), option=orjson.OPT_SORT_KEYS) + b"\n"
