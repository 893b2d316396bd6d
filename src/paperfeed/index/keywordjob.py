"""Extract key phrases for the papers that have none (or outdated ones), in committed chunks.

The same shape as the embedding job (index/embedjob.py): each chunk is claimed in the
database (``keyword_claim``, store/claims.py), so extractors on several nodes never
redo each other's papers; the extraction runs outside any transaction; each chunk
commits, so a stopped run resumes where it ended, and running it again when nothing
changed does nothing. A paper whose title and abstract are unchanged (only comments or
versions moved) keeps its phrases without extracting again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from paperfeed.db import Database
from paperfeed.index.embed import paper_text, text_hash
from paperfeed.index.keyphrases import VERSION, extract_keywords
from paperfeed.models import KeywordClaim
from paperfeed.store.claims import DEFAULT_LEASE, claim_papers, new_owner, release_claims
from paperfeed.store.keyphrases import count_missing_keywords, missing_keywords, stamp, store_keywords

log = logging.getLogger(__name__)
CHUNK = 500  # about half a second of extraction: short transactions, few commits


@dataclass
class KeywordReport:
    extracted: int = 0
    kept: int = 0  # text unchanged: only the stamp moved on
    remaining: int = 0
    seconds: float = 0.0

    @property
    def papers_per_s(self) -> float:
        return (self.extracted + self.kept) / self.seconds if self.seconds else 0.0


def count_missing(db: Database) -> int:
    with db.session() as session:
        return count_missing_keywords(session, VERSION)


def hash_for(title: str, abstract: str | None) -> str:
    """What the phrases were computed from: the text, and the extractor that read it."""
    return text_hash(f"{VERSION}\n{paper_text(title, abstract or '')}")


def keyword_chunk(db: Database, size: int = CHUNK, owner: str | None = None,
                  lease: int = DEFAULT_LEASE) -> tuple[int, int]:
    """Claim up to ``size`` papers lacking current phrases, extract and commit them.

    Returns (extracted, kept); (0, 0) when nothing is left that nobody else holds."""
    owner = owner or new_owner()
    rows = claim_papers(db, missing_keywords(VERSION), owner, size, lease, claims=KeywordClaim)
    if not rows:
        return 0, 0
    out, extracted = [], 0
    for r in rows:
        digest = hash_for(r.title, r.abstract)
        row = {"pk": r.pk, "content_hash": r.content_hash, "keywords_stamp": stamp(VERSION, r.content_hash),
               "keywords_text_hash": digest}
        if digest != r.keywords_text_hash:
            row["keywords"] = extract_keywords(r.title, r.abstract or "")
            extracted += 1
        out.append(row)
    with db.session() as session:
        # Only what is still ours: a claim that lapsed meanwhile may be another's now.
        mine = release_claims(session, owner, [r.pk for r in rows], claims=KeywordClaim)
        store_keywords(session, [row for row in out if row["pk"] in mine])
    return extracted, len(rows) - extracted


def extract_missing(db: Database, *, limit: int | None = None, chunk: int = CHUNK,
                    on_progress: Callable[[int, int | None], None] | None = None,
                    stop: threading.Event | None = None, lease: int = DEFAULT_LEASE) -> KeywordReport:
    """Extract until nothing is missing (or ``limit`` papers are done, or ``stop`` is set)."""
    total = count_missing(db)
    goal = min(total, limit) if limit is not None else total
    report = KeywordReport()
    owner = new_owner()
    started = time.monotonic()
    if on_progress:
        on_progress(0, goal)
    while report.extracted + report.kept < goal and not (stop and stop.is_set()):
        size = min(chunk, goal - report.extracted - report.kept)
        extracted, kept = keyword_chunk(db, size, owner=owner, lease=lease)
        if extracted + kept == 0:
            break
        report.extracted += extracted
        report.kept += kept
        if on_progress:
            on_progress(report.extracted + report.kept, goal)
    report.seconds = time.monotonic() - started
    report.remaining = count_missing(db)
    log.info("key phrases: %d extracted, %d kept, %d remaining, %.0f papers/s", report.extracted, report.kept,
             report.remaining, report.papers_per_s)
    return report
