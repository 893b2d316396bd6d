"""The per-node sync loop: keeps this data dir's indexes following the database.

Two daemon threads started with the server (web/app.py), one per index, so a long
vector rebuild never holds up newly imported papers. Every ``index_sync_seconds`` each
reads the change sequence (one primary-key look-up) and checks the sizes of its live
index files (a ``stat`` each); only when the sequence moved, or a file is damaged or
missing, does it take its writer lock and sync (index/sync.py): the keyword index at
once, the vector snapshot at most every ``vector_refresh_seconds`` (a rebuild reads
every stored vector) and at once when this node has none or it is damaged. On
PostgreSQL the keyword thread also LISTENs for the NOTIFY each change sends at commit,
so it wakes at once instead of at the next tick (polling stays the fallback). Requests
never wait for either: they answer from the live generation and say when it is behind
(rank/search.py). Several server processes on one data dir share the work through the
writer locks.
"""

from __future__ import annotations

import logging
import threading
import time

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index import generations
from paperfeed.index.sync import SyncReport, keyword_root, refresh_vectors, sync_keyword, vector_dir, writer_lock
from paperfeed.store.changes import CHANNEL
from paperfeed.store.changes import current as current_seq

log = logging.getLogger(__name__)


class SyncLoop:
    def __init__(self, db: Database, settings: Settings):
        self.db = db
        self.settings = settings
        self.interval = settings.index_sync_seconds
        self.vector_interval = settings.vector_refresh_seconds
        self._seen: int | None = None  # the sequence the keyword index was last synced at
        self._vectors_seen: int | None = None
        self._vectors_at = float("-inf")
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(self.sync_keyword_once, _Listener(db)),
                             name="paperfeed-sync-keyword", daemon=True),
            threading.Thread(target=self._loop, args=(self.sync_vectors_once, None), name="paperfeed-sync-vectors",
                             daemon=True),
        ]

    def start(self) -> "SyncLoop":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def run_once(self) -> SyncReport | None:
        """Both steps once, in order (tests, benchmarks); None when neither had anything to do."""
        report = self.sync_keyword_once()
        vectors = self.sync_vectors_once()
        if vectors is not None:
            report = report or SyncReport()
            report.vectors = vectors
        return report

    def _loop(self, step, listener: "_Listener | None") -> None:
        failing = False
        while not self._stop.is_set():
            try:
                step()
                failing = False
            except Exception as exc:  # a database outage or a full disk: say so once, keep trying
                if failing:
                    log.debug("index sync still failing: %s", exc)
                else:
                    log.exception("index sync failed; retrying every %.1f s", self.interval)
                failing = True
            if listener is not None:
                listener.wait(self._stop, self.interval)
            else:
                self._stop.wait(self.interval)
        if listener is not None:
            listener.close()

    def _sequence(self) -> int:
        with self.db.session() as session:
            return current_seq(session)

    def sync_keyword_once(self) -> SyncReport | None:
        """None when nothing changed or another process holds the keyword lock."""
        seq = self._sequence()
        root = keyword_root(self.settings)
        if seq == self._seen and _intact(root):
            return None
        with writer_lock(self.settings, wait=False) as locked:
            if not locked:
                return None
            report = sync_keyword(self.db, root)
        self._seen = seq
        if report.rebuilt or report.indexed or report.removed:
            log.info("keyword index: %d indexed, %d removed%s", report.indexed, report.removed,
                     " (built from the database)" if report.rebuilt else "")
        return report

    def sync_vectors_once(self) -> int | None:
        """The new snapshot's size, or None when none was due or needed."""
        seq = self._sequence()
        root = vector_dir(self.settings)
        if not self._vectors_due(seq, root):
            return None
        with writer_lock(self.settings, wait=False, kind="vectors") as locked:
            if not locked:
                return None
            vectors = refresh_vectors(self.db, root)
        self._vectors_seen, self._vectors_at = seq, time.monotonic()
        if vectors is not None:
            log.info("vector snapshot: %d papers, from stored embeddings", vectors)
        return vectors

    def _vectors_due(self, seq: int, root) -> bool:
        if self._vectors_seen is None or not _intact(root, required=False):
            return True  # first look, or damaged: load what is stored at once
        if generations.current(root) is None and seq != self._vectors_seen:
            return True  # none yet: the first vectors are worth having at once
        return seq != self._vectors_seen and time.monotonic() - self._vectors_at >= self.vector_interval


class _Listener:
    """Waits for a change notification on PostgreSQL, or simply for the interval."""

    def __init__(self, db: Database):
        url = db.engine.url
        self.conninfo = None if db.is_sqlite else url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn = None

    def wait(self, stop: threading.Event, seconds: float) -> None:
        if self.conninfo is None or stop.is_set():
            stop.wait(seconds)
            return
        import psycopg

        try:
            if self.conn is None:
                self.conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
                self.conn.execute(f"LISTEN {CHANNEL}")
            for _ in self.conn.notifies(timeout=seconds, stop_after=1):
                pass
        except psycopg.Error:  # the database went away: poll until it is back
            self.close()
            stop.wait(seconds)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None


def _intact(root, required: bool = True) -> bool:
    """Whether the live generation's files still have their sizes (one stat each)."""
    name = generations.current(root)
    if name is None:
        return not required
    return generations.verify(root / name, checksums=False).ok


def start_sync_loop(db: Database, settings: Settings) -> SyncLoop:
    return SyncLoop(db, settings).start()
