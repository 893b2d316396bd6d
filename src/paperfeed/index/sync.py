"""Keep a node's indexes in step with the database, by the change sequence.

The keyword index follows ``Paper.change_seq`` (store/changes.py): each generation
records the sequence it has applied, and a sync applies the papers above it, so an
import costs only the papers it touched and no clock is trusted. Withdrawn papers leave
the index; papers deleted outright are found by comparing pk sets when the counts
disagree. Every sync writes a new generation beside the live one and swaps it in
(index/generations.py). Embeddings live in the database (``paper_embedding``), and the
vector snapshot is rebuilt from them, never re-embedded, when they change. One writer
per index and data dir at a time: keyword writes hold ``index/write.lock``, vector
writes ``index/vectors.lock``, so a long vector rebuild never holds up new papers.
"""

from __future__ import annotations

import fcntl
import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Iterator

import numpy as np

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index import generations
from paperfeed.index.embed import MODEL_NAME
from paperfeed.index.keyword import SCHEMA_VERSION, KeywordDoc, KeywordIndex, day_number
from paperfeed.index.passages import unpack
from paperfeed.index.vectors import VectorSnapshot, read_meta, write_snapshot
from paperfeed.store.changes import current as current_seq
from paperfeed.store.indexing import (
    changed_papers,
    current_embeddings,
    embedding_rate,
    embedding_stamp,
    live_paper_count,
    live_paper_pks,
)

log = logging.getLogger(__name__)
BATCH = 2000
_STATE = "paperfeed-state.json"
_PKS = "paperfeed-pks.npy"
_SCHEMA = "paperfeed-schema"


@dataclass
class SyncReport:
    indexed: int = 0
    removed: int = 0
    vectors: int | None = None  # set when the vector snapshot was rebuilt
    rebuilt: bool = False  # a damaged or missing keyword index was built from scratch


def keyword_root(settings: Settings) -> Path:
    path = settings.index_dir() / "keyword"
    path.mkdir(parents=True, exist_ok=True)
    return path


def keyword_dir(settings: Settings) -> Path | None:
    """The live keyword generation, or None before the first sync."""
    root = keyword_root(settings)
    name = generations.current(root)
    return root / name if name else None


def vector_dir(settings: Settings) -> Path:
    return settings.index_dir() / "vectors"


@contextmanager
def writer_lock(settings: Settings, wait: bool = True, kind: str = "keyword") -> Iterator[bool]:
    """Serialise writers of one index (``kind``: keyword or vectors) across processes
    (importer, sync loops, CLI).

    Yields whether the lock is held: with ``wait=False`` a busy lock yields False at once.
    """
    path = settings.index_dir() / ("write.lock" if kind == "keyword" else f"{kind}.lock")
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


def sync_index(db: Database, settings: Settings) -> SyncReport:
    """Bring the keyword index and vector snapshot up to date with the database."""
    with writer_lock(settings):
        report = sync_keyword(db, keyword_root(settings))
    with writer_lock(settings, kind="vectors"):
        report.vectors = refresh_vectors(db, vector_dir(settings))
    return report


def sync_keyword_if_free(db: Database, settings: Settings) -> SyncReport | None:
    """For commands that search outside a server (CLI, digest runs): catch the keyword
    index up unless another process is writing it right now."""
    with writer_lock(settings, wait=False) as free:
        return sync_keyword(db, keyword_root(settings)) if free else None


def rebuild_keyword(db: Database, settings: Settings) -> SyncReport:
    """Build the keyword index again from the database, beside the live one, and swap it in."""
    with writer_lock(settings):
        return sync_keyword(db, keyword_root(settings), full=True)


def keyword_seq(folder: Path | None) -> int:
    """The change sequence a keyword generation has applied (-1: none)."""
    return _read_state(folder).get("seq", -1) if folder else -1


# --- keyword ---

def sync_keyword(db: Database, root: Path, full: bool = False) -> SyncReport:
    """Apply the papers changed since the live generation as a new one (caller holds the lock)."""
    live = _usable_generation(db, root)
    if full:
        live = None
    state = _read_state(live)
    indexed = set(np.load(live / _PKS).tolist()) if live and (live / _PKS).exists() else set()
    with db.session() as session:
        # Read before the papers: every number up to it is committed (store/changes.py).
        seq = current_seq(session)
        since = state.get("seq") if live else None
        if live and since == seq:
            return SyncReport()
        deleted = _deleted_outright(session, indexed) if live else None
        changed = changed_papers(session, since, BATCH)
        first = next(changed, None)
        if live and first is None and deleted is None:
            return SyncReport()  # the counter moved for votes or comments only
        target = root / generations.next_name(root, "k")
        generations.copy_generation(live, target)
        batches = chain([first], changed) if first is not None else iter(())
        report = _apply(KeywordIndex(target), indexed, batches, deleted)
    report.rebuilt = live is None
    _write_state(target, {"seq": seq}, indexed)
    generations.write_manifest(target, seq=seq)
    generations.publish(root, target.name)
    if report.rebuilt:
        _remove_loose_files(root)
    return report


def _remove_loose_files(root: Path) -> None:
    """An index from before generations lay directly in the root: nothing reads it now."""
    for path in root.iterdir():
        if path.is_file() and not path.name.startswith(generations.POINTER):
            path.unlink(missing_ok=True)


def _usable_generation(db: Database, root: Path) -> Path | None:
    """The live generation if its files check out; a damaged one is set aside."""
    name = generations.current(root)
    if name is None:
        return None
    folder = root / name
    check = generations.verify(folder)
    if check.ok and _schema_of(folder) == SCHEMA_VERSION:
        return folder
    if not check.ok:
        with db.session() as session:
            seq = current_seq(session)
        aside = generations.set_aside(root, name, seq)
        log.error("keyword index %s is damaged (%s); set aside as %s, rebuilding from the database",
                  name, check.problem, aside.name)
    return None


def _schema_of(folder: Path) -> str:
    try:
        return (folder / _SCHEMA).read_text()
    except FileNotFoundError:
        return ""


def _apply(index: KeywordIndex, indexed: set[int], batches, deleted: set[int] | None) -> SyncReport:
    report = SyncReport()
    writer = index.writer()
    for rows in batches:
        live = [r for r in rows if not r.withdrawn]
        gone = [r.pk for r in rows if r.withdrawn]
        index.replace(writer, [_keyword_doc(r) for r in live])
        index.delete(writer, gone)
        indexed.update(r.pk for r in live)
        indexed.difference_update(gone)
        report.indexed += len(live)
        report.removed += len(gone)
    deleted = (deleted or set()) & indexed  # a withdrawn paper may have left already
    if deleted:
        index.delete(writer, deleted)
        indexed -= deleted
        report.removed += len(deleted)
    index.commit(writer)
    return report


def _keyword_doc(row) -> KeywordDoc:
    day = row.submitted_at.date() if row.submitted_at else row.announced_on
    return KeywordDoc(pk=row.pk, title=row.title, authors=[a.get("name", "") for a in row.authors or []],
                      abstract=row.abstract or "", categories=(row.categories or "").split(), day=day)


def _deleted_outright(session, indexed: set[int]) -> set[int] | None:
    """Indexed pks whose papers were deleted from the database, or None (a cheap count first)."""
    if live_paper_count(session) == len(indexed):
        return None
    gone = indexed - live_paper_pks(session)
    return gone or None


def _read_state(folder: Path | None) -> dict:
    if folder is None:
        return {}
    try:
        return json.loads((folder / _STATE).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _write_state(folder: Path, state: dict, indexed: set[int]) -> None:
    for name in (_PKS, _STATE, _SCHEMA):  # hard links to the previous generation: never write through
        (folder / name).unlink(missing_ok=True)
    np.save(folder / _PKS, np.fromiter(indexed, dtype=np.int64, count=len(indexed)))
    (folder / _STATE).write_text(json.dumps(state))
    (folder / _SCHEMA).write_text(SCHEMA_VERSION)


# --- vectors ---

def refresh_vectors(db: Database, root: Path) -> int | None:
    """Rebuild the snapshot from ``paper_embedding`` (nothing is embedded) when it changed;
    a damaged snapshot is set aside first. The caller holds the vectors writer lock."""
    root.mkdir(parents=True, exist_ok=True)
    _set_aside_damaged_vectors(db, root)
    meta = read_meta(root)
    scratch = root / "passages.scratch"
    try:
        with db.session() as session:
            stamp = embedding_stamp(session)
            if meta.get("stamp") == stamp or (stamp["count"] == 0 and not meta):
                return None
            snap = _load_embeddings(session, scratch)
            snap.progress = {"rate": embedding_rate(session, MODEL_NAME)}
        snap.stamp = stamp
        write_snapshot(root, snap)  # outside the session: a long read would hold up SQLite's checkpoints
    finally:
        scratch.unlink(missing_ok=True)
    return len(snap)


def _set_aside_damaged_vectors(db: Database, root: Path) -> None:
    name = generations.current(root)
    if name is None:
        return
    check = generations.verify(root / name)
    if check.ok:
        return
    with db.session() as session:
        aside = generations.set_aside(root, name, current_seq(session))
    log.error("vector snapshot %s is damaged (%s); set aside as %s, rebuilding from stored embeddings",
              name, check.problem, aside.name)


def _load_embeddings(session, scratch: Path) -> VectorSnapshot:
    """Every current embedding; the passage vectors stream to ``scratch`` on disk and come
    back memory-mapped (at a million papers they are ~3 GB, too many to hold)."""
    pks, vecs, counts, days, cats, model = [], [], [], [], [], ""
    with open(scratch, "wb") as passages:
        for row in current_embeddings(session, BATCH):
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
