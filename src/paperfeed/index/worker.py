"""The embedding worker that runs inside ``paperfeed serve``.

A daemon thread: embed a chunk of missing papers, repeat; sleep when there is nothing to
do. With several uvicorn workers only one process per node embeds (the others fail to
take ``index/worker.lock`` and retry later); across nodes, chunks are claimed in the
database (store/claims.py), so each paper is embedded once however many nodes embed.
"""

from __future__ import annotations

import logging

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index.embed import EmbeddingUnavailable, get_embedder
from paperfeed.index.embedjob import embed_chunk
from paperfeed.index.sync import sync_index
from paperfeed.index.nodeworker import NodeWorker

log = logging.getLogger(__name__)
IDLE_SECONDS = 60.0
# Waiting a little before loading the model keeps short-lived servers (tests, a quick
# look) from paying for it; stop() interrupts the wait.
START_DELAY_SECONDS = 10.0
WORKER_CHUNK = 64  # small, so stop() never waits long for a chunk to finish
REFRESH_CHUNKS = 20  # publish a new vector snapshot every this many chunks


class EmbeddingWorker(NodeWorker):
    lock_name = "worker.lock"
    thread_name = "paperfeed-embed"

    def __init__(self, db: Database, settings: Settings, idle_seconds: float = IDLE_SECONDS,
                 start_delay: float = START_DELAY_SECONDS):
        super().__init__(db, settings, idle_seconds, start_delay)

    def _work(self) -> None:
        try:
            embedder = get_embedder(self.settings.embedding_device, self.settings.embedding_threads)
        except EmbeddingUnavailable as exc:
            log.warning("embedding worker disabled: %s", exc)
            self._stop.wait()
            return
        while not self._stop.is_set():
            sync_index(self.db, self.settings)
            chunks = 0
            while not self._stop.is_set() and chunks < REFRESH_CHUNKS:
                done, reused = embed_chunk(self.db, embedder, WORKER_CHUNK, owner=self.owner,
                                           lease=self.settings.embed_lease_seconds)
                if done + reused == 0:
                    break
                chunks += 1
            if chunks:
                sync_index(self.db, self.settings)
                continue
            self._stop.wait(self.idle_seconds)


def start_worker(db: Database, settings: Settings, **options) -> EmbeddingWorker:
    return EmbeddingWorker(db, settings, **options).start()
