"""A daemon thread that does one kind of index work on this node (embedding, key phrases).

With several uvicorn workers only one process per node works: the others fail to take the
kind's lock file in the index folder and look again later. Across nodes the work itself is
claimed in the database (store/claims.py), so nothing is done twice.
"""

from __future__ import annotations

import fcntl
import threading

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.store.claims import new_owner


class NodeWorker:
    lock_name = "worker.lock"
    thread_name = "paperfeed-worker"

    def __init__(self, db: Database, settings: Settings, idle_seconds: float, start_delay: float):
        self.db = db
        self.settings = settings
        self.idle_seconds = idle_seconds
        self.start_delay = start_delay
        self.owner = new_owner()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        # Waiting a little first keeps short-lived servers (tests, a quick look) from paying
        # for the work; stop() interrupts the wait.
        if self._stop.wait(self.start_delay):
            return
        with open(self.settings.index_dir() / self.lock_name, "a") as fh:
            while not self._stop.is_set():
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # another server process of this node does this work
                    self._stop.wait(self.idle_seconds)
                    continue
                try:
                    self._work()
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    def _work(self) -> None:
        """Work until stopped, sleeping ``idle_seconds`` whenever there is nothing to do."""
        raise NotImplementedError
