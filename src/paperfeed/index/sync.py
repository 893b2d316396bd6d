"""Keep the indexes in step with the database.

The keyword index follows ``Paper.changed_at`` from a watermark stored next to it, so an
import costs only the papers it touched; withdrawn papers leave the index, and papers
deleted outright are found by comparing pk sets when the counts disagree. Embeddings are
stored in the database (``paper_embedding``) and the vector snapshot is rebuilt from
them when they change. One writer at a time: every write holds ``index/write.lock``.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import numpy as np
from sqlalchemy import func, select

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index.keyword import KeywordDoc, KeywordIndex, day_number
from paperfeed.index.passages import unpack
from paperfeed.index.vectors import VectorSnapshot, read_meta, write_snapshot
from paperfeed.models import Paper, PaperEmbedding

# Rows committed by a transaction that started before the last sync can carry an older
# changed_at than the watermark; re-reading a margin makes sure they are not missed.
WATERMARK_MARGIN = timedelta(seconds=60)
BATCH = 2000
_STATE = "paperfeed-state.json"
_PKS = "paperfeed-pks.npy"
_WATERMARK = "paperfeed-watermark"  # the state's watermark alone, read on every search


@dataclass
class SyncReport:
    indexed: int = 0
    removed: int = 0
    vectors: int | None = None  # set when the vector snapshot was rebuilt


def keyword_dir(settings: Settings) -> Path:
    return settings.index_dir() / "keyword"


def vector_dir(settings: Settings) -> Path:
    return settings.index_dir() / "vectors"


@contextmanager
def writer_lock(settings: Settings, wait: bool = True) -> Iterator[bool]:
    """Serialise index writers across processes (importer, worker, CLI, web workers).

    Yields whether the lock is held: with ``wait=False`` a busy lock yields False at once.
    """
    path = settings.index_dir() / "write.lock"
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def catch_up(db: Database, settings: Settings) -> bool:
    """Sync if the database has changes newer than the index, unless another process is
    writing right now (then its sync will bring them). One indexed query when current."""
    with db.session() as session:
        latest = session.scalar(select(func.max(Paper.changed_at)))
    if latest is None or latest.isoformat() <= keyword_watermark(settings):
        return False
    with writer_lock(settings, wait=False) as locked:
        if locked:
            _sync_keyword(db, keyword_dir(settings))
            _refresh_vectors(db, vector_dir(settings))
        return locked


def keyword_watermark(settings: Settings) -> str:
    try:
        return (keyword_dir(settings) / _WATERMARK).read_text()
    except FileNotFoundError:
        return ""


def sync_index(db: Database, settings: Settings) -> SyncReport:
    """Bring the keyword index and vector snapshot up to date with the database."""
    with writer_lock(settings):
        report = _sync_keyword(db, keyword_dir(settings))
        report.vectors = _refresh_vectors(db, vector_dir(settings))
    return report


def rebuild_keyword(db: Database, settings: Settings) -> SyncReport:
    """Drop the keyword index and build it again from the database."""
    with writer_lock(settings):
        path = keyword_dir(settings)
        if path.exists():
            for f in path.iterdir():
                f.unlink()
        return _sync_keyword(db, path)


# --- keyword ---

def _sync_keyword(db: Database, path: Path) -> SyncReport:
    index = KeywordIndex(path)
    state = _read_state(path)
    since = datetime.fromisoformat(state["watermark"]) - WATERMARK_MARGIN if state.get("watermark") else None
    indexed = set(np.load(path / _PKS).tolist()) if (path / _PKS).exists() else set()
    # rows inside the margin that were indexed at this very version need no second pass
    seen: dict[str, str] = state.get("recent", {})
    report = SyncReport()
    versions: dict[int, str] = {}
    writer = index.writer()
    with db.session() as session:
        for rows in _changed_rows(session, since):
            fresh = [r for r in rows if seen.get(str(r.pk)) != r.changed_at.isoformat()]
            live = [r for r in fresh if not r.withdrawn]
            gone = [r.pk for r in fresh if r.withdrawn]
            index.replace(writer, [_keyword_doc(r) for r in live])
            index.delete(writer, gone)
            indexed.update(r.pk for r in live)
            indexed.difference_update(gone)
            report.indexed += len(live)
            report.removed += len(gone)
            versions.update((r.pk, r.changed_at.isoformat()) for r in rows)
        live_pks = _deleted_outright(session, indexed)
    if live_pks is not None:
        deleted = indexed - live_pks
        index.delete(writer, deleted)
        indexed -= deleted
        report.removed += len(deleted)
    index.commit(writer)
    _write_state(path, _next_state(state, versions), indexed)
    return report


def _next_state(state: dict, versions: dict[int, str]) -> dict:
    if not versions:
        return state
    watermark = max(max(versions.values()), state.get("watermark") or "")
    floor = (datetime.fromisoformat(watermark) - WATERMARK_MARGIN).isoformat()
    recent = {str(pk): v for pk, v in versions.items() if v >= floor}
    return {"watermark": watermark, "recent": recent}


def _changed_rows(session, since: datetime | None):
    stmt = (select(Paper.pk, Paper.title, Paper.abstract, Paper.authors, Paper.categories, Paper.submitted_at,
                   Paper.announced_on, Paper.withdrawn, Paper.changed_at)
            .order_by(Paper.changed_at, Paper.pk).execution_options(yield_per=BATCH))
    if since is not None:
        stmt = stmt.where(Paper.changed_at >= since)
    yield from session.execute(stmt).partitions(BATCH)


def _keyword_doc(row) -> KeywordDoc:
    day = row.submitted_at.date() if row.submitted_at else row.announced_on
    return KeywordDoc(pk=row.pk, title=row.title, authors=[a.get("name", "") for a in row.authors or []],
                      abstract=row.abstract or "", categories=(row.categories or "").split(), day=day)


def _deleted_outright(session, indexed: set[int]) -> set[int] | None:
    """The live pk set when papers were deleted from the database, else None (cheap check)."""
    live_count = session.scalar(select(func.count()).select_from(Paper).where(Paper.withdrawn.is_(False)))
    if live_count == len(indexed):
        return None
    return set(session.scalars(select(Paper.pk).where(Paper.withdrawn.is_(False))))


def _read_state(path: Path) -> dict:
    try:
        return json.loads((path / _STATE).read_text())
    except FileNotFoundError:
        return {}


def _write_state(path: Path, state: dict, indexed: set[int]) -> None:
    tmp = path / (_PKS + ".tmp.npy")
    np.save(tmp, np.fromiter(indexed, dtype=np.int64, count=len(indexed)))
    os.replace(tmp, path / _PKS)
    for name, text in ((_STATE, json.dumps(state)), (_WATERMARK, state.get("watermark") or "")):
        tmp = path / (name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path / name)


# --- vectors ---

def _vector_stamp(session) -> dict:
    """Changes whenever an embedding is added, replaced or removed, or its paper withdrawn."""
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(PaperEmbedding.paper_pk), 0), func.max(PaperEmbedding.embedded_at))
        .select_from(PaperEmbedding).join(Paper, Paper.pk == PaperEmbedding.paper_pk)
        .where(Paper.withdrawn.is_(False))
    ).one()
    return {"count": int(row[0]), "pk_sum": int(row[1]), "latest": row[2].isoformat() if row[2] else None}


def _refresh_vectors(db: Database, root: Path) -> int | None:
    root.mkdir(parents=True, exist_ok=True)
    scratch = root / "passages.scratch"
    try:
        with db.session() as session:
            stamp = _vector_stamp(session)
            if read_meta(root).get("stamp") == stamp or (stamp["count"] == 0 and not read_meta(root)):
                return None
            snap = _load_embeddings(session, scratch)
        snap.stamp = stamp
        write_snapshot(root, snap)  # outside the session: a long read would hold up SQLite's checkpoints
    finally:
        scratch.unlink(missing_ok=True)
    return len(snap)


def _load_embeddings(session, scratch: Path) -> VectorSnapshot:
    """Every current embedding; the passage vectors stream to ``scratch`` on disk and come
    back memory-mapped (at a million papers they are ~3 GB, too many to hold)."""
    stmt = (select(PaperEmbedding.paper_pk, PaperEmbedding.vector, PaperEmbedding.dim, PaperEmbedding.model,
                   Paper.submitted_at, Paper.announced_on, Paper.categories)
            .join(Paper, Paper.pk == PaperEmbedding.paper_pk).where(Paper.withdrawn.is_(False))
            .order_by(PaperEmbedding.paper_pk).execution_options(yield_per=BATCH))
    pks, vecs, counts, days, cats, model = [], [], [], [], [], ""
    with open(scratch, "wb") as passages:
        for row in session.execute(stmt):
            whole, parts = unpack(row.vector, row.dim)
            pks.append(row.paper_pk)
            vecs.append(whole)
            passages.write(parts.tobytes())
            counts.append(len(parts))
            day = row.submitted_at.date() if row.submitted_at else row.announced_on
            days.append(day_number(day))
            cats.append((row.categories or "").lower())
            model = row.model
    matrix = np.vstack(vecs).astype(np.float32) if vecs else np.zeros((0, 0), np.float32)
    dim, total = (matrix.shape[1] if vecs else 0), sum(counts)
    passage_rows = (np.memmap(scratch, dtype=np.float16, mode="r", shape=(total, dim)) if total
                    else np.zeros((0, dim), np.float16))
    return VectorSnapshot(pks=np.array(pks, dtype=np.int64), vectors=matrix, days=np.array(days, dtype=np.int32),
                          cats=cats, model=model, passages=passage_rows,
                          passage_start=np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]))
