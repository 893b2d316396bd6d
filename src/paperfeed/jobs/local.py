"""Node-local upkeep, run in every web node rather than claimed: each node keeps its own
search index on its own disk, so each brings its own up to date.

Searches already index papers newer than the index before they run; what they do not pick
up is new embeddings stored by the worker on another machine while no paper changed. The
refresher syncs the index every ``index_refresh_seconds`` so those reach the node's vector
snapshot. ``serve`` starts it when it does not embed itself (the embedding worker syncs
after every chunk anyway).
"""

from __future__ import annotations

import logging
import threading

from paperfeed.config import Settings
from paperfeed.db import Database

log = logging.getLogger(__name__)


class IndexRefresher:
    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="paperfeed-index-refresh", daemon=True)

    def start(self) -> "IndexRefresher":
        if self.settings.index_refresh_seconds > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        from paperfeed.index.sync import sync_index

        while not self._stop.wait(self.settings.index_refresh_seconds):
            try:
                # the index's write lock makes the node's other workers wait, then find it current
                report = sync_index(self.db, self.settings)
                if report.indexed or report.removed or report.vectors is not None:
                    log.info("index refreshed: %d indexed, %d removed, vectors %s",
                             report.indexed, report.removed, report.vectors)
            except Exception:  # noqa: BLE001 - an unreachable database now and then: try next time
                log.exception("refreshing the search index failed")
