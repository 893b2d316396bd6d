"""The per-node sync loop: keeps this data dir's indexes following the database.

A daemon thread started with the server (web/app.py). Every ``index_sync_seconds`` it
reads the change sequence (one primary-key look-up) and checks the sizes of the live
index files (a ``stat`` each); only when the sequence moved, or a file is damaged or
missing, does it take the writer lock and sync (index/sync.py): the keyword index at
once, the vector snapshot at most every ``vector_refresh_seconds`` (a rebuild reads
every stored vector) and at once when this node has none. Requests never wait for it:
they answer from the live generation and say when it is behind (rank/search.py).
Several server processes on one data dir share the work through the writer lock.
"""

from __future__ import annotations

import logging
import threading
import time

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index import generations
from paperfeed.index.sync import SyncReport, keyword_root, refresh_vectors, sync_keyword, vector_dir, writer_lock
from paperfeed.store.changes import current as current_seq

log = logging.getLogger(__name__)


class SyncLoop:
    def __init__(self, db: Database, settings: Settings):
        self.db = db
        self.settings = settings
        self.interval = settings.index_sync_seconds
        self.vector_interval = settings.vector_refresh_seconds
        self._seen: int | None = None
        self._vectors_due = True
        self._vectors_at = float("-inf")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paperfeed-sync", daemon=True)

    def start(self) -> "SyncLoop":
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                self.run_once()
                failing = False
            except Exception as exc:  # a database outage or a full disk: say so once, keep trying
                if failing:
                    log.debug("index sync still failing: %s", exc)
                else:
                    log.exception("index sync failed; retrying every %.1f s", self.interval)
                failing = True
            self._stop.wait(self.interval)

    def run_once(self) -> SyncReport | None:
        """One pass; None when there was nothing to do or another process holds the lock."""
        with self.db.session() as session:
            seq = current_seq(session)
        if seq == self._seen and self._healthy() and not self._vectors_pending():
            return None
        with writer_lock(self.settings, wait=False) as locked:
            if not locked:
                return None
            report = sync_keyword(self.db, keyword_root(self.settings))
            self._vectors_due = self._vectors_due or seq != self._seen
            if self._vectors_pending():
                report.vectors = refresh_vectors(self.db, vector_dir(self.settings))
                self._vectors_due, self._vectors_at = False, time.monotonic()
        self._seen = seq
        if report.rebuilt or report.indexed or report.removed or report.vectors is not None:
            log.info("index sync: %d indexed, %d removed%s%s", report.indexed, report.removed,
                     " (keyword index rebuilt)" if report.rebuilt else "",
                     f", vector snapshot {report.vectors}" if report.vectors is not None else "")
        return report

    def _vectors_pending(self) -> bool:
        root = vector_dir(self.settings)
        name = generations.current(root)
        if name is None:  # none yet: load what is stored at once
            return self._vectors_due or self._seen is None
        if not generations.verify(root / name, checksums=False).ok:
            return True  # damaged: rebuilt from paper_embedding at once
        return self._vectors_due and time.monotonic() - self._vectors_at >= self.vector_interval

    def _healthy(self) -> bool:
        for root in (keyword_root(self.settings), vector_dir(self.settings)):
            name = generations.current(root)
            if name is None and root.name == "keyword":
                return False
            if name is not None and not generations.verify(root / name, checksums=False).ok:
                return False
        return True


def start_sync_loop(db: Database, settings: Settings) -> SyncLoop:
    return SyncLoop(db, settings).start()
