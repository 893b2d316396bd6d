"""Streaming export of stored papers as paperfeed JSONL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import orjson
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from paperfeed.ingest.native import paper_to_native
from paperfeed.models import Paper


def iter_export_lines(session: Session, since: date | None = None) -> Iterator[bytes]:
    """One JSON line per paper, oldest first, in constant memory."""
    stmt = select(Paper).options(selectinload(Paper.entries)).order_by(Paper.pk)
    if since is not None:
        start = datetime(since.year, since.month, since.day)
        stmt = stmt.where(or_(Paper.submitted_at >= start, Paper.announced_on >= since))
    for paper in session.scalars(stmt.execution_options(yield_per=1000)):
        entries = sorted(paper.entries, key=lambda e: e.day)
        # Sorted keys: PostgreSQL JSONB reorders object keys, and exports must compare equal.
        yield orjson.dumps(paper_to_native(paper, entries), option=orjson.OPT_SORT_KEYS) + b"\n"
