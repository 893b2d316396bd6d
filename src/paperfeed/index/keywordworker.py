"""The key-phrase worker that runs inside ``paperfeed serve``, beside the embedding worker.

A daemon thread: extract a chunk of papers lacking current phrases, repeat; sleep when
there is nothing to do, so papers a fetch brings in get their phrases within a minute.
One process per node works (``index/keywords.lock``); across nodes, chunks are claimed
in the database, so each paper is extracted once however many nodes run it.
"""

from __future__ import annotations

import logging

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index.keywordjob import keyword_chunk
from paperfeed.index.nodeworker import NodeWorker

log = logging.getLogger(__name__)
IDLE_SECONDS = 60.0
START_DELAY_SECONDS = 10.0  # short-lived servers (tests, a quick look) never start
WORKER_CHUNK = 200  # a fifth of a second of extraction: stop() never waits long


class KeywordWorker(NodeWorker):
    lock_name = "keywords.lock"
    thread_name = "paperfeed-keywords"

    def __init__(self, db: Database, settings: Settings, idle_seconds: float = IDLE_SECONDS,
                 start_delay: float = START_DELAY_SECONDS, chunk: int = WORKER_CHUNK):
        super().__init__(db, settings, idle_seconds, start_delay)
        self.chunk = chunk

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                done, kept = keyword_chunk(self.db, self.chunk, owner=self.owner,
                                           lease=self.settings.embed_lease_seconds)
            except Exception:  # a database outage: try again later, never kill the thread
                log.exception("key-phrase worker: chunk failed")
                done = kept = 0
            if done + kept == 0:
                self._stop.wait(self.idle_seconds)


def start_keyword_worker(db: Database, settings: Settings, **options) -> KeywordWorker:
    return KeywordWorker(db, settings, **options).start()
