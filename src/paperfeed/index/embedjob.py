"""Embed the papers that have no (or an outdated) embedding, in committed chunks.

Resumable by construction: each chunk commits its vectors, and the next run asks the
database again what is missing. Newest papers first, because they are the ones people
search for. A paper whose text is unchanged (only comments or versions moved) keeps its
vector without re-embedding.

Work is claimed in the database (store/claims.py), so embedders on several nodes share
it and compute each paper once; the model runs outside any transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index.embed import Embedder, get_embedder, paper_text, text_hash
from paperfeed.index.passages import pack, passage_texts, unpack
from paperfeed.index.shipped import SHIPPED_MODEL
from paperfeed.models import utcnow
from paperfeed.store.changes import bump
from paperfeed.store.claims import DEFAULT_LEASE, claim_papers, new_owner, release_claims
from paperfeed.store.indexing import count_missing_embeddings, missing_embeddings, store_embeddings

log = logging.getLogger(__name__)
CHUNK = 256


@dataclass
class EmbedReport:
    embedded: int = 0
    reused: int = 0
    remaining: int = 0
    seconds: float = 0.0

    @property
    def docs_per_s(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0


def count_missing(db: Database, model: str) -> int:
    with db.session() as session:
        return count_missing_embeddings(session, model)


def embed_chunk(db: Database, embedder: Embedder, size: int = CHUNK, owner: str | None = None,
                lease: int = DEFAULT_LEASE) -> tuple[int, int]:
    """Claim a chunk of missing papers, embed it and commit it; returns (embedded, reused).

    (0, 0) when nothing is left that another embedder has not claimed.
    """
    owner = owner or new_owner()
    rows = claim_papers(db, missing_embeddings(embedder.name), owner, size, lease)
    if not rows:
        return 0, 0
    texts = [paper_text(r.title, r.abstract) for r in rows]
    hashes = [text_hash(t) for t in texts]
    todo = [i for i, r in enumerate(rows) if r.text_hash != hashes[i] or r.model != embedder.name]
    papers = [(texts[i], rows[i].title, rows[i].abstract, _shipped_whole(rows[i], hashes[i])) for i in todo]
    blobs = dict(zip(todo, encode_papers(embedder, papers)))
    new_rows = []
    for i, r in enumerate(rows):
        row = {"paper_pk": r.pk, "model": embedder.name, "content_hash": r.content_hash,
               "text_hash": hashes[i], "embedded_at": utcnow()}
        new_rows.append({**row, "dim": embedder.dim, "vector": blobs[i]} if i in blobs else row)
    with db.session() as session:
        # Only what is still ours: a claim that expired while the model ran may be another's now.
        mine = release_claims(session, owner, [r.pk for r in rows])
        _store(session, [r for r in new_rows if r["paper_pk"] in mine])
    log.info("embedded %d papers (model calls), %d with unchanged text, as %s", len(todo), len(rows) - len(todo),
             owner)
    return len(todo), len(rows) - len(todo)


def encode_papers(embedder: Embedder, papers: list[tuple]) -> list[bytes]:
    """Each paper's stored blob: its whole-text vector, then its passages' vectors.

    ``papers`` holds (whole text, title, abstract[, whole-text vector or None]): a given
    whole-text vector (a shipped one, index/shipped.py) is kept and only the passages
    are embedded. One encode call for all texts, so the model batches similar lengths.
    """
    known = [paper[3] if len(paper) > 3 else None for paper in papers]
    groups = [([] if whole is not None else [text]) + passage_texts(title, abstract)
              for (text, title, abstract, *_), whole in zip(papers, known)]
    flat = [t for group in groups for t in group]
    vectors = embedder.encode_documents(flat) if flat else np.zeros((0, embedder.dim), np.float32)
    blobs, start = [], 0
    for group, whole in zip(groups, known):
        mine = vectors[start:start + len(group)]
        blobs.append(pack(mine if whole is None else np.vstack([whole[None, :], mine])))
        start += len(group)
    return blobs


def _shipped_whole(row, hashed: str) -> np.ndarray | None:
    """The whole-text vector a shipped embedding of this very text already holds."""
    if row.model != SHIPPED_MODEL or row.text_hash != hashed or row.vector is None:
        return None
    return unpack(row.vector, row.dim)[0].astype(np.float32)


def _store(session, rows: list[dict]) -> None:
    if not rows:
        return
    seq = bump(session)  # replicas load new vectors by this number
    rows = [{**r, "change_seq": seq} for r in rows]
    store_embeddings(session, [r for r in rows if "vector" in r], [r for r in rows if "vector" not in r])


def embed_missing(db: Database, settings: Settings, *, limit: int | None = None,
                  on_progress: Callable[[int, int | None], None] | None = None,
                  stop: threading.Event | None = None, embedder: Embedder | None = None,
                  refresh_every: float = 60.0) -> EmbedReport:
    """Embed until nothing is missing (or ``limit`` papers, or ``stop`` is set).

    The vector snapshot is refreshed every ``refresh_every`` seconds and at the end, so
    semantic search improves while a long run goes on.
    """
    from paperfeed.index.sync import sync_index

    embedder = embedder or get_embedder(settings.embedding_device, settings.embedding_threads)
    total = count_missing(db, embedder.name)
    goal = min(total, limit) if limit is not None else total
    report = EmbedReport()
    owner = new_owner()
    started = last_refresh = time.monotonic()
    while report.embedded + report.reused < goal and not (stop and stop.is_set()):
        size = min(CHUNK, goal - report.embedded - report.reused)
        done, reused = embed_chunk(db, embedder, size, owner=owner, lease=settings.embed_lease_seconds)
        if done + reused == 0:
            break
        report.embedded += done
        report.reused += reused
        if on_progress:
            on_progress(report.embedded + report.reused, goal)
        if time.monotonic() - last_refresh > refresh_every:
            sync_index(db, settings)
            last_refresh = time.monotonic()
    report.seconds = time.monotonic() - started
    sync_index(db, settings)
    report.remaining = count_missing(db, embedder.name)
    return report
